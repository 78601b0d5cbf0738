"""Models: a config's `model` section to a Flax NNX module.

Every model registers a ModelEntry (stjax.models.entry) in
stjax.registry.MODELS under its config name: its builder, its family
("parallel" or "recurrent"), its config defaults and its `:smoke` size.
Importing this package registers the built-in ones.
"""
from __future__ import annotations

from flax import nnx

from stjax.models import e3dlstm, mau, phydnet  # noqa: F401  (registration)
from stjax.models import copying, mslstm, predformer, recurrent, simvp, tmu  # noqa: F401  (registrations)
from stjax.models.entry import (ModelEntry, configure, entry, family,
                                register_model, shrink_for_smoke)
from stjax.models.finetune import Pretrained
from stjax.registry import MODELS


def build_model(model_cfg, *, in_shape, out_frames: int, seed: int = 0,
                pretrained: Pretrained | None = None) -> nnx.Module:
  """The model named by `model_cfg.name` for (T_in, H, W, C) inputs.

  A pure constructor: the config, shape and seed decide the module and its
  initial weights. Models that start from finished runs (model.init_from,
  TMU's model.sources) read them through `pretrained`, a workdir -> model
  loader that the layer above passes (stjax.train.pretrained).
  """
  return entry(model_cfg.name).build(
      model_cfg, in_shape=tuple(int(d) for d in in_shape),
      out_frames=int(out_frames), seed=seed, pretrained=pretrained)


__all__ = ["MODELS", "ModelEntry", "build_model", "configure", "entry",
           "family", "register_model", "shrink_for_smoke"]
