"""Human3.6M (Ionescu et al. 2014) frames as OpenSTL reads them.

Layout (frames extracted from the distributed videos, one JPEG per frame;
experiments/download_human36m.sh describes the extraction):

    ROOT/images/<subject>_<action>[ <trial>].<camera>_<NNNNNN>.jpg
    e.g. ROOT/images/S11_Walking.60457274_001621.jpg

A sequence takes every `frame_step`-th frame (5, as the reference: 10 fps
from 50 fps) of one video, RGB, resized (bicubic, anti-aliased) to
`image_size`^2 when the files are another size. Only `scenario` videos
(Walking, both trials) are used.

Split by subject, unlike the reference whose lists put the same videos in
train and test: S1, S5, S6, S7, S8 train and S9, S11 test; `val_subjects`
(S8 by default) are held out of training for validation (`()` validates on
the test subjects, as the MIM and TMU code). Training windows start every
`frame_step` frames; validation and test windows do not overlap.

`center_crop` (the MIM and TMU protocol) cuts the central square of each
frame before resizing, instead of squeezing the whole frame; with
`frame_step` 10 (5 fps) and 4 -> 4 frames that is their Human3.6M setting.
"""
from __future__ import annotations

import collections
import pathlib

import numpy as np
from PIL import Image

from stjax.data import frames as frames_lib
from stjax.data.dataset import file_dataset
from stjax.registry import DATASETS

TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS = ("S9", "S11")


def parse_name(name: str):
  """'S11_Walking 1.60457274_001621.jpg' -> ('S11', 'Walking', video prefix, 1621)."""
  stem = pathlib.Path(name).stem
  video, sep, number = stem.rpartition("_")
  subject, sep2, rest = video.partition("_")
  if not (sep and sep2 and number.isdigit() and subject.startswith("S")):
    raise ValueError(f"{name}: Human3.6M frames are named "
                     f"<subject>_<action>.<camera>_<NNNNNN>.jpg")
  action = rest.split(".")[0].split(" ")[0]
  return subject, action, video, int(number)


def windows(numbers: set[int], length: int, step: int, stride: int) -> list[int]:
  """First frame numbers of windows whose `length` frames, `step` apart, exist."""
  if not numbers:
    return []
  first, last = min(numbers), max(numbers)
  return [s for s in range(first, last + 1, stride)
          if all(s + k * step in numbers for k in range(length))]


class HumanSequences:
  """Random-access (T, S, S, 3) uint8 sequences."""

  def __init__(self, videos: dict, length: int, step: int, stride: int,
               image_size: int, center_crop: bool = False):
    self.image_size, self.center_crop = image_size, center_crop
    self.items = []  # (paths of one window)
    for video in sorted(videos):
      frames = videos[video]
      for s in windows(set(frames), length, step, stride):
        self.items.append([frames[s + k * step] for k in range(length)])

  def __len__(self) -> int:
    return len(self.items)

  def frame(self, path) -> np.ndarray:
    img = frames_lib.read_image(path)
    if img.ndim != 3 or img.shape[-1] != 3:
      raise ValueError(f"{path} is not an RGB image (shape {img.shape}).")
    if self.center_crop and img.shape[0] != img.shape[1]:
      h, w = img.shape[:2]
      side = min(h, w)
      top, left = (h - side) // 2, (w - side) // 2
      img = img[top:top + side, left:left + side]
    if img.shape[:2] != (self.image_size,) * 2:
      img = np.asarray(Image.fromarray(img).resize(
          (self.image_size, self.image_size), Image.Resampling.BICUBIC))
    return img

  def __getitem__(self, index: int) -> np.ndarray:
    return np.stack([self.frame(p) for p in self.items[int(index)]])


def load(cfg, test_frames: int):
  """(train, val, test) sources; `test_frames` = pre + the test horizon."""
  root = frames_lib.require_dir(pathlib.Path(cfg.path) / "images",
                                "data.path/images (Human3.6M frames)")
  val = tuple(cfg.val_subjects)
  if any(s not in TRAIN_SUBJECTS for s in val):
    raise ValueError(f"data.val_subjects={val} must be some of the training "
                     f"subjects {TRAIN_SUBJECTS} (or empty: validate on the "
                     f"test subjects).")
  by_subject = collections.defaultdict(dict)  # subject -> video -> {n: path}
  for path in frames_lib.image_files(root):
    subject, action, video, number = parse_name(path.name)
    if action == cfg.scenario:
      by_subject[subject].setdefault(video, {})[number] = path
  pick = lambda subjects: {v: f for s in subjects
                           for v, f in by_subject[s].items()}
  step, size = cfg.frame_step, cfg.image_size
  length = cfg.pre_seq_length + cfg.aft_seq_length
  train = [s for s in TRAIN_SUBJECTS if s not in val]
  crop = bool(cfg.get("center_crop", False))
  sources = (HumanSequences(pick(train), length, step, step, size, crop),
             HumanSequences(pick(val or TEST_SUBJECTS), length, step,
                            length * step, size, crop),
             HumanSequences(pick(TEST_SUBJECTS), test_frames, step,
                            test_frames * step, size, crop))
  for name, s in zip(("training", "validation", "test"), sources):
    if not len(s):
      raise ValueError(f"{root} gives no {name} sequence of {cfg.scenario!r} "
                       f"frames; check the subjects and the layout (docs/datasets.md).")
  return sources


DATASETS.register("human36m", file_dataset(
    lambda cfg: (cfg.image_size, cfg.image_size, 3), load,
    "Human3.6M subjects S9, S11"))
