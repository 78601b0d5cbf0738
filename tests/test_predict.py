"""Prediction from a trained run (stjax.load_run, experiments.predict), an
imported OpenSTL model, the `arrays` dataset, and the labelled pictures."""
import json
import subprocess
import sys

import jax
import numpy as np
import pytest
from PIL import Image

import stjax
from conftest import FIXTURES, ROOT, tiny_config
from experiments.configs.arrays import convlstm as arrays_convlstm
from stjax import viz
from stjax.data import Split, build_datasets, eval_batches
from stjax.errors import CheckpointError, ConfigError, DataError
from stjax.interop.fixtures import nchw_to_nhwc, read_fixture
from stjax.train.loop import train_and_evaluate


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("run")
  c = tiny_config()
  results = train_and_evaluate(c, str(workdir))
  return workdir, c, results


@pytest.mark.slow
def test_a_loaded_run_reproduces_its_own_test_numbers(trained):
  workdir, c, results = trained
  run = stjax.load_run(workdir)
  assert run.step == results["checkpoint_step"] and run.in_frames == 4
  data = build_datasets(c.data)
  batch = next(eval_batches(data.test, Split(4, 4), batch_size=len(data.test),
                            num_threads=1))
  scores = run.evaluate(batch["inputs"], batch["targets"])
  for name in ("mse", "mae", "ssim", "psnr", "ssim_openstl"):
    assert scores[name] == pytest.approx(results["test"][name], rel=1e-4), name
  # uint8 clips are scaled by 1/255; jax arrays are accepted as numpy ones
  u8 = (batch["inputs"][:2] * 255).round().astype(np.uint8)
  np.testing.assert_allclose(run.predict(u8), run.predict(jax.numpy.asarray(u8 / 255.0)),
                             rtol=1e-5, atol=1e-6)
  assert run.predict(batch["inputs"][:3], out_frames=6).shape == (3, 6, 32, 32, 1)


def test_step_selection_and_bad_input_are_one_line_errors(trained):
  workdir, _, results = trained
  last = stjax.load_run(workdir, step=8)  # the last of 2 epochs x 4 steps
  assert last.step == 8
  with pytest.raises(CheckpointError, match=r"No checkpoint of step 3 .* kept steps: \[4, 8\]"):
    stjax.load_run(workdir, step=3)
  run = stjax.load_run(workdir)
  good = np.zeros((2, 4, 32, 32, 1), np.float32)
  for bad, message in (
      (np.zeros((2, 4, 32, 32, 1, 1)), r"must be \(B, T, H, W, C\) = \(B, T, 32, 32, 1\)"),
      (np.zeros((2, 5, 32, 32, 1)), "reads 4 input frames; got 5"),
      (np.zeros((2, 4, 16, 32, 1)), "predicts 32x32 frames; input frames are 16x32"),
      (np.zeros((2, 4, 32, 32, 3)), "frames of 1 channel"),
      (good + 2.0, r"span \[2, 2\]; .* expects frames scaled to \[0, 1\]"),
      (good * np.nan, "NaN"),
      (np.zeros((2, 4, 32, 32), np.int32), "int32"),
  ):
    with pytest.raises(DataError, match=message):
      run.predict(bad)
  assert run.predict(good[..., 0]).shape == (2, 4, 32, 32, 1)  # (B, T, H, W)
  with pytest.raises(DataError, match="target frames"):
    run.evaluate(good, good[:, :, :8])


@pytest.mark.slow
def test_the_predict_command_reads_a_folder_and_writes_pictures(trained, tmp_path):
  workdir, _, _ = trained
  clip = tmp_path / "clip"
  clip.mkdir()
  rng = np.random.default_rng(0)
  frames = rng.integers(0, 256, (4, 32, 32), dtype=np.uint8)
  for t, f in enumerate(frames):
    Image.fromarray(f).save(clip / f"{t:03d}.png")
  out = subprocess.run(
      [sys.executable, "-m", "experiments.predict", f"--workdir={workdir}",
       f"--input={clip}", f"--output={tmp_path / 'pred.npy'}", "--pictures"],
      cwd=ROOT, capture_output=True, text=True, check=False)
  assert out.returncode == 0, out.stderr
  pred = np.load(tmp_path / "pred.npy")
  want = stjax.load_run(workdir).predict(frames[None])
  np.testing.assert_allclose(pred, want, rtol=1e-5, atol=1e-6)
  assert Image.open(tmp_path / "pred.png").size[0] > 4 * 32
  assert Image.open(tmp_path / "pred.gif").n_frames == 8
  np.save(tmp_path / "wide.npy", np.zeros((1, 4, 32, 40), np.float32))
  out = subprocess.run(
      [sys.executable, "-m", "experiments.predict", f"--workdir={workdir}",
       f"--input={tmp_path / 'wide.npy'}", f"--output={tmp_path / 'x.npy'}"],
      cwd=ROOT, capture_output=True, text=True, check=False)
  assert out.returncode != 0
  assert out.stderr.strip().splitlines()[-1].startswith("error: the run in ")
  assert "predicts 32x32 frames; input frames are 32x40" in out.stderr


