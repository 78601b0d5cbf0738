"""Radar echo sequences for precipitation nowcasting.

Two layouts, chosen by what `data.path` is:
  - a directory: PATH/train/<sequence>/<frame>.png and PATH/test/<sequence>/...,
    one 8-bit grayscale image per frame, frames in file-name order (the HKO-7
    and Shanghai/Guangzhou radar sets of the MIM/TMU and MS-LSTM papers come
    as such folders);
  - an array file PATH.npz holding `train` and `test`: (N, T, H, W) uint8.
Each sequence is cut into windows of pre + aft frames, `window_stride`
frames apart (non-overlapping by default), taking every `frame_step`-th frame
(6 turns 5-minute maps into the MS-LSTM paper's 30-minute steps); images of another size are resized
bilinearly to `image_size`^2.

Pixel values map to reflectivity linearly, dBZ = dbz_min + pixel / 255 *
dbz_range (HKO-7: -10 + p / 255 * 70), and reflectivity to rain rate by a
Z-R law, Z = zr_a R^zr_b (Marshall-Palmer: 200, 1.6), with Z = 10^(dBZ/10).
Skill-score thresholds are given in `threshold_unit` ("dbz", "mm/h" or
"pixel") and converted to the [0, 1] frame scale through these maps.
Validation: the last `val_fraction` of the training sequences.
"""
from __future__ import annotations

import pathlib

import numpy as np

from stjax import metrics
from stjax.data import frames as frames_lib
from stjax.data.dataset import file_dataset
from stjax.errors import ConfigError
from stjax.registry import DATASETS

THRESHOLD_UNITS = ("dbz", "mm/h", "pixel")


def dbz_to_pixel(dbz, cfg):
  return (np.asarray(dbz, np.float64) - cfg.dbz_min) / cfg.dbz_range * 255.0


def rain_to_dbz(rate_mm_h, cfg):
  return 10.0 * np.log10(cfg.zr_a * np.asarray(rate_mm_h, np.float64) ** cfg.zr_b)


def thresholds_01(cfg) -> tuple[float, ...]:
  """The configured thresholds on the [0, 1] scale the frames are read in."""
  if not len(cfg.thresholds):
    raise ConfigError("data.thresholds is empty; give at least one.")
  thr = np.asarray(cfg.thresholds, np.float64)
  if cfg.threshold_unit == "mm/h":
    thr = dbz_to_pixel(rain_to_dbz(thr, cfg), cfg)
  elif cfg.threshold_unit == "dbz":
    thr = dbz_to_pixel(thr, cfg)
  elif cfg.threshold_unit != "pixel":
    raise ConfigError(f"data.threshold_unit={cfg.threshold_unit!r}; choose one "
                     f"of {THRESHOLD_UNITS}.")
  return tuple((thr / 255.0).tolist())


class _Windows:
  """Random access to windows of a list of sequences."""

  def __init__(self, lengths, length: int, stride: int, image_size: int,
               step: int = 1):
    """Windows of `length` frames `step` apart, starting every `stride`
    (subsampled) frames."""
    self.length, self.image_size, self.step = length, image_size, step
    self.span = (length - 1) * step + 1  # raw frames a window covers
    self.index = [(i, s) for i, n in enumerate(lengths)
                  for s in range(0, n - self.span + 1, stride * step)]

  def __len__(self) -> int:
    return len(self.index)

  def _fit(self, frames: np.ndarray) -> np.ndarray:
    """(T, H, W) uint8 -> (T, S, S, 1): uint8 as is, or resized floats in [0, 1]."""
    if frames.shape[1:] == (self.image_size, self.image_size):
      return frames[..., None]
    return np.stack([frames_lib.resize_linear(f, self.image_size, self.image_size)
                     for f in frames])[..., None] / np.float32(255)


class ArrayWindows(_Windows):
  def __init__(self, array: np.ndarray, length, stride, image_size, step=1):
    super().__init__([array.shape[1]] * len(array), length, stride,
                     image_size, step)
    self.array = array

  def __getitem__(self, index: int) -> np.ndarray:
    i, s = self.index[int(index)]
    return self._fit(self.array[i, s:s + self.span:self.step])


