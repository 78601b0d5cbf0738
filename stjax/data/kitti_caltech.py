"""KITTI -> Caltech Pedestrian: train on KITTI, test on Caltech (PredNet).

Layout (PredNet's hickle files; experiments/download_kitti_caltech.sh makes
the Caltech ones the same way from its .seq videos):

    ROOT/kitti_hkl/X_train.hkl, sources_train.hkl, X_val.hkl, sources_val.hkl
    ROOT/caltech_hkl/X_test.hkl, sources_test.hkl

X_*.hkl holds all frames, (N, 128, 160, 3) uint8, in video order;
sources_*.hkl one string per frame naming its video. Windows of pre + aft
frames lie inside one video; as the reference, they are found walking
backwards from the end and do not overlap. KITTI's own validation recordings
(X_val) validate, so the Caltech test set never picks a checkpoint.

The frame arrays are read lazily through h5py (hickle files are HDF5), so
the 2.5 GB of KITTI frames are not loaded at start; the sources lists are
read with hickle.
"""
from __future__ import annotations

import pathlib

import numpy as np

from stjax.data.dataset import file_dataset
from stjax.registry import DATASETS

FRAME_SHAPE = (128, 160, 3)


def windows(sources: list[str], length: int) -> list[int]:
  """Start indices of non-overlapping windows inside one video, in order."""
  starts, i = [], len(sources) - 1
  while i >= length - 1:
    if sources[i] == sources[i - length + 1]:
      starts.append(i - length + 1)
      i -= length
    else:
      i -= 1
  return starts[::-1]


def _frames(path: pathlib.Path):
  """The frame array of a hickle file, as a lazy h5py dataset."""
  import h5py  # pylint: disable=import-outside-toplevel
  if not path.is_file():
    raise FileNotFoundError(f"{path} does not exist (docs/datasets.md: KITTI -> Caltech Pedestrian).")
  try:
    f = h5py.File(path, "r")
  except OSError as e:
    raise ValueError(f"{path} is not a readable hickle (HDF5) file "
                     f"({str(e)[:100]}).") from e
  for key in ("data", "data_0"):  # hickle >= 4, hickle <= 3
    if key in f and isinstance(f[key], h5py.Dataset):
      ds = f[key]
      if ds.ndim != 4 or ds.shape[1:] != FRAME_SHAPE or ds.dtype != np.uint8:
        raise ValueError(f"{path} holds {ds.dtype} {ds.shape}; expected (N, 128, "
                         f"160, 3) uint8 frames.")
      return ds
  raise ValueError(f"{path} holds no frame array ('data'); expected PredNet's "
                   f"hickle layout.")


def _sources(path: pathlib.Path) -> list[str]:
  import hickle  # pylint: disable=import-outside-toplevel
  if not path.is_file():
    raise FileNotFoundError(f"{path} does not exist (docs/datasets.md: KITTI -> Caltech Pedestrian).")
  try:
    names = hickle.load(str(path))
  except Exception as e:  # hickle raises many kinds for a bad file
    raise ValueError(f"{path} is not a readable hickle list of video names "
                     f"({type(e).__name__}: {str(e)[:100]}).") from e
  return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


class FrameWindows:
  """Random-access (T, 128, 160, 3) uint8 windows of a frame file."""

  def __init__(self, folder: pathlib.Path, split: str, length: int):
    self.frames = _frames(folder / f"X_{split}.hkl")
    names = _sources(folder / f"sources_{split}.hkl")
    if len(names) != len(self.frames):
      raise ValueError(f"{folder}: sources_{split}.hkl names {len(names)} frames, "
                       f"X_{split}.hkl holds {len(self.frames)}.")
    self.length, self.starts = length, windows(names, length)

  def __len__(self) -> int:
    return len(self.starts)

  def __getitem__(self, index: int) -> np.ndarray:
    s = self.starts[int(index)]
    return np.asarray(self.frames[s:s + self.length])


def load(cfg, test_frames: int):
  root = pathlib.Path(cfg.path)
  length = cfg.pre_seq_length + cfg.aft_seq_length
  sources = (FrameWindows(root / "kitti_hkl", "train", length),
             FrameWindows(root / "kitti_hkl", "val", length),
             FrameWindows(root / "caltech_hkl", "test", test_frames))
  for name, s in zip(("training", "validation", "test"), sources):
    if not len(s):
      raise ValueError(f"{root}: no {name} video has {s.length} frames.")
  return sources


DATASETS.register("kitti_caltech", file_dataset(
    lambda cfg: FRAME_SHAPE, load, "Caltech Pedestrian test (caltech_hkl)"))
