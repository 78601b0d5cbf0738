"""Model registry: a config's `model` section to a Flax NNX module."""
from __future__ import annotations

from flax import nnx

from stjax.models.mslstm import MSLSTM
from stjax.models.recurrent import (MIM, ConvLSTM, PredRNN, PredRNNpp,
                                    PredRNNv2)
from stjax.models.simvp import SimVP

# SimVP v1 / v2 and TAU share one architecture and differ by translator.
_SIMVP_TRANSLATORS = {"simvp_incepu": "incepu", "simvp_gsta": "gsta",
                      "tau": "tau"}
RECURRENT = {"convlstm": ConvLSTM, "predrnn": PredRNN, "predrnnpp": PredRNNpp,
             "predrnnv2": PredRNNv2, "mim": MIM, "mslstm": MSLSTM}
MODELS = tuple(_SIMVP_TRANSLATORS) + tuple(RECURRENT)


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
  if name in RECURRENT:
    if name == "mslstm":
      family = dict(cell=model_cfg.cell, kernel_sizes=tuple(model_cfg.kernel_sizes),
                    pyramid=model_cfg.pyramid)
    else:
      family = dict(filter_size=model_cfg.filter_size,
                    legacy=model_cfg.legacy_openstl)
    return RECURRENT[name](
        in_shape=in_shape, out_frames=out_frames,
        num_hidden=tuple(model_cfg.num_hidden), patch_size=model_cfg.patch_size,
        layer_norm=model_cfg.layer_norm, remat=model_cfg.remat,
        rngs=nnx.Rngs(seed), **family)
  raise ValueError(f"Unknown model {name!r}; choose one of {MODELS}.")


def is_recurrent(model: nnx.Module) -> bool:
  return getattr(model, "recurrent", False)