def test_an_openstl_checkpoint_predicts_as_the_reference():
  cfg, arrays = read_fixture(FIXTURES / "simvp_gsta.npz")
  state = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
  with jax.default_matmul_precision("highest"):
    model = stjax.from_openstl(state, cfg)
    x = nchw_to_nhwc(arrays["input/x"]).clip(0, 1)
    pred = model.predict(x, clip=False)  # the raw output, as OpenSTL returns it
    clipped = model.predict(x)
  ref = nchw_to_nhwc(arrays["output/pred_y"])
  assert np.max(np.abs(pred - ref)) / np.max(np.abs(ref)) < 1e-4
  assert ref.min() < 0  # this untrained model leaves [0, 1] ...
  np.testing.assert_allclose(clipped, np.clip(pred, 0, 1), rtol=1e-6)  # ... predict clips
  with pytest.raises(DataError, match=r"look like one clip \(T, H, W, C\).*clips\[None\]"):
    model.predict(x[0])


def _arrays_config(path, **data):
  c = arrays_convlstm.get_config("smoke")
  c.data.path, c.data.num_threads = str(path), 1
  c.data.pre_seq_length = c.data.aft_seq_length = 3
  for k, v in data.items():
    c.data[k] = v
  return c


def test_arrays_dataset_memory_maps_sequences_and_splits_them(tmp_path):
  rng = np.random.default_rng(0)
  clips = rng.integers(0, 256, (20, 8, 16, 16), dtype=np.uint8)
  np.save(tmp_path / "clips.npy", clips)
  c = _arrays_config(tmp_path / "clips.npy", window_stride=2)
  data = build_datasets(c.data)
  assert isinstance(data.train.array, np.memmap)  # read on demand
  assert data.frame_shape == (16, 16, 1)
  # 20 sequences: 2 test, 2 validation, 16 train; windows of 6 every 2 frames
  assert (len(data.train), len(data.val), len(data.test)) == (16 * 2, 2 * 2, 2 * 2)
  seq, start = data.train.index[3]
  np.testing.assert_array_equal(data.train[3][..., 0], clips[seq, start:start + 6])
  used = [{s for s, _ in src.index} for src in (data.train, data.val, data.test)]
  assert not (used[0] & used[1] or used[0] & used[2] or used[1] & used[2])
  c.data.layout = "frames"
  with pytest.raises(ConfigError, match="data.layout='frames'"):
    build_datasets(c.data)


def test_arrays_dataset_cuts_one_stream_and_maps_float_ranges(tmp_path):
  stream = np.linspace(-40.0, 40.0, 100)[:, None, None] + np.zeros((100, 8, 8))
  np.savez(tmp_path / "stream.npz", temperature=stream.astype(np.float32))
  c = _arrays_config(tmp_path / "stream.npz", layout="stream", key="temperature",
                     value_range=(-40.0, 40.0))
  data = build_datasets(c.data)
  # frames 0-79 train, 80-89 validate, 90-99 test, windows of 6 not overlapping
  assert (len(data.train), len(data.val), len(data.test)) == (13, 1, 1)
  np.testing.assert_allclose(data.test[0][:, 0, 0, 0],
                             (stream[90:96, 0, 0] + 40) / 80, rtol=1e-6)
  c.data.value_range = (0.0, 40.0)
  with pytest.raises(DataError, match=r"outside data.value_range=\(0, 40\)"):
    build_datasets(c.data).train[0]  # pylint: disable=expression-not-assigned
  c.data.key = "rain"
  with pytest.raises(DataError, match="no array 'rain'"):
    build_datasets(c.data)


@pytest.mark.slow
def test_a_run_trains_on_arrays_and_predicts(tmp_path):
  rng = np.random.default_rng(1)
  np.save(tmp_path / "clips.npy", rng.random((24, 6, 16, 16, 1)).astype(np.float32))
  c = _arrays_config(tmp_path / "clips.npy")
  c.model.num_hidden, c.model.filter_size = (8,), 3
  c.train.batch_size = c.eval.batch_size = 4
  c.eval.num_pictures = 1
  results = train_and_evaluate(c, str(tmp_path / "run"))
  assert results["test"]["num_sequences"] == 2
  saved = json.loads((tmp_path / "run" / "metric_spec.json").read_text())
  assert saved["kind"] == "image" and "mse" in saved["names"]
  pred = stjax.load_run(tmp_path / "run").predict(np.zeros((1, 3, 16, 16, 1)))
  assert pred.shape == (1, 3, 16, 16, 1) and np.isfinite(pred).all()


def test_pictures_label_their_rows_and_number_their_frames():
  rng = np.random.default_rng(0)
  inputs, targets, preds = (rng.random((2, n, 12, 12, 1)) for n in (3, 4, 4))
  grid = viz.prediction_grid(inputs, targets, preds, title="run: test, step 5")
  plain = viz.prediction_grid(inputs, targets, preds)
  assert grid.shape[0] == plain.shape[0] + viz.TITLE_HEIGHT
  # per sequence: two number strips, four rows of frames
  block = 2 * viz.NUMBER_HEIGHT + 4 * (12 + 2) + 2
  assert plain.shape == (2 * block, viz.LABEL_WIDTH + 4 * 14, 3)
  margin = plain[:block, :viz.LABEL_WIDTH]
  inked_rows = [r for r in range(block) if (margin[r] < 128).any()]
  assert len(inked_rows) > 4 * 5  # four labels drawn in the margin
  # the error row shows |prediction - truth|
  y0 = 2 * viz.NUMBER_HEIGHT + 3 * 14 + 2
  err = plain[y0:y0 + 12, viz.LABEL_WIDTH:viz.LABEL_WIDTH + 12, 0]
  want = np.abs(preds[0, 0] - targets[0, 0])[..., 0]
  np.testing.assert_allclose(err / 255.0, want, atol=1 / 255 + 1e-6)
