"""What a model's registration says about it: how to build it, its family,
its config defaults and how `:smoke` shrinks it.

Every question about a model that a config can answer is answered here, from
the registry, and nowhere else: the validator, `:smoke`, the loop and the
step ask `family(name)`; `configure(c, name)` writes its config section.

    from stjax.models.entry import register_model

    @register_model("my_model", family="parallel", defaults=my_defaults,
                    smoke=my_smoke)
    def build(cfg, *, in_shape, out_frames, seed=0, pretrained=None): ...

`build(model_cfg, *, in_shape=(T_in, H, W, C), out_frames, seed, pretrained)`
returns an NNX module mapping (B, T_in, H, W, C) to (B, T_out, H, W, C);
`pretrained(workdir) -> model` is passed by a run for models that start from
finished runs. A "recurrent" model also has `rollout(frames, true_weight,
train=...)` (stjax.models.recurrent) and its config a `sampling` section.
"""
from __future__ import annotations

import dataclasses
import sys
from typing import Any, Callable

import ml_collections

from stjax.errors import ConfigError
from stjax.registry import MODELS

FAMILIES = ("parallel", "recurrent")


def _nothing(c, **options) -> None:
  if options:
    raise ConfigError(f"model.name={c.model.name!r} takes no options; got "
                      f"{sorted(options)}.")


@dataclasses.dataclass(frozen=True)
class ModelEntry:
  build: Callable[..., Any]
  family: str  # "parallel": frames in, frames out; "recurrent": a rollout
  # defaults(c, **options): the model's section (and the loss terms, or the
  # sampling section, it trains with) on a config whose model.name is set.
  defaults: Callable[..., None] = _nothing
  # smoke(c): shrinks the model section for a quick end-to-end check.
  smoke: Callable[[Any], None] = lambda c: None

  def __post_init__(self):
    if self.family not in FAMILIES:
      raise ValueError(f"family={self.family!r}; choose one of {FAMILIES}.")


def register_model(name: str, *, family: str, defaults=None, smoke=None,
                   replace: bool = False):
  """A decorator registering `build` as model `name` (see the module doc)."""
  def add(build):
    caller = sys._getframe(1).f_globals.get("__name__", "")  # pylint: disable=protected-access
    MODELS.register(name, ModelEntry(build, family, defaults or _nothing,
                                     smoke or (lambda c: None)),
                    replace=replace, module=caller)
    return build
  return add


def entry(name: str) -> ModelEntry:
  found = MODELS.get(name)
  if not isinstance(found, ModelEntry):
    raise ConfigError(f"model {name!r} was registered without a family; "
                      f"register it with stjax.models.entry.register_model.")
  return found


def family(name: str) -> str:
  """"parallel" or "recurrent": the one answer to "is it recurrent?"."""
  return entry(name).family


def configure(c: ml_collections.ConfigDict, name: str, **options):
  """Sets model.name and the model's defaults on config `c`; returns `c`."""
  found = entry(name)
  c.model = ml_collections.ConfigDict({"name": name})
  found.defaults(c, **options)
  return c


def shrink_for_smoke(c: ml_collections.ConfigDict) -> None:
  """The model's own `:smoke` shrinking."""
  entry(c.model.name).smoke(c)
