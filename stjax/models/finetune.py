"""Starting a model from the parameters of a finished run (finetuning)."""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from stjax.errors import ConfigError

# workdir -> the trained model of that run (stjax.train.pretrained.load_model)
Pretrained = Callable[[str], nnx.Module]


def require_loader(pretrained: Pretrained | None, key: str) -> Pretrained:
  if pretrained is None:
    raise ConfigError(
        f"{key} names a trained run, which only a run can load: pass "
        f"pretrained=stjax.train.pretrained.load_model to build_run or "
        f"build_model.")
  return pretrained


def start_from(model: nnx.Module, workdir: str,
               pretrained: Pretrained | None) -> nnx.Module:
  """Copies the parameters of the run in `workdir` into `model`; "" keeps it."""
  if not workdir:
    return model
  trained = nnx.state(require_loader(pretrained, "model.init_from")(workdir),
                      nnx.Param)
  ours = nnx.state(model, nnx.Param)
  shapes = lambda st: jax.tree.map(jnp.shape, nnx.to_pure_dict(st))
  if shapes(trained) != shapes(ours):
    raise ConfigError(f"model.init_from={workdir!r} holds a differently shaped "
                      f"{type(model).__name__}; its model section must match "
                      f"this run's (num_hidden, filter_size, patch_size, ...).")
  nnx.update(model, trained)
  return model
