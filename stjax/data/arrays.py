"""Your own data: sequences in a NumPy file, no reader to write.

    c.data.name = "arrays"
    c.data.path = "clips.npy"        # (N, T, H, W[, C]) sequences, uint8 or float
    c.data.layout = "sequences"      # or "stream": one long (T, H, W[, C]) recording
    c.data.value_range = (0.0, 1.0)  # float arrays: (lo, hi) mapped to [0, 1]
    c.data.pre_seq_length, c.data.aft_seq_length = 10, 10

- Files: `.npy` is memory-mapped, so arrays larger than RAM work (windows
  are read on demand); `.npz` holds `data.key` (or its only array) and is
  read into memory.
- Windows: every sequence (or the stream) is cut into windows of
  pre + aft frames starting every `data.window_stride` frames (0: windows do
  not overlap).
- Splits: `data.val_path` / `data.test_path` name files of the same layout;
  left empty, the split is made from `data.path`: for sequences a seeded
  permutation (`data.split_seed`) gives `data.test_fraction` and
  `data.val_fraction` of them to test and validation, for a stream the last
  `test_fraction` of the frames test and the `val_fraction` before them
  validate (windows never cross a split, so no frame is in two of them).
- Values: uint8 frames are divided by 255; float frames are mapped from
  `data.value_range` to [0, 1], and a window outside it is an error.
"""
from __future__ import annotations

import pathlib

import numpy as np

from stjax.data.dataset import file_dataset
from stjax.errors import ConfigError, DataError
from stjax.registry import DATASETS

LAYOUTS = ("sequences", "stream")


