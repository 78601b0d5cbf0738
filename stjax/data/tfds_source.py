"""A prepared TensorFlow Datasets video dataset, read through
`tfds.data_source` into the same grain pipeline: no conversion needed.

TFDS stores frames as encoded images inside tf.train.Example records, and
tensorflow_datasets imports TensorFlow to decode its Video feature, so this
source needs the optional extra: `pip install -e ".[tfds]"` (tensorflow-cpu
and tensorflow-datasets). Nothing else in stjax imports TensorFlow.

`data.path` is the TFDS data_dir holding the prepared dataset (prepare it
where there is internet: `tfds build moving_mnist --data_dir=DIR`, or copy
~/tensorflow_datasets). Splits take TFDS's slicing syntax; moving_mnist has
only a `test` split, so the default config slices it 80/10/10.
"""
from __future__ import annotations

import pathlib

import numpy as np

from stjax.data.dataset import file_dataset
from stjax.registry import DATASETS


class TFDSVideos:
  """Random-access (T, H, W, C) uint8 sequences: the first `length` frames of
  each record's video `feature`."""

  def __init__(self, records, feature: str, length: int):
    self.records, self.feature, self.length = records, feature, length

  def __len__(self) -> int:
    return len(self.records)

  def __getitem__(self, index: int) -> np.ndarray:
    record = self.records[int(index)]
    if self.feature not in record:
      raise ValueError(f"TFDS records have no feature {self.feature!r}; they "
                       f"hold {sorted(record)}. Set data.feature.")
    video = np.asarray(record[self.feature])
    if video.ndim == 3:  # (T, H, W): one channel
      video = video[..., None]
    if video.ndim != 4 or video.shape[0] < self.length:
      raise ValueError(f"TFDS feature {self.feature!r} is {video.shape}; need "
                       f"(T >= {self.length}, H, W[, C]) frames.")
    return video[:self.length]


def load(cfg, test_frames: int):
  try:
    import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
    import tensorflow  # pylint: disable=import-outside-toplevel,unused-import  # decodes Video
  except ImportError as e:
    raise ImportError(f"data.name='tfds' needs TensorFlow Datasets and "
                      f"TensorFlow: pip install -e \".[tfds]\" ({e}).") from e
  root = pathlib.Path(cfg.path)
  if not root.is_dir():
    raise FileNotFoundError(f"data.path={root} is not a TFDS data_dir; prepare "
                            f"the dataset there (docs/datasets.md: TensorFlow Datasets).")
  length = cfg.pre_seq_length + cfg.aft_seq_length
  sources = []
  for split, n in ((cfg.train_split, length), (cfg.val_split, length),
                   (cfg.test_split, test_frames)):
    try:
      records = tfds.data_source(cfg.tfds_name, split=split, data_dir=str(root))
    except Exception as e:  # tfds raises many kinds for a missing dataset
      raise ValueError(f"Cannot open TFDS {cfg.tfds_name!r} split {split!r} in "
                       f"{root}: {type(e).__name__}: {str(e)[:160]}") from e
    sources.append(TFDSVideos(records, cfg.feature, n))
  return sources


DATASETS.register("tfds", file_dataset(
    lambda cfg: tuple(cfg.frame_shape), load, "TFDS test split"))
