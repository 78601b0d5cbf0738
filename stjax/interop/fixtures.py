"""Parity fixtures: NAME.npz with its NAME.json configuration beside it,
and how errors against them are measured."""
from __future__ import annotations

import json
import pathlib

import numpy as np

TOLERANCE = 1e-4


def read_fixture(path: str | pathlib.Path):
  """(config, arrays) of a fixture NAME.npz with its NAME.json beside it."""
  path = pathlib.Path(path)
  cfg_path = path.with_suffix(".json")
  if not path.is_file():
    raise FileNotFoundError(f"No fixture at {path}: expected NAME.npz with "
                            f"NAME.json beside it.")
  if not cfg_path.is_file():
    raise FileNotFoundError(f"Fixture {path} has no configuration {cfg_path}.")
  cfg = json.loads(cfg_path.read_text())
  with np.load(path) as data:
    arrays = {k: data[k] for k in data.files}
  return cfg, arrays


def nchw_to_nhwc(x):
  return np.asarray(x).transpose(0, 1, 3, 4, 2)


def relative_error(ours, ref) -> float:
  ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
  if ours.shape != ref.shape:
    raise ValueError(f"Output shape {ours.shape} differs from the reference "
                     f"{ref.shape}.")
  scale = np.max(np.abs(ref))
  err = np.max(np.abs(ours - ref))
  return float(err / scale) if scale > 0 else float(err)
