"""Parity of stjax's E3D-LSTM with OpenSTL's (openstl/models/e3dlstm_model.py).

    python -m stjax.interop check PATH.npz [PATH.npz ...]

A forward fixture (shared/fixtures/openstl/e3dlstm, the recurrent format of
the forward README) holds E3DLSTM_Model's state_dict, a clip and, for an
all-zeros and a random scheduled-sampling mask, `next_frames` and the loss
(MSE + L1) of `model(frames_patched, mask, return_loss=True)`. The 3-D
convolutions' weights (O, C, D, kH, kW) become the 2-D convs over a
window's stacked frames (stjax.models.e3dlstm.WindowConv): (O, D C, kH, kW)
with channel d C + c, then the usual importer. Training fixtures
(openstl_train) go through stjax.interop.openstl_train, which takes
`stjax_model_config`, `state_dict` and RENAMES from here.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from stjax import losses
from stjax.interop.fixtures import mask_weights, nchw_to_nhwc, relative_error
from stjax.interop.weights import import_state_dict
from stjax.models import build_model
from stjax.models.recurrent import patchify

KINDS = ("e3dlstm",)

RENAMES = (
    (r"^cell_list\.", "cells."),
    (r"\._norm_c_t\.", ".norm_c."),
    (r"\.(conv_(?:x|h|gm|new_cell|new_gm))\.0\.conv3d\.weight$", r".\1.conv.weight"),
    (r"\.(conv_(?:x|h|gm|new_cell|new_gm))\.1\.(weight|bias)$", r".\1.norm.\2"),
    (r"\.conv_last\.conv3d\.weight$", ".conv_last.weight"),
)


def state_dict(reference: dict) -> dict:
  """OpenSTL's tensors with every Conv3d weight (O, C, D, kH, kW) as the
  (O, D C, kH, kW) weight of a 2-D conv over the window's stacked frames."""
  out = {}
  for name, value in reference.items():
    value = np.asarray(value)
    if value.ndim == 5:
      o, c, d, kh, kw = value.shape
      value = value.transpose(0, 2, 1, 3, 4).reshape(o, d * c, kh, kw)
    out[name] = value
  return out


def stjax_model_config(cfg: dict) -> ml_collections.ConfigDict:
  """The `model` section of a fixture's (OpenSTL) configuration."""
  if len(set(cfg["num_hidden"])) > 1:
    raise ValueError(f"num_hidden={cfg['num_hidden']}: the global memory "
                     f"passes every layer, so the widths must be equal.")
  return ml_collections.ConfigDict({
      "name": "e3dlstm", "num_hidden": tuple(cfg["num_hidden"]),
      "filter_size": 5, "patch_size": cfg["patch_size"],
      "layer_norm": bool(cfg.get("layer_norm", 0)), "e3d_memory": "openstl",
      "stride": int(cfg.get("stride", 1)),
      "remat": False, "init_from": ""})


def check_fixture(cfg: dict, arrays: dict) -> list[tuple[str, float, str]]:
  """[(quantity, relative error, note)] of one forward fixture, float32."""
  t, c, h, w = cfg["in_shape"]
  model = build_model(stjax_model_config(cfg), in_shape=(cfg["pre_seq_length"], h, w, c),
                      out_frames=cfg["aft_seq_length"], seed=0)
  import_state_dict(model, state_dict({k.removeprefix("param/"): v for k, v in arrays.items()
                                       if k.startswith("param/")}), RENAMES)
  frames = jnp.asarray(nchw_to_nhwc(arrays["input/frames"]), jnp.float32)
  p = cfg["patch_size"]
  patched = patchify(frames, p)
  rollout = jax.jit(lambda m, f, w: m.rollout(f, w))
  rows = [("frames_patched", relative_error(patched, arrays["input/frames_patched"]), "")]
  for tag in ("zeros", "random"):
    weights = mask_weights(cfg, arrays, tag)
    preds, _ = rollout(model, frames, weights)
    mine = patchify(preds, p)
    rows.append((f"next_frames_{tag}", relative_error(
        mine, arrays[f"output/next_frames_{tag}"]), "patched"))
    loss = losses.mse(mine, patched[:, 1:]) + losses.mae(mine, patched[:, 1:])
    rows.append((f"loss_{tag}", relative_error(loss, arrays[f"output/loss_{tag}"]),
                 "MSE + L1"))
  return rows
