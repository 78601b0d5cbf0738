"""Folders of video frames: listing, decoding and resizing.

Shared by the readers of datasets distributed as one image file per frame
(KTH, Human3.6M, radar echo folders).
"""
from __future__ import annotations

import pathlib
import re

import numpy as np
from PIL import Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")


def require_dir(path, what: str) -> pathlib.Path:
  path = pathlib.Path(path)
  if not path.is_dir():
    raise FileNotFoundError(f"{what}: directory {path} does not exist; see the "
                            f"docs/datasets.md for the layout.")
  return path


def frame_number(name: str, prefix: str = "") -> int | None:
  """The frame index in a file name such as image_0257.png (None if absent)."""
  m = re.search(re.escape(prefix) + r"[_-]?(\d+)", pathlib.Path(name).stem)
  return int(m.group(1)) if m else None


def image_files(folder: pathlib.Path) -> list[pathlib.Path]:
  return sorted(p for p in folder.iterdir()
                if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def read_image(path: pathlib.Path) -> np.ndarray:
  """(H, W) or (H, W, C) uint8 pixels; a clear error for a broken file."""
  try:
    with Image.open(path) as im:
      return np.asarray(im)
  except (OSError, ValueError) as e:
    raise ValueError(f"{path} is not a readable image ({type(e).__name__}: "
                     f"{str(e)[:100]}); re-extract it.") from e


def _linear_matrix(n_in: int, n_out: int) -> np.ndarray:
  """(n_out, n_in) weights of bilinear resampling with half-pixel centres and
  no anti-aliasing: OpenCV's INTER_LINEAR, which the KTH reference uses."""
  x = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
  x = np.clip(x, 0, n_in - 1)
  lo = np.floor(x).astype(int)
  hi = np.minimum(lo + 1, n_in - 1)
  frac = (x - lo).astype(np.float32)
  m = np.zeros((n_out, n_in), np.float32)
  m[np.arange(n_out), lo] += 1 - frac
  m[np.arange(n_out), hi] += frac
  return m


def resize_linear(img: np.ndarray, height: int, width: int) -> np.ndarray:
  """(H, W[, C]) -> float32 (height, width[, C]), bilinear as OpenCV."""
  img = np.asarray(img, np.float32)
  if img.shape[:2] == (height, width):
    return img
  rows = _linear_matrix(img.shape[0], height)
  cols = _linear_matrix(img.shape[1], width)
  out = np.tensordot(rows, img, axes=(1, 0))             # (height, W[, C])
  return np.moveaxis(np.tensordot(cols, out, axes=(1, 1)), 0, 1)  # (height, width[, C])
