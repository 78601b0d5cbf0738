"""KITTI -> Caltech: PredNet's hickle files, windows inside one video,
KITTI validation, Caltech test, and errors."""
import hickle
import numpy as np
import pytest

from experiments.configs.kitti_caltech import predrnn
from stjax.data import build_datasets, kitti_caltech


def test_windows_stay_inside_one_video_and_do_not_overlap():
  names = ["a"] * 5 + ["b"] * 3 + ["c"] * 6
  assert kitti_caltech.windows(names, 3) == [2, 5, 8, 11]
  assert kitti_caltech.windows(names, 6) == [8]


def _write(folder, split, videos):
  """Frame i of the file has every pixel = i % 256 (uint8), in video order."""
  folder.mkdir(parents=True, exist_ok=True)
  names = [v for v, n in videos for _ in range(n)]
  frames = np.broadcast_to((np.arange(len(names)) % 256).astype(np.uint8)[:, None, None, None],
                           (len(names), 128, 160, 3)).copy()
  hickle.dump(frames, str(folder / f"X_{split}.hkl"))
  hickle.dump(names, str(folder / f"sources_{split}.hkl"))


def test_reader_reads_kitti_train_val_and_caltech_test(tmp_path):
  _write(tmp_path / "kitti_hkl", "train", [("city-1", 13), ("road-2", 11)])
  _write(tmp_path / "kitti_hkl", "val", [("city-3", 12)])
  _write(tmp_path / "caltech_hkl", "test", [("set06-V000", 30)])
  c = predrnn.get_config("smoke")
  c.data.path = str(tmp_path)
  data = build_datasets(c.data)
  assert data.frame_shape == (128, 160, 3)
  assert (len(data.train), len(data.val), len(data.test)) == (2, 1, 2)
  # city-1: frames 0-12 -> window 2..12; road-2: 13-23 -> 13..23
  np.testing.assert_array_equal(data.train[0][:, 0, 0, 0], np.arange(2, 13))
  np.testing.assert_array_equal(data.train[1][:, 5, 7, 2], np.arange(13, 24))
  np.testing.assert_array_equal(data.test[0][:, 0, 0, 0], np.arange(8, 19))
  assert data.test[0].dtype == np.uint8


def test_reader_errors_are_clear(tmp_path):
  c = predrnn.get_config("smoke")
  c.data.path = str(tmp_path)
  with pytest.raises(FileNotFoundError, match="X_train.hkl does not exist"):
    build_datasets(c.data)
  _write(tmp_path / "kitti_hkl", "train", [("a", 12)])
  hickle.dump(["a"] * 5, str(tmp_path / "kitti_hkl" / "sources_train.hkl"))
  with pytest.raises(ValueError, match="names 5 frames"):
    build_datasets(c.data)
  (tmp_path / "kitti_hkl" / "X_train.hkl").write_bytes(b"truncated")
  with pytest.raises(ValueError, match="not a readable hickle"):
    build_datasets(c.data)
  hickle.dump(np.zeros((12, 64, 64, 3), np.uint8), str(tmp_path / "kitti_hkl" / "X_train.hkl"))
  with pytest.raises(ValueError, match=r"expected \(N, 128, 160, 3\)"):
    build_datasets(c.data)