def _open(path, key: str = "") -> np.ndarray:
  """The array in `path`: memory-mapped for .npy, loaded for .npz."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"No array file at {path}; the arrays dataset "
                            f"reads .npy (memory-mapped) or .npz files.")
  try:
    if path.suffix == ".npz":
      with np.load(path) as f:
        names = f.files
        if key:
          if key not in names:
            raise DataError(f"{path} has no array {key!r} (it holds {names}); "
                            f"set data.key.")
          return f[key]
        if len(names) != 1:
          raise DataError(f"{path} holds {names}; name one with data.key.")
        return f[names[0]]
    return np.load(path, mmap_mode="r")
  except (ValueError, OSError, EOFError) as e:
    raise DataError(f"{path} is not a readable .npy/.npz file "
                    f"({str(e).splitlines()[0][:120]}).") from e


def _check(array: np.ndarray, path, layout: str) -> None:
  dims = (4, 5) if layout == "sequences" else (3, 4)
  shape = "(N, T, H, W[, C])" if layout == "sequences" else "(T, H, W[, C])"
  if array.ndim not in dims:
    raise DataError(f"{path} holds {array.shape}; data.layout={layout!r} "
                    f"expects {shape}.")
  if array.dtype != np.uint8 and not np.issubdtype(array.dtype, np.floating):
    raise DataError(f"{path} holds {array.dtype}; give uint8 frames or floats.")


def _frame_shape_of(array: np.ndarray, layout: str) -> tuple[int, int, int]:
  shape = array.shape[2:] if layout == "sequences" else array.shape[1:]
  return tuple(shape) if len(shape) == 3 else (*shape, 1)


class ArrayWindows:
  """Random-access (T, H, W, C) windows of an array's sequences: uint8 as
  stored, floats mapped to [0, 1] by `value_range`."""

  def __init__(self, array, spans, length: int, stride: int, value_range,
               name: str):
    """`spans`: (sequence index or None for a stream, first frame, end)."""
    self.array, self.length, self.name = array, length, name
    self.lo, self.hi = (float(v) for v in value_range)
    self.index = [(seq, s) for seq, first, end in spans
                  for s in range(first, end - length + 1, stride or length)]

  def __len__(self) -> int:
    return len(self.index)

  def __getitem__(self, i: int) -> np.ndarray:
    seq, s = self.index[int(i)]
    frames = np.asarray(self.array[s:s + self.length] if seq is None
                        else self.array[seq, s:s + self.length])
    if frames.ndim == 3:
      frames = frames[..., None]
    if frames.dtype == np.uint8:
      return frames
    x = (frames.astype(np.float32) - self.lo) / (self.hi - self.lo)
    if np.isfinite(x).all() and (x.min() < -1e-6 or x.max() > 1 + 1e-6):
      raise DataError(f"{self.name}: a window spans [{frames.min():.4g}, "
                      f"{frames.max():.4g}], outside data.value_range="
                      f"({self.lo:g}, {self.hi:g}); set the range the values "
                      f"lie in.")
    return np.clip(x, 0.0, 1.0)


def _spans(array, layout: str, part: slice | np.ndarray | None = None):
  if layout == "stream":
    first, end = (0, array.shape[0]) if part is None else (part.start, part.stop)
    return [(None, first, end)]
  seqs = range(array.shape[0]) if part is None else part
  return [(int(i), 0, array.shape[1]) for i in seqs]


def load(cfg, test_frames: int):
  """(train, val, test) sources as the module docstring says."""
  layout = cfg.layout
  if layout not in LAYOUTS:
    raise ConfigError(f"data.layout={layout!r}; choose one of {LAYOUTS}.")
  lo, hi = cfg.value_range
  if not hi > lo:
    raise ConfigError(f"data.value_range={tuple(cfg.value_range)} needs lo < hi.")
  if cfg.window_stride < 0:
    raise ConfigError("data.window_stride must be >= 0 (0: no overlap).")
  length = cfg.pre_seq_length + cfg.aft_seq_length
  main = _open(cfg.path, cfg.key)
  _check(main, cfg.path, layout)
  make = lambda array, spans, n, name: ArrayWindows(
      array, spans, n, cfg.window_stride, cfg.value_range, name)
  shape = _frame_shape_of(main, layout)
  if cfg.val_path or cfg.test_path:
    if not (cfg.val_path and cfg.test_path):
      raise ConfigError("Give both data.val_path and data.test_path, or "
                        "neither (then data.path is split).")
    others = []
    for p in (cfg.val_path, cfg.test_path):
      a = _open(p, cfg.key)
      _check(a, p, layout)
      if _frame_shape_of(a, layout) != shape:
        raise DataError(f"{p} holds frames {_frame_shape_of(a, layout)}; "
                        f"{cfg.path} holds {shape}.")
      others.append(a)
    sources = (make(main, _spans(main, layout), length, str(cfg.path)),
               make(others[0], _spans(others[0], layout), length, str(cfg.val_path)),
               make(others[1], _spans(others[1], layout), test_frames,
                    str(cfg.test_path)))
  else:
    fv, ft = float(cfg.val_fraction), float(cfg.test_fraction)
    if not (0 < fv and 0 < ft and fv + ft < 1):
      raise ConfigError(f"data.val_fraction={fv} and data.test_fraction={ft} "
                        f"must be positive and leave data for training.")
    n = main.shape[0]  # sequences, or frames of a stream
    n_test, n_val = max(1, int(n * ft)), max(1, int(n * fv))
    if layout == "stream":
      parts = (slice(0, n - n_test - n_val), slice(n - n_test - n_val, n - n_test),
               slice(n - n_test, n))
    else:
      order = np.random.default_rng(cfg.split_seed).permutation(n)
      parts = (np.sort(order[n_test + n_val:]), np.sort(order[n_test:n_test + n_val]),
               np.sort(order[:n_test]))
    sources = tuple(
        make(main, _spans(main, layout, part), size, f"{cfg.path} ({name})")
        for part, size, name in zip(parts, (length, length, test_frames),
                                    ("train", "validation", "test")))
  for name, s in zip(("training", "validation", "test"), sources):
    if not len(s):
      raise DataError(f"{cfg.path} gives no {name} window of {s.length} frames "
                      f"(data.layout={layout!r}, array {main.shape}); use "
                      f"shorter windows, other fractions or more data.")
  return sources


def _frame_shape(cfg) -> tuple[int, int, int]:
  array = _open(cfg.path, cfg.key)
  _check(array, cfg.path, cfg.layout)
  return _frame_shape_of(array, cfg.layout)


DATASETS.register("arrays", file_dataset(_frame_shape, load, "test split"))
