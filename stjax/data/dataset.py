"""What a dataset gives a run, and how a dataset enters the registry.

A dataset registers a `DatasetEntry` in stjax.registry.DATASETS under its
`data.name`: `frame_shape(data_cfg)` says (H, W, C) from the config alone (so a
model can be built without reading data) and `load(data_cfg)` returns the
train, validation and test sources with the metrics its papers report. Each
source is random access: len() and [i] -> (T, H, W, C) frames, uint8 or float
in [0, 1].
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

from stjax import metrics
from stjax.errors import ConfigError, DataError


@dataclasses.dataclass
class Datasets:
  train: Any
  val: Any
  test: Any
  frame_shape: tuple[int, int, int]  # (H, W, C)
  generated_train: bool  # an endless generator: no epoch shuffling needed
  test_description: str
  metrics: metrics.MetricSpec = metrics.MetricSpec()  # what its papers report


@dataclasses.dataclass(frozen=True)
class DatasetEntry:
  frame_shape: Callable[[Any], tuple[int, int, int]]
  load: Callable[[Any], Datasets]


def test_horizon(data_cfg) -> int:
  """The frames predicted in the test: may be longer than the trained one (KTH: 10 -> 20 in
  training, 10 -> 40 in the test)."""
  aft = data_cfg.get("test_aft_seq_length", 0)
  if aft < 0:
    raise ConfigError("data.test_aft_seq_length must be 0 (same as "
                      "aft_seq_length) or positive.")
  return aft or data_cfg.aft_seq_length


def file_dataset(frame_shape: Callable, load: Callable,
                 test_set: str) -> DatasetEntry:
  """The entry of a dataset read from files under `data.path`.

  `load(data_cfg, test_length)` returns (train, val, test) sources, the test
  windows of test_length = pre_seq_length + test_horizon frames, or
  ((train, val, test), MetricSpec) when the dataset scores its own way.
  """
  def build(cfg) -> Datasets:
    if "path" not in cfg:
      raise ConfigError(f"data.name={cfg.name!r} needs its own data section; "
                        f"build the config with its helper in "
                        f"experiments/configs (base.file_data and the "
                        f"dataset's helper in benchmarks.py).")
    out = load(cfg, cfg.pre_seq_length + test_horizon(cfg))
    (train, val, test), spec = out if len(out) == 2 else (out, metrics.MetricSpec())
    shape = tuple(frame_shape(cfg))
    got = tuple(test[0].shape[1:])
    if got != shape:
      raise DataError(f"data.path={cfg.path} gives frames of shape {got}; the "
                      f"config expects {shape}.")
    return Datasets(train, val, test, shape, generated_train=False,
                    test_description=f"{test_set} of {cfg.path}", metrics=spec)
  return DatasetEntry(frame_shape, build)
