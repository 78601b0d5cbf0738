"""Datasets: a config's `data` section to train/val/test sources.

Every dataset registers a DatasetEntry (stjax.data.dataset) in
stjax.registry.DATASETS under its `data.name`; importing this package
registers the built-in ones.
"""
from __future__ import annotations

from stjax.data import (arrays, human36m, kitti_caltech, kth,  # noqa: F401
                        moving_mnist, radar, taxibj, tfds_source, weatherbench)
from stjax.data.dataset import DatasetEntry, Datasets, test_horizon
from stjax.data.pipeline import Split, eval_batches, train_batches
from stjax.registry import DATASETS


def frame_shape(data_cfg) -> tuple[int, int, int]:
  """(H, W, C) of a dataset's frames, without reading it."""
  return tuple(DATASETS.get(data_cfg.name).frame_shape(data_cfg))


def build_datasets(data_cfg) -> Datasets:
  return DATASETS.get(data_cfg.name).load(data_cfg)


__all__ = ["DATASETS", "DatasetEntry", "Datasets", "Split", "build_datasets",
           "eval_batches", "frame_shape", "test_horizon", "train_batches"]
