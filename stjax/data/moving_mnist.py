"""Moving MNIST (Srivastava et al. 2015) as the field uses it.

Two generators (`data.generator`):
- "openstl" (default): digits (28x28) bounce inside a 64x64 canvas with
  constant speed, overlapping digits combined by max, as OpenSTL generates
  its training data. Training sequences are generated on the fly, a new one
  for every index (`data.fixed_train_set=True` instead reuses the first
  `data.train_size` every epoch, the fixed sets of TMU and PredRNN);
  evaluation uses the standard `mnist_test_seq.npy` when the user has it,
  else a fixed generated set from held-out digits.
- "msrnn": the MS-LSTM authors' util/make_moving_mnist.py: integer speeds 2
  to 6 in a uniform direction, digits added (clipped at 255), top-left
  corners bouncing off [-2, 38], a fixed set of `data.num_sequences` (their
  15,000) split `data.train_fraction` (7:3) into train and test, the test
  set validating too, as theirs does.
Each index is its own deterministic random sequence (seeded by (seed,
index)), so a run is reproducible and a resumed run sees exactly the data it
would have seen; a fixed set is that, over a fixed range of indices.
"""
from __future__ import annotations

import pathlib

import numpy as np

from stjax.data import mnist
from stjax.data.dataset import DatasetEntry, Datasets
from stjax.errors import ConfigError
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


def msrnn_sequence(digits: np.ndarray, rng: np.random.Generator, length: int,
                   image_size: int = 64, num_digits: int = 2) -> np.ndarray:
  """(length, image_size, image_size, 1) uint8 frames as the MS-LSTM
  authors' generator draws them (their global numpy RNG, here `rng`).

  Per digit: direction ~ U(-pi, pi), integer speed ~ {2..6}, top-left corner
  ~ U[0, image_size - 28)^2; each frame pastes the digits at the truncated
  corner (cropped at the border) and adds them in float32 on the [0, 1]
  scale; then a coordinate whose next value leaves [-2, image_size - 26]
  reverses its velocity before the move. Their frame is finally flipped and
  rotated by 270 degrees with OpenCV about (32, 32), which leaves the digits
  upright but shifted one column right (column 0 black): reproduced here.
  """
  lim = image_size - DIGIT_SIZE
  direction = np.pi * (rng.random(num_digits) * 2 - 1)
  speed = rng.integers(5, size=num_digits) + 2
  velocity = np.stack([speed * np.cos(direction), speed * np.sin(direction)], 1)
  chosen = digits[rng.integers(0, len(digits), num_digits)].astype(np.float32)
  position = rng.random((num_digits, 2)) * lim          # (x, y) = (col, row)
  frames = np.zeros((length, image_size, image_size, 1), np.uint8)
  for t in range(length):
    canvas = np.zeros((image_size, image_size), np.float32)
    for digit, (x, y) in zip(chosen, position.astype(int)):
      r0, c0 = max(y, 0), max(x, 0)
      r1, c1 = min(y + DIGIT_SIZE, image_size), min(x + DIGIT_SIZE, image_size)
      canvas[r0:r1, c0:c1] += digit[r0 - y:r1 - y, c0 - x:c1 - x] / np.float32(255)
    nxt = position + velocity
    velocity = np.where((nxt < -2) | (nxt > lim + 2), -velocity, velocity)
    position = position + velocity
    frame = (canvas * np.float32(255)).clip(0, 255).astype(np.uint8)
    frames[t, :, 1:, 0] = frame[:, :-1]
  return frames


class GeneratedMovingMNIST:
  """A random-access source of generated sequences, deterministic per index."""

  def __init__(self, digits: np.ndarray, length: int, num_frames: int, *,
               seed: int, image_size: int = 64, num_digits: int = 2,
               render=render_sequence, first: int = 0):
    if image_size < DIGIT_SIZE:
      raise ValueError(f"image_size must be >= {DIGIT_SIZE}, got {image_size}.")
    self.digits, self.length, self.num_frames = digits, length, num_frames
    self.seed, self.image_size, self.num_digits = seed, image_size, num_digits
    self.render, self.first = render, first  # indices first, first + 1, ...

  def __len__(self) -> int:
    return self.length

  def __getitem__(self, index: int) -> np.ndarray:
    rng = np.random.default_rng([self.seed, self.first + int(index)])
    return self.render(self.digits, rng, self.num_frames, self.image_size,
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


GENERATORS = ("openstl", "msrnn")


def build(cfg) -> Datasets:
  generator = cfg.get("generator", "openstl")
  if generator not in GENERATORS:
    raise ConfigError(f"data.generator={generator!r}; choose one of "
                      f"{GENERATORS}.")
  return _build_msrnn(cfg) if generator == "msrnn" else _build_openstl(cfg)


def _build_msrnn(cfg) -> Datasets:
  """The MS-LSTM authors' fixed set: num_sequences sequences from all the
  digits, the first train_fraction training and the rest testing (and
  validating: their validation set is their test set)."""
  digits = mnist.load_digits(cfg.digits_path)
  n = int(cfg.num_sequences)
  n_train = int(n * cfg.train_fraction + 1e-9)  # theirs: n * 7 // 10
  if not 0 < n_train < n:
    raise ConfigError(f"data.num_sequences={n} x data.train_fraction="
                      f"{cfg.train_fraction} leaves no training or no test "
                      f"sequences.")
  gen = dict(num_frames=cfg.pre_seq_length + cfg.aft_seq_length,
             image_size=cfg.image_size, num_digits=cfg.num_digits,
             render=msrnn_sequence, seed=cfg.seed)
  train = GeneratedMovingMNIST(digits, n_train, **gen)
  test = GeneratedMovingMNIST(digits, n - n_train, first=n_train, **gen)
  return Datasets(train, test, test, (cfg.image_size, cfg.image_size, 1),
                  generated_train=False,
                  test_description=(f"MS-RNN generator: sequences {n_train}.."
                                    f"{n - 1} of {n} (seed {cfg.seed}); "
                                    f"validation is the test set, as theirs"))


def _build_openstl(cfg) -> Datasets:
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
  # A fixed set is reshuffled every epoch; the endless stream never repeats.
  return Datasets(train, val, test, (cfg.image_size, cfg.image_size, 1),
                  generated_train=not cfg.get("fixed_train_set", False),
                  test_description=description)


DATASETS.register("mmnist", DatasetEntry(
    lambda cfg: (cfg.image_size, cfg.image_size, 1), build))
