"""A toy dataset: sequence i is one random uint8 image that brightens by 3
levels per frame (seeded by i, so every process reads the same data)."""
import numpy as np

from stjax.data.dataset import DatasetEntry, Datasets
from stjax.metrics import MetricSpec
from stjax.registry import DATASETS


class Brightening:
  """A random-access source: len() and [i] -> (T, H, W, 1) uint8."""

  def __init__(self, first: int, count: int, length: int, size: int):
    self.first, self.count, self.length, self.size = first, count, length, size

  def __len__(self):
    return self.count

  def __getitem__(self, i):
    rng = np.random.default_rng(self.first + i)
    image = rng.integers(0, 200, (self.size, self.size, 1))
    steps = 3 * np.arange(self.length)[:, None, None, None]
    return np.clip(image[None] + steps, 0, 255).astype(np.uint8)


def frame_shape(cfg):
  return (cfg.size, cfg.size, 1)


def load(cfg):
  length = cfg.pre_seq_length + cfg.aft_seq_length
  n = cfg.num_sequences
  return Datasets(Brightening(0, n, length, cfg.size),
                  Brightening(10_000, 8, length, cfg.size),
                  Brightening(20_000, 8, length, cfg.size), frame_shape(cfg),
                  generated_train=False, test_description="toy frames",
                  metrics=MetricSpec(names=("mse", "toy_peak")))


DATASETS.register("toy_frames", DatasetEntry(frame_shape, load))
