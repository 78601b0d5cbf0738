"""Models: a config's `model` section to a Flax NNX module.

Every model registers a builder in stjax.registry.MODELS under its config
name; importing this package registers the built-in ones.
"""
from __future__ import annotations

from flax import nnx

from stjax.models import copying, simvp, tmu  # noqa: F401  (registrations)
from stjax.models import recurrent
from stjax.models.finetune import Pretrained
from stjax.models.mslstm import MSLSTM
from stjax.registry import MODELS

# The recurrent model classes by config name (all share RecurrentNet's rollout).
RECURRENT = {**recurrent.RECURRENT, "mslstm": MSLSTM}


def build_model(model_cfg, *, in_shape, out_frames: int, seed: int = 0,
                pretrained: Pretrained | None = None) -> nnx.Module:
  """The model named by `model_cfg.name` for (T_in, H, W, C) inputs.

  A pure constructor: the config, shape and seed decide the module and its
  initial weights. Models that start from finished runs (model.init_from,
  TMU's model.sources) read them through `pretrained`, a workdir -> model
  loader that the layer above passes (stjax.train.pretrained).
  """
  build = MODELS.get(model_cfg.name)
  return build(model_cfg, in_shape=tuple(int(d) for d in in_shape),
               out_frames=int(out_frames), seed=seed, pretrained=pretrained)


def is_recurrent(model: nnx.Module) -> bool:
  return getattr(model, "recurrent", False)


__all__ = ["MODELS", "RECURRENT", "build_model", "is_recurrent"]
