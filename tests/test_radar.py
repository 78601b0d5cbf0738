"""Radar echo: pixel/dBZ/rain-rate maps, both layouts (image folders and an
.npz), the split, skill scores from hand-counted events, and a run whose
results carry CSI/HSS per threshold."""
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from experiments.configs.radar import convlstm
from stjax import metrics
from stjax.data import build_datasets, radar
from stjax.train.loop import train_and_evaluate


def _config(path):
  c = convlstm.get_config("smoke")
  c.data.path, c.data.image_size, c.data.num_threads = str(path), 16, 1
  c.data.pre_seq_length = c.data.aft_seq_length = 2
  return c


def test_thresholds_map_through_dbz_and_rain_rate():
  c = _config("x").data
  c.thresholds, c.threshold_unit = (30.0,), "dbz"
  np.testing.assert_allclose(radar.thresholds_01(c), [(30 + 10) / 70])
  c.thresholds, c.threshold_unit = (1.0, 10.0), "mm/h"  # Z = 200 R^1.6
  dbz = 10 * np.log10(200 * np.array([1.0, 10.0]) ** 1.6)  # 23.0, 39.0 dBZ
  np.testing.assert_allclose(radar.thresholds_01(c), (dbz + 10) / 70)
  c.thresholds, c.threshold_unit = (51.0,), "pixel"
  np.testing.assert_allclose(radar.thresholds_01(c), [0.2])
  c.threshold_unit = "inches"
  with pytest.raises(ValueError, match="threshold_unit"):
    radar.thresholds_01(c)


def _sequences(n, t, size=16):
  """Sequence i, frame j: every pixel (10 i + j) % 256."""
  v = (10 * np.arange(n)[:, None] + np.arange(t)) % 256
  return np.broadcast_to(v[:, :, None, None], (n, t, size, size)).astype(np.uint8)


def test_folder_and_array_layouts_read_the_same_windows(tmp_path):
  train, test = _sequences(10, 9), _sequences(3, 4)
  np.savez(tmp_path / "radar.npz", train=train, test=test)
  for split, seqs in (("train", train), ("test", test)):
    for i, seq in enumerate(seqs):
      d = tmp_path / "folders" / split / f"seq{i:03d}"
      d.mkdir(parents=True)
      for j, frame in enumerate(seq):
        Image.fromarray(frame).save(d / f"{j:03d}.png")
  for path in (tmp_path / "radar.npz", tmp_path / "folders"):
    data = build_datasets(_config(path).data)
    # 9 frames -> two non-overlapping windows of 4; the last of 10 sequences validates
    assert (len(data.train), len(data.val), len(data.test)) == (18, 2, 3)
    np.testing.assert_array_equal(data.train[3][:, 0, 0, 0], [14, 15, 16, 17])
    np.testing.assert_array_equal(data.val[1][:, 2, 2, 0], [94, 95, 96, 97])
    assert data.train[0].dtype == np.uint8 and data.frame_shape == (16, 16, 1)
    assert data.metrics.threshold_names == ("20dbz", "30dbz", "40dbz")
  c = _config(tmp_path / "radar.npz")
  c.data.image_size = 8  # another size: resized, scaled to [0, 1]
  seq = build_datasets(c.data).train[3]
  assert seq.shape == (4, 8, 8, 1) and seq.dtype == np.float32
  np.testing.assert_allclose(seq[:, 0, 0, 0], np.array([14, 15, 16, 17]) / 255, rtol=1e-6)


def test_reader_errors_are_clear(tmp_path):
  with pytest.raises(FileNotFoundError, match="does not exist"):
    build_datasets(_config(tmp_path / "none.npz").data)
  np.savez(tmp_path / "a.npz", train=_sequences(4, 4))
  with pytest.raises(ValueError, match=r"lacks \['test'\]"):
    build_datasets(_config(tmp_path / "a.npz").data)
  np.savez(tmp_path / "b.npz", train=_sequences(4, 4).astype(np.float32),
           test=_sequences(2, 4))
  with pytest.raises(ValueError, match="uint8 pixel values"):
    build_datasets(_config(tmp_path / "b.npz").data)
  (tmp_path / "dir" / "train").mkdir(parents=True)
  with pytest.raises(FileNotFoundError, match="radar test sequences"):
    build_datasets(_config(tmp_path / "dir").data)


def test_skill_scores_from_counted_events():
  spec = metrics.MetricSpec(thresholds=(0.5,), threshold_names=("half",))
  target = np.zeros((2, 1, 12, 12, 1), np.float32)  # SSIM needs 11 x 11
  pred = np.zeros_like(target)
  target[0, 0, :2, 0, 0] = 0.8   # sequence 0: 2 events, caught 1, 1 false alarm
  pred[0, 0, 0, 0, 0] = 0.6
  pred[0, 0, 1, 1, 0] = 0.9
  target[1, 0, 0, 0, 0] = 0.5   # sequence 1: 1 event (>= threshold), caught
  pred[1, 0, 0, 0, 0] = 0.7
  out = metrics.eval_metrics(jnp.asarray(pred), jnp.asarray(target), spec)
  sums = {k: np.asarray(v).sum(0) for k, v in out.items()}
  sums["count"] = 2.0
  s = metrics.summarize(sums, spec)
  h, m, f = 2, 1, 1  # summed over both sequences' 288 pixels
  n = 288 - h - m - f
  assert s["csi_half"] == pytest.approx(h / (h + m + f))
  assert s["pod_half"] == pytest.approx(h / (h + m))
  assert s["far_half"] == pytest.approx(f / (h + f))
  assert s["hss_half"] == pytest.approx(
      2 * (h * n - m * f) / ((h + m) * (m + n) + (h + f) * (f + n)))
  assert s["per_frame"]["csi_half"] == [pytest.approx(0.5)]


@pytest.mark.slow
def test_a_radar_run_reports_skill_per_threshold(tmp_path):
  rng = np.random.default_rng(0)
  np.savez(tmp_path / "radar.npz",
           train=rng.integers(0, 256, (40, 4, 16, 16), dtype=np.uint8),
           test=rng.integers(0, 256, (8, 4, 16, 16), dtype=np.uint8))
  c = _config(tmp_path / "radar.npz")
  c.model.num_hidden, c.model.filter_size = (8,), 3
  c.train.batch_size = c.eval.batch_size = 4
  test = train_and_evaluate(c, str(tmp_path / "run"))["test"]
  for name in ("20dbz", "30dbz", "40dbz"):
    for score in ("csi", "hss", "pod", "far"):
      assert len(test["per_frame"][f"{score}_{name}"]) == 2
    assert 0 <= test[f"csi_{name}"] <= 1
  assert test["num_sequences"] == 8
