"""TaxiBJ crowd flows (Zhang et al. 2017) in the file the field distributes.

`dataset.npz` (OpenSTL's release, also used by SimVP and MIM) holds X_train,
Y_train, X_test, Y_test: (N, 4, 2, 32, 32) floats, the in- and out-flow of a
32 x 32 grid over Beijing, 4 observed and 4 future half-hour frames, min-max
scaled to [-1, 1]. A record here is the whole (8, 32, 32, 2) sequence mapped
to [0, 1] as the reference does ((x + 1) / 2); `data.channels` keeps both
flows or one (the MIM and MS-LSTM papers predict the in-flow only).

Validation: the reference validates on its test set; here the last
`val_fraction` of the training sequences (the most recent ones, the file being
in time order) are held out instead, so the test set is never used to pick a
checkpoint (`val_fraction = 0` validates on the test split, as the
reference). Sequences overlap in time, so the few at the boundary share frames
with the last training ones.
"""
from __future__ import annotations

import pathlib

import numpy as np

from stjax.data.dataset import file_dataset
from stjax.errors import ConfigError
from stjax.registry import DATASETS

KEYS = ("X_train", "Y_train", "X_test", "Y_test")
FRAME_SHAPE = (32, 32, 2)  # (H, W, C): in-flow, out-flow


class FlowSequences:
  """Random-access (T, H, W, C) float32 sequences in [0, 1]; `channels`
  picks the flows (0 in-flow, 1 out-flow)."""

  def __init__(self, x: np.ndarray, y: np.ndarray, channels=(0, 1)):
    self.x, self.y, self.channels = x, y, list(channels)

  def __len__(self) -> int:
    return len(self.x)

  def __getitem__(self, index: int) -> np.ndarray:
    seq = np.concatenate([self.x[int(index)], self.y[int(index)]], axis=0)
    seq = seq[:, self.channels]
    return (np.transpose(seq, (0, 2, 3, 1)).astype(np.float32) + 1.0) / 2.0


def load(path: str | pathlib.Path, val_fraction: float, channels=(0, 1)):
  """(train, val, test) sources from dataset.npz."""
  path = pathlib.Path(path)
  if path.is_dir():
    raise FileNotFoundError(f"data.path={path} is a folder; it should be "
                            f"TaxiBJ's dataset.npz file (in that folder?).")
  if not path.is_file():
    raise FileNotFoundError(
        f"data.path={path} does not exist; it should be TaxiBJ's dataset.npz "
        f"(experiments/download_taxibj.sh fetches it on a machine with internet).")
  try:
    f = np.load(path)
    files = f.files
  except (OSError, EOFError, ValueError, AttributeError) as e:  # not an .npz
    raise ValueError(f"{path} is not a readable .npz file "
                     f"({type(e).__name__}: {str(e)[:120]}).") from e
  with f:
    missing = [k for k in KEYS if k not in files]
    if missing:
      raise ValueError(f"{path} lacks {missing}; TaxiBJ's dataset.npz holds "
                       f"{list(KEYS)}.")
    arrays = {k: np.asarray(f[k]) for k in KEYS}
  for k, a in arrays.items():
    if a.ndim != 5 or a.shape[2:] != (2, 32, 32) or not np.issubdtype(a.dtype, np.floating):
      raise ValueError(f"{path}: {k} is {a.dtype} {a.shape}; expected floats "
                       f"(N, T, 2, 32, 32) as in TaxiBJ's dataset.npz.")
    if a.size and (np.nanmin(a) < -1.001 or np.nanmax(a) > 1.001):
      raise ValueError(f"{path}: {k} spans [{np.nanmin(a):.3g}, {np.nanmax(a):.3g}]; "
                       f"the distributed file is min-max scaled to [-1, 1].")
  for split in ("train", "test"):
    if len(arrays[f"X_{split}"]) != len(arrays[f"Y_{split}"]):
      raise ValueError(f"{path}: X_{split} and Y_{split} hold different numbers "
                       f"of sequences.")
  n = len(arrays["X_train"])
  xt, yt = arrays["X_train"], arrays["Y_train"]
  test = FlowSequences(arrays["X_test"], arrays["Y_test"], channels)
  if val_fraction == 0:  # validate on the test split, as the reference
    return FlowSequences(xt, yt, channels), test, test
  n_val = int(round(n * val_fraction))
  if not 0 < n_val < n:
    raise ValueError(f"data.val_fraction={val_fraction} leaves {n_val} of {n} "
                     f"training sequences for validation; choose a fraction "
                     f"that holds out at least one and keeps at least one.")
  return (FlowSequences(xt[:n - n_val], yt[:n - n_val], channels),
          FlowSequences(xt[n - n_val:], yt[n - n_val:], channels), test)


def channels_of(cfg) -> tuple[int, ...]:
  """data.channels: (0, 1) both flows (default), (0,) in-flow only as the
  MIM and MS-LSTM papers, (1,) out-flow only."""
  channels = tuple(int(c) for c in cfg.get("channels", (0, 1)))
  if not channels or any(c not in (0, 1) for c in channels) or (
      len(set(channels)) != len(channels)):
    raise ConfigError(f"data.channels={channels}; TaxiBJ has channels 0 "
                      f"(in-flow) and 1 (out-flow): choose (0, 1), (0,) or (1,).")
  return channels


def _load(cfg, test_frames: int):
  del test_frames  # TaxiBJ's test split has its fixed 4 -> 4 windows
  if not 0 <= cfg.val_fraction < 1:
    raise ConfigError(f"data.val_fraction={cfg.val_fraction} must lie in [0, 1) "
                      f"(0: validate on the test split, as the reference).")
  return load(cfg.path, cfg.val_fraction, channels_of(cfg))


DATASETS.register("taxibj", file_dataset(
    lambda cfg: (*FRAME_SHAPE[:2], len(channels_of(cfg))), _load,
    "TaxiBJ test split"))
