"""Moving MNIST (Srivastava et al. 2015) as the field uses it.

Digits (28x28) bounce inside a 64x64 canvas with constant speed, overlapping
digits combined by max, 10 input and 10 target frames. Training sequences are
generated on the fly; each index is its own deterministic random sequence
(seeded by (seed, index)), so a run is reproducible and a resumed run sees
exactly the data it would have seen. Evaluation uses the standard
`mnist_test_seq.npy` when the user has it, else a fixed generated set from
held-out digits.
"""
from __future__ import annotations

import pathlib

import numpy as np

from stjax.data import mnist
from stjax.data.dataset import DatasetEntry, Datasets
from stjax.registry import DATASETS

DIGIT_SIZE = 28


def bouncing_trajectory(rng: np.random.Generator, length: int,
                        canvas: int, step_length: float = 0.1):
  """Top-left corners (y, x) of a digit bouncing off the borders."""
  y, x = rng.random(2)
  theta = rng.random() * 2 * np.pi
  vy, vx = np.sin(theta), np.cos(theta)
  ys, xs = np.empty(length), np.empty(length)
  for i in range(length):
    y += vy * step_length
    x += vx * step_length
    if x <= 0 or x >= 1:
      x, vx = np.clip(x, 0, 1), -vx
    if y <= 0 or y >= 1:
      y, vy = np.clip(y, 0, 1), -vy
    ys[i], xs[i] = y, x
  return (canvas * ys).astype(np.int32), (canvas * xs).astype(np.int32)


def render_sequence(digits: np.ndarray, rng: np.random.Generator, length: int,
                    image_size: int = 64, num_digits: int = 2) -> np.ndarray:
  """(length, image_size, image_size, 1) uint8 frames of bouncing digits."""
  frames = np.zeros((length, image_size, image_size), np.uint8)
  canvas = image_size - DIGIT_SIZE
  for _ in range(num_digits):
    digit = digits[rng.integers(len(digits))]
    ys, xs = bouncing_trajectory(rng, length, canvas)
    for t in range(length):
      window = frames[t, ys[t]:ys[t] + DIGIT_SIZE, xs[t]:xs[t] + DIGIT_SIZE]
      np.maximum(window, digit, out=window)
  return frames[..., None]


class GeneratedMovingMNIST:
  """A random-access source of generated sequences, deterministic per index."""

  def __init__(self, digits: np.ndarray, length: int, num_frames: int, *,
               seed: int, image_size: int = 64, num_digits: int = 2):
    if image_size < DIGIT_SIZE:
      raise ValueError(f"image_size must be >= {DIGIT_SIZE}, got {image_size}.")
    self.digits, self.length, self.num_frames = digits, length, num_frames
    self.seed, self.image_size, self.num_digits = seed, image_size, num_digits

  def __len__(self) -> int:
    return self.length

  def __getitem__(self, index: int) -> np.ndarray:
    rng = np.random.default_rng([self.seed, int(index)])
    return render_sequence(self.digits, rng, self.num_frames, self.image_size,
                           self.num_digits)


class MovingMNISTFile:
  """The standard test set: `mnist_test_seq.npy`, (20, N, 64, 64) uint8."""

  def __init__(self, path: str | pathlib.Path, num_frames: int):
    path = pathlib.Path(path)
    if not path.is_file():
      raise FileNotFoundError(f"data.test_path={path} does not exist; it should "
                              f"be mnist_test_seq.npy (20, N, 64, 64) uint8.")
    try:
      self.frames = np.load(path, mmap_mode="r")
    except (ValueError, OSError, EOFError) as e:
      raise ValueError(f"{path} is not a readable .npy file: {e}") from e
    if not isinstance(self.frames, np.ndarray):  # an .npz archive
      raise ValueError(f"data.test_path={path} is an .npz archive; it should be "
                       f"mnist_test_seq.npy, one (20, N, 64, 64) uint8 array.")
    shape, dtype = self.frames.shape, self.frames.dtype
    if len(shape) != 4 or dtype != np.uint8 or shape[0] < num_frames or not shape[1]:
      raise ValueError(f"{path} holds {dtype} {shape}; expected uint8 "
                       f"(T>={num_frames}, N>0, H, W) as in mnist_test_seq.npy.")
    self.num_frames = num_frames

  def __len__(self) -> int:
    return self.frames.shape[1]

  def __getitem__(self, index: int) -> np.ndarray:
    return np.asarray(self.frames[:self.num_frames, int(index)])[..., None]


def build(cfg) -> Datasets:
  """Train on generated sequences; validate and test on held-out digits.

  A fixed random 10% of the digits never appears in training: validation and
  the generated test set are drawn from it, so neither tests on seen digits
  and the 'best' checkpoint is never picked on test data. (Random, not the
  last 10%: digit files are often sorted by class.)
  """
  digits = mnist.load_digits(cfg.digits_path)
  order = np.random.default_rng(20150101).permutation(len(digits))
  held_out = max(1, len(digits) // 10)
  if len(digits) - held_out < 1:
    raise ValueError(f"{cfg.digits_path} holds {len(digits)} digit(s); at least "
                     f"2 are needed (train and held-out).")
  train_digits = digits[np.sort(order[held_out:])]
  eval_digits = digits[np.sort(order[:held_out])]
  frames = cfg.pre_seq_length + cfg.aft_seq_length
  gen = dict(num_frames=frames, image_size=cfg.image_size,
             num_digits=cfg.num_digits)
  train = GeneratedMovingMNIST(train_digits, cfg.train_size, seed=cfg.seed, **gen)
  val = GeneratedMovingMNIST(eval_digits, cfg.val_size, seed=cfg.seed + 1, **gen)
  if cfg.test_path:
    test = MovingMNISTFile(cfg.test_path, frames)
    if test.frames.shape[2:] != (cfg.image_size, cfg.image_size):
      raise ValueError(f"{cfg.test_path} has {test.frames.shape[2:]} frames; "
                       f"data.image_size is {cfg.image_size}.")
    description = f"standard test file {cfg.test_path}"
  else:
    test = GeneratedMovingMNIST(eval_digits, cfg.test_size, seed=cfg.seed + 2, **gen)
    description = ("generated from held-out embedded digits (not comparable "
                   "with published numbers; set data.test_path)")
  return Datasets(train, val, test, (cfg.image_size, cfg.image_size, 1),
                  generated_train=True, test_description=description)


DATASETS.register("mmnist", DatasetEntry(
    lambda cfg: (cfg.image_size, cfg.image_size, 1), build))
