"""One registry per extensible concept: models, datasets, metrics, loss terms.

A config names what it uses (`model.name`, `data.name`, a dataset's metric
spec, `loss.terms`); the registry maps each name to the object that builds or
computes it. Adding one is one module plus one registration:

    from stjax.registry import MODELS

    @MODELS.register("my_model")
    def build(cfg, *, in_shape, out_frames, rngs, pretrained): ...

The built-in entries register themselves when their package is imported
(stjax.models, stjax.data, stjax.metrics, stjax.losses).
"""
from __future__ import annotations

import sys
from typing import Any, Iterator

from stjax.errors import ConfigError


class Registry:
  """name -> entry, with the config key it is chosen by for error messages."""

  def __init__(self, kind: str, config_key: str):
    self.kind, self.config_key = kind, config_key
    self._entries: dict[str, Any] = {}
    self._modules: dict[str, str] = {}

  def register(self, name: str, entry: Any = None, *, replace: bool = False,
               module: str | None = None):
    """Registers `entry` under `name`; without `entry`, a decorator.
    `module` is the registering module's name (default: the caller's)."""
    module = module or sys._getframe(1).f_globals.get("__name__", "")  # pylint: disable=protected-access

    def add(obj):
      if name in self._entries and not replace:
        raise ValueError(f"A {self.kind} named {name!r} is already registered; "
                         f"choose another name or pass replace=True.")
      self._entries[name] = obj
      self._modules[name] = module
      return obj
    return add if entry is None else add(entry)

  def module_of(self, name: str) -> str:
    """The module that registered `name` ("" for an unknown name)."""
    return self._modules.get(name, "")

  def get(self, name: str) -> Any:
    if name not in self._entries:
      raise ConfigError(f"{self.config_key}={name!r}; choose one of "
                        f"{self.names()}.")
    return self._entries[name]

  def names(self) -> tuple[str, ...]:
    return tuple(self._entries)

  def __contains__(self, name: object) -> bool:
    return name in self._entries

  def __iter__(self) -> Iterator[str]:
    return iter(self._entries)

  def __len__(self) -> int:
    return len(self._entries)


# stjax.models.entry.ModelEntry: build, family, config defaults, smoke
MODELS = Registry("model", "model.name")
# stjax.data.dataset.DatasetEntry: frame_shape(data_cfg) and load(data_cfg)
DATASETS = Registry("dataset", "data.name")
# stjax.metrics.Metric: per-sequence values and how they become curves
METRICS = Registry("metric", "metric")
# make(loss_cfg) -> term(pred, targets, aux) -> scalar
LOSS_TERMS = Registry("loss term", "loss.terms")

