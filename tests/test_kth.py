"""KTH: the reference's window rule, the reader on frame folders in the
extracted layout, the person split, errors, and a 10 -> 20 trained / longer
tested run through the autoregressive extension."""
import json

import jax
import numpy as np
import pytest
from flax import nnx
from PIL import Image

from experiments.configs.kth import simvp_gsta
from stjax.data import build_datasets, kth
from stjax.models.simvp import SimVP
from stjax.train.loop import train_and_evaluate


def test_window_rule_is_the_references():
  # slow actions: whole windows, walking back from the last frame
  assert kth.video_windows(list(range(1, 51)), 20, fast=False) == [30, 10]
  # jogging/running: a window every 3 frames
  assert kth.video_windows(list(range(1, 11)), 5, fast=True) == [5, 2]
  # a gap in the numbering: no window spans it
  numbers = [1, 2, 3, 4, 10, 11, 12, 13, 14]
  assert kth.video_windows(numbers, 4, fast=False) == [5, 0]
  assert kth.video_windows(numbers, 6, fast=False) == []


def _frame_value(person, number):
  return (person * 7 + number) % 200


def _write_kth(root, videos, size=(120, 160)):
  """videos: [(action, person, frames)]; frame n of person p has channel 0 =
  (7p + n) % 200 everywhere and other channels 255 (only channel 0 is read)."""
  for action, person, count in videos:
    folder = root / action / f"person{person:02d}_{action}_d1_uncomp"
    folder.mkdir(parents=True)
    for n in range(1, count + 1):
      img = np.full((*size, 3), 255, np.uint8)
      img[..., 0] = _frame_value(person, n)
      Image.fromarray(img).save(folder / f"image_{n:04d}.png")
    (folder / "notes.txt").write_text("not a frame")


def _config(root, image_size=16):
  c = simvp_gsta.get_config("smoke")
  c.data.path, c.data.num_threads, c.data.image_size = str(root), 1, image_size
  c.data.pre_seq_length, c.data.aft_seq_length, c.data.test_aft_seq_length = 2, 2, 4
  return c


def test_reader_splits_by_person_and_returns_frames_in_order(tmp_path):
  _write_kth(tmp_path, [("walking", 1, 9), ("running", 2, 6), ("walking", 16, 4),
                        ("boxing", 17, 12), ("boxing", 25, 3)])
  c = _config(tmp_path)
  c.data.actions = ("boxing", "running", "walking")
  data = build_datasets(c.data)
  # train windows of 4 frames: walking person 1 (frames 1-9) gives 6-9 and
  # 2-5; running person 2 (frames 1-6) gives 3-6, then the walk steps back 3
  # to frame 3 and no whole window is left.
  train = [data.train[i][:, 0, 0, 0] * 255 for i in range(len(data.train))]
  got = sorted(tuple(np.round(t).astype(int)) for t in train)
  want = sorted([tuple(_frame_value(1, n) for n in range(s, s + 4)) for s in (2, 6)] +
                [tuple(_frame_value(2, n) for n in range(s, s + 4)) for s in (3,)])
  assert got == want
  assert len(data.val) == 1  # person 16 only
  np.testing.assert_allclose(data.val[0][:, 3, 5, 0] * 255,
                             [_frame_value(16, n) for n in range(1, 5)], atol=1e-3)
  # test: persons 17-25 with windows of pre + test horizon = 6 frames
  assert len(data.test) == 2  # person 17's 12 frames; person 25's 3 are too few
  np.testing.assert_allclose(data.test[0][:, 0, 0, 0] * 255,
                             [_frame_value(17, n) for n in range(1, 7)], atol=1e-3)
  assert data.test[0].shape == (6, 16, 16, 1) and data.test[0].dtype == np.float32


def test_reader_errors_are_clear(tmp_path):
  with pytest.raises(FileNotFoundError, match="does not exist"):
    build_datasets(_config(tmp_path / "missing").data)
  _write_kth(tmp_path, [("walking", 1, 9)])
  c = _config(tmp_path)
  with pytest.raises(FileNotFoundError, match="boxing"):  # an action folder is missing
    build_datasets(c.data)
  c.data.actions = ("walking", "swimming")
  with pytest.raises(ValueError, match="swimming"):
    build_datasets(c.data)
  c.data.actions, c.data.val_persons = ("walking",), (20,)
  with pytest.raises(ValueError, match="val_persons"):
    build_datasets(c.data)
  (tmp_path / "walking" / "p01").mkdir()
  c.data.val_persons = (16,)
  with pytest.raises(ValueError, match="personPP"):
    build_datasets(c.data)
  (tmp_path / "walking" / "p01").rmdir()
  bad = tmp_path / "walking" / "person01_walking_d1_uncomp" / "image_0003.png"
  bad.write_bytes(b"not a png")
  source = kth.KTHSequences(tmp_path, ("walking",), (1,), 4, 16)
  with pytest.raises(ValueError, match="image_0003.png is not a readable image"):
    [source[i] for i in range(len(source))]


@pytest.mark.slow
def test_simvp_autoregressive_extension_feeds_its_predictions_back():
  model = SimVP(in_shape=(2, 16, 16, 1), out_frames=2, hid_S=4, hid_T=8, N_S=2,
                N_T=2, rngs=nnx.Rngs(0))
  x = jax.random.uniform(jax.random.key(1), (1, 2, 16, 16, 1))
  first = model(x)
  longer = model(x, out_frames=5)  # 3 passes, the last cut to 1 frame
  assert longer.shape == (1, 5, 16, 16, 1)
  np.testing.assert_allclose(longer[:, :2], first, atol=1e-6)
  second = model.step(first)
  np.testing.assert_allclose(longer[:, 2:4], second, atol=1e-6)
  np.testing.assert_allclose(longer[:, 4:], model.step(second)[:, :1], atol=1e-6)
  assert not np.allclose(second, first)


@pytest.mark.slow
def test_training_on_a_short_horizon_tests_on_a_longer_one(tmp_path):
  _write_kth(tmp_path / "kth", [(a, p, 14) for a in kth.ACTIONS
                                for p in (1, 2, 3, 16, 17)])
  c = _config(tmp_path / "kth")
  c.train.batch_size = c.eval.batch_size = 4
  c.model.hid_S, c.model.hid_T, c.model.N_S, c.model.N_T = 4, 8, 2, 2
  results = train_and_evaluate(c, str(tmp_path / "run"))
  test = results["test"]
  assert len(test["per_frame"]["mse"]) == 4  # 2 -> 4 in the test, trained 2 -> 2
  assert test["num_sequences"] == len(build_datasets(c.data).test) > 0
  assert np.isfinite(test["mse"]) and test["ssim"] > -1
  val = json.loads(next((tmp_path / "run" / "eval").glob("val_*.json")).read_text())
  assert len(val["per_frame"]["mse"]) == 2  # validation at the trained horizon


def test_resize_is_opencvs_bilinear():
  from stjax.data.frames import resize_linear
  # half-pixel centres, edge clamping, no anti-aliasing (cv2.INTER_LINEAR)
  np.testing.assert_allclose(resize_linear(np.array([[0.0, 1.0]]), 1, 4),
                             [[0, 0.25, 0.75, 1]])
  np.testing.assert_allclose(resize_linear(np.array([[0.0, 2, 4, 6]]), 1, 2), [[1, 5]])
  img = np.arange(12.0).reshape(3, 4)
  np.testing.assert_allclose(resize_linear(img, 6, 4)[:, 0], [0, 1, 3, 5, 7, 8])
