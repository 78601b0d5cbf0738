"""Human3.6M: file names, the subject split, the Walking filter, frame
steps and resizing, on JPEG frames in the layout OpenSTL reads."""
import numpy as np
import pytest
from PIL import Image

from experiments.configs.human36m import simvp_gsta
from stjax.data import build_datasets, human36m


def test_names_parse_into_subject_action_video_and_frame():
  assert human36m.parse_name("S11_Walking.60457274_001621.jpg") == (
      "S11", "Walking", "S11_Walking.60457274", 1621)
  assert human36m.parse_name("S1_Walking 1.54138969_000005.jpg")[1] == "Walking"
  assert human36m.parse_name("S9_WalkDog.54138969_000005.jpg")[1] == "WalkDog"
  with pytest.raises(ValueError, match="named"):
    human36m.parse_name("frame_000001.jpg")


def test_windows_need_every_stepped_frame():
  assert human36m.windows(set(range(1, 41)), 4, 5, 5) == [1, 6, 11, 16, 21]
  assert human36m.windows(set(range(1, 41)) - {16}, 4, 5, 20) == [21]


def _value(subject, number):
  return (int(subject[1:]) * 20 + number * 3) % 250


def _write(root, videos, size=32):
  """Constant-colour frames (JPEG keeps them within a level or two)."""
  images = root / "images"
  images.mkdir(parents=True)
  for video, count in videos:
    subject = video.split("_")[0]
    for n in range(1, count + 1):
      img = np.zeros((size, size, 3), np.uint8)
      img[..., 0], img[..., 1], img[..., 2] = _value(subject, n), 10, 200
      Image.fromarray(img).save(images / f"{video}_{n:06d}.jpg", quality=95)


def test_reader_splits_by_subject_and_steps_frames(tmp_path):
  _write(tmp_path, [("S1_Walking.54138969", 45), ("S1_Walking 1.54138969", 40),
                    ("S1_WalkDog.54138969", 45), ("S8_Walking.55011271", 40),
                    ("S9_Walking.60457274", 85), ("S11_Walking.60457274", 35)])
  c = simvp_gsta.get_config("smoke")
  c.data.path, c.data.image_size = str(tmp_path), 16
  data = build_datasets(c.data)
  # train: S1's two Walking videos (not WalkDog); windows of 8 frames 5 apart
  # start every 5 frames: frames 1..36 of 45 -> starts 1 and 6, of 40 -> 1
  assert len(data.train) == 3
  seq = data.train[2]  # videos sort as "S1_Walking 1..." < "S1_Walking...."
  assert seq.shape == (8, 16, 16, 3) and seq.dtype == np.uint8
  np.testing.assert_allclose(seq[:, 8, 8, 0], [_value("S1", n) for n in range(6, 46, 5)],
                             atol=2)
  np.testing.assert_allclose(seq[:, 8, 8, 2], 200, atol=2)
  assert len(data.val) == 1  # S8, held out
  # test: S9 (85 frames: non-overlapping windows at 1 and 41), S11 too short
  assert len(data.test) == 2
  np.testing.assert_allclose(data.test[1][:, 0, 0, 0],
                             [_value("S9", n) for n in range(41, 81, 5)], atol=2)


def test_reader_errors_are_clear(tmp_path):
  c = simvp_gsta.get_config("smoke")
  c.data.path = str(tmp_path)
  with pytest.raises(FileNotFoundError, match="images"):
    build_datasets(c.data)
  _write(tmp_path, [("S1_Walking.1", 45)])
  with pytest.raises(ValueError, match="no validation sequence"):
    build_datasets(c.data)
  c.data.val_subjects = ("S9",)
  with pytest.raises(ValueError, match="val_subjects"):
    build_datasets(c.data)