class FolderWindows(_Windows):
  def __init__(self, sequences: list[list[pathlib.Path]], length, stride,
               image_size, step=1):
    super().__init__([len(s) for s in sequences], length, stride, image_size,
                     step)
    self.sequences = sequences

  def __getitem__(self, index: int) -> np.ndarray:
    i, s = self.index[int(index)]
    frames = []
    for path in self.sequences[i][s:s + self.span:self.step]:
      img = frames_lib.read_image(path)
      if img.ndim != 2 or img.dtype != np.uint8:
        raise ValueError(f"{path} is not an 8-bit grayscale image "
                         f"({img.dtype} {img.shape}).")
      frames.append(img)
    return self._fit(np.stack(frames))


def _read_arrays(path: pathlib.Path):
  try:
    with np.load(path) as f:
      missing = [k for k in ("train", "test") if k not in f.files]
      if missing:
        raise ValueError(f"{path} lacks {missing}; a radar .npz holds `train` "
                         f"and `test` (N, T, H, W) uint8 arrays.")
      arrays = {k: np.asarray(f[k]) for k in ("train", "test")}
  except (OSError, EOFError) as e:
    raise ValueError(f"{path} is not a readable .npz file ({str(e)[:100]}).") from e
  for k, a in arrays.items():
    if a.ndim == 5 and a.shape[-1] == 1:
      arrays[k] = a = a[..., 0]
    if a.ndim != 4 or a.dtype != np.uint8:
      raise ValueError(f"{path}: {k} is {a.dtype} {a.shape}; expected (N, T, H, W) "
                       f"uint8 pixel values.")
  return arrays["train"], arrays["test"]


def _read_folders(root: pathlib.Path, split: str) -> list[list[pathlib.Path]]:
  folder = frames_lib.require_dir(root / split, f"radar {split} sequences")
  sequences = [frames_lib.image_files(d) for d in sorted(folder.iterdir())
               if d.is_dir()]
  return [s for s in sequences if s]


def load(cfg, test_frames: int):
  """(train, val, test) sources and the MetricSpec with the skill thresholds."""
  names = tuple(f"{t:g}{cfg.threshold_unit.replace('/', '')}"
                for t in cfg.thresholds)
  spec = metrics.MetricSpec(thresholds=thresholds_01(cfg), threshold_names=names)
  path = pathlib.Path(cfg.path)
  step = int(cfg.get("frame_step", 1))
  if step < 1 or cfg.window_stride < 0:
    raise ConfigError(f"data.frame_step={step} must be >= 1 and "
                      f"data.window_stride={cfg.window_stride} >= 0.")
  if path.suffix == ".npz":
    if not path.is_file():
      raise FileNotFoundError(f"data.path={path} does not exist (docs/datasets.md: Radar echo nowcasting).")
    train, test = _read_arrays(path)
    make = lambda seqs, n: ArrayWindows(seqs, n, cfg.window_stride or n,
                                        cfg.image_size, step)
  else:
    frames_lib.require_dir(path, "data.path (radar sequences)")
    train, test = _read_folders(path, "train"), _read_folders(path, "test")
    make = lambda seqs, n: FolderWindows(seqs, n, cfg.window_stride or n,
                                         cfg.image_size, step)
  n_val = int(round(len(train) * cfg.val_fraction))
  if not 0 < n_val < len(train):
    raise ValueError(f"data.val_fraction={cfg.val_fraction} leaves {n_val} of "
                     f"{len(train)} training sequences for validation.")
  length = cfg.pre_seq_length + cfg.aft_seq_length
  sources = (make(train[:len(train) - n_val], length),
             make(train[len(train) - n_val:], length), make(test, test_frames))
  for name, s in zip(("training", "validation", "test"), sources):
    if not len(s):
      raise ValueError(f"{path} gives no {name} window of {s.length} frames.")
  return sources, spec


DATASETS.register("radar", file_dataset(
    lambda cfg: (cfg.image_size, cfg.image_size, 1), load,
    "radar test sequences"))
