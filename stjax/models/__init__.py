"""Model registry: a config's `model` section to a Flax NNX module."""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from stjax.models.mslstm import MSLSTM
from stjax.models.recurrent import (MIM, ConvLSTM, PredRNN, PredRNNpp,
                                    PredRNNv2)
from stjax.models.simvp import SimVP
from stjax.models.tmu import BACKBONES, TMU

# SimVP v1 / v2 and TAU share one architecture and differ by translator.
_SIMVP_TRANSLATORS = {"simvp_incepu": "incepu", "simvp_gsta": "gsta",
                      "tau": "tau"}
RECURRENT = {"convlstm": ConvLSTM, "predrnn": PredRNN, "predrnnpp": PredRNNpp,
             "predrnnv2": PredRNNv2, "mim": MIM, "mslstm": MSLSTM}
MODELS = tuple(_SIMVP_TRANSLATORS) + tuple(RECURRENT) + ("tmu",)


def build_model(model_cfg, *, in_shape, out_frames, seed: int = 0) -> nnx.Module:
  """Builds the model named by `model_cfg.name` for (T_in, H, W, C) inputs."""
  name = model_cfg.name
  if name in _SIMVP_TRANSLATORS:
    return SimVP(in_shape=in_shape, out_frames=out_frames,
                 hid_S=model_cfg.hid_S, hid_T=model_cfg.hid_T,
                 N_S=model_cfg.N_S, N_T=model_cfg.N_T,
                 translator=_SIMVP_TRANSLATORS[name],
                 spatio_kernel_enc=model_cfg.spatio_kernel_enc,
                 spatio_kernel_dec=model_cfg.spatio_kernel_dec,
                 mlp_ratio=model_cfg.mlp_ratio, drop_path=model_cfg.drop_path,
                 rngs=nnx.Rngs(seed))
  if name in RECURRENT or name == "tmu":
    backbone = model_cfg.backbone if name == "tmu" else name
    if name == "tmu" and backbone not in BACKBONES:
      raise ValueError(f"model.backbone={backbone!r}; choose one of "
                       f"{tuple(BACKBONES)}.")
    if name == "mslstm":
      family = dict(cell=model_cfg.cell, kernel_sizes=tuple(model_cfg.kernel_sizes),
                    pyramid=model_cfg.pyramid)
    else:
      family = dict(filter_size=model_cfg.filter_size,
                    legacy=model_cfg.legacy_openstl)
    model = RECURRENT[backbone](
        in_shape=in_shape, out_frames=out_frames,
        num_hidden=tuple(model_cfg.num_hidden), patch_size=model_cfg.patch_size,
        layer_norm=model_cfg.layer_norm, remat=model_cfg.remat,
        rngs=nnx.Rngs(seed), **family)
    if model_cfg.get("init_from"):
      _init_from(model, model_cfg.init_from)
    if name == "tmu":
      from stjax.train.pretrained import load_model  # pylint: disable=import-outside-toplevel
      sources = [load_model(path) for path in model_cfg.sources]
      model = TMU(model, sources, rngs=nnx.Rngs(seed + 1),
                  source_names=list(model_cfg.sources))
    return model
  raise ValueError(f"Unknown model {name!r}; choose one of {MODELS}.")


def _init_from(model: nnx.Module, workdir: str) -> None:
  """Starts `model` from the parameters of the run in `workdir` (finetuning)."""
  from stjax.train.pretrained import load_model  # pylint: disable=import-outside-toplevel
  trained = nnx.state(load_model(workdir), nnx.Param)
  ours = nnx.state(model, nnx.Param)
  shapes = lambda st: jax.tree.map(jnp.shape, nnx.to_pure_dict(st))
  if shapes(trained) != shapes(ours):
    raise ValueError(f"model.init_from={workdir!r} holds a differently shaped "
                     f"{type(model).__name__}; its model section must match "
                     f"this run's (num_hidden, filter_size, patch_size, ...).")
  nnx.update(model, trained)


def is_recurrent(model: nnx.Module) -> bool:
  return getattr(model, "recurrent", False)
