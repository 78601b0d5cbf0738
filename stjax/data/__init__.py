"""Dataset registry: a config's `data` section to train/val/test sources."""
from __future__ import annotations

import dataclasses

import numpy as np

from stjax import metrics
from stjax.data import (human36m, kitti_caltech, kth, mnist, moving_mnist,
                        radar, taxibj, tfds_source, weatherbench)
from stjax.data.pipeline import Split, eval_batches, train_batches

DATASETS = ("mmnist", "taxibj", "kth", "human36m", "weatherbench", "radar",
            "kitti_caltech", "tfds")
_TEST_SETS = {"taxibj": "TaxiBJ test split", "kth": "KTH persons 17-25",
              "human36m": "Human3.6M subjects S9, S11",
              "weatherbench": "WeatherBench test years",
              "radar": "radar test sequences",
              "kitti_caltech": "Caltech Pedestrian test (caltech_hkl)",
              "tfds": "TFDS test split"}


@dataclasses.dataclass
class Datasets:
  train: object
  val: object
  test: object
  frame_shape: tuple[int, int, int]  # (H, W, C)
  generated_train: bool  # an endless generator: no epoch shuffling needed
  test_description: str
  metrics: metrics.MetricSpec = metrics.MetricSpec()  # what its papers report


def frame_shape(data_cfg) -> tuple[int, int, int]:
  """(H, W, C) of a dataset's frames, without reading it."""
  if data_cfg.name == "mmnist":
    return (data_cfg.image_size, data_cfg.image_size, 1)
  if data_cfg.name == "taxibj":
    return taxibj.FRAME_SHAPE
  if data_cfg.name in ("kth", "radar"):
    return (data_cfg.image_size, data_cfg.image_size, 1)
  if data_cfg.name == "human36m":
    return (data_cfg.image_size, data_cfg.image_size, 3)
  if data_cfg.name == "weatherbench":
    return (*data_cfg.grid, len(data_cfg.variables))
  if data_cfg.name == "kitti_caltech":
    return kitti_caltech.FRAME_SHAPE
  if data_cfg.name == "tfds":
    return tuple(data_cfg.frame_shape)
  raise ValueError(f"Unknown dataset {data_cfg.name!r}; choose one of "
                   f"{DATASETS}.")


def build_datasets(data_cfg) -> Datasets:
  name = data_cfg.name
  if name == "mmnist":
    return _moving_mnist(data_cfg)
  shape = frame_shape(data_cfg)
  test_frames = data_cfg.pre_seq_length + (
      data_cfg.test_aft_seq_length or data_cfg.aft_seq_length)
  spec = metrics.MetricSpec()
  if name == "taxibj":
    train, val, test = taxibj.load(data_cfg.path, data_cfg.val_fraction)
  elif name == "kth":
    train, val, test = kth.load(data_cfg, test_frames)
  elif name == "human36m":
    train, val, test = human36m.load(data_cfg, test_frames)
  elif name == "weatherbench":
    (train, val, test), spec = weatherbench.load(data_cfg, test_frames)
  elif name == "radar":
    (train, val, test), spec = radar.load(data_cfg, test_frames)
  elif name == "kitti_caltech":
    train, val, test = kitti_caltech.load(data_cfg, test_frames)
  elif name == "tfds":
    train, val, test = tfds_source.load(data_cfg, test_frames)
  else:
    raise ValueError(f"Unknown dataset {name!r}; choose one of {DATASETS}.")
  sample = test[0]
  if sample.shape[1:] != shape:
    raise ValueError(f"data.path={data_cfg.path} gives frames of shape "
                     f"{sample.shape[1:]}; the config expects {shape}.")
  return Datasets(train, val, test, shape, generated_train=False,
                  test_description=f"{_TEST_SETS[name]} of {data_cfg.path}",
                  metrics=spec)


def _moving_mnist(cfg) -> Datasets:
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
  train = moving_mnist.GeneratedMovingMNIST(
      train_digits, cfg.train_size, seed=cfg.seed, **gen)
  val = moving_mnist.GeneratedMovingMNIST(
      eval_digits, cfg.val_size, seed=cfg.seed + 1, **gen)
  if cfg.test_path:
    test = moving_mnist.MovingMNISTFile(cfg.test_path, frames)
    if test.frames.shape[2:] != (cfg.image_size, cfg.image_size):
      raise ValueError(f"{cfg.test_path} has {test.frames.shape[2:]} frames; "
                       f"data.image_size is {cfg.image_size}.")
    description = f"standard test file {cfg.test_path}"
  else:
    test = moving_mnist.GeneratedMovingMNIST(
        eval_digits, cfg.test_size, seed=cfg.seed + 2, **gen)
    description = ("generated from held-out embedded digits (not comparable "
                   "with published numbers; set data.test_path)")
  return Datasets(train, val, test, (cfg.image_size, cfg.image_size, 1),
                  generated_train=True, test_description=description)


__all__ = ["Datasets", "Split", "build_datasets", "eval_batches",
           "train_batches"]
