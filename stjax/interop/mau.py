"""Parity of stjax's MAU with OpenSTL's (openstl/models/mau_model.py).

    python -m stjax.interop check PATH.npz [PATH.npz ...]

A forward fixture (shared/fixtures/openstl/mau.*, tests/fixtures/openstl/
mau*; the recurrent format of the forward README) holds MAU_Model's
state_dict, a clip and, for an all-zeros and a random scheduled-sampling
mask, `next_frames` and the loss of `model(frames_patched, mask,
return_loss=True)`. OpenSTL's MAU hands back next_frames channel first, (B,
T-1, C, H, W), while its masks are (B, n_mask, H, W, C), and it sees the
frames unpatched (patch 1). The check builds stjax's MAU from the json alone
(`tau`, `cell_mode`, `model_mode`, `sr_size`, ...), imports the weights by
RENAMES and compares in float32. Training fixtures (openstl_train) go
through stjax.interop.openstl_train, which takes `stjax_model_config` and
RENAMES from here.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections

from stjax import losses
from stjax.interop.fixtures import mask_weights, nchw_to_nhwc, relative_error
from stjax.interop.weights import import_state_dict
from stjax.models import build_model
from stjax.models.recurrent import patchify

KINDS = ("mau",)

# OpenSTL's names -> stjax's module paths (the leaf: weight -> kernel or
# scale, bias -> bias, by stjax.interop.weights).
RENAMES = (
    (r"^cell_list\.", "cells."),
    (r"^(cells\.\d+\.conv_\w+)\.0\.", r"\1.conv."),      # Sequential(conv, LayerNorm)
    (r"^(cells\.\d+\.conv_\w+)\.1\.", r"\1.norm."),
    (r"^encoders\.(\d+)\.encoder_t[\w-]*\.", r"encoders.\1."),
    (r"^decoders\.(\d+)\.c_decoder\d+\.", r"decoders.\1."),
    (r"^srcnn\.0\.", "conv_last."),
)


def stjax_model_config(cfg: dict) -> ml_collections.ConfigDict:
  """The `model` section of a fixture's (OpenSTL) configuration."""
  if cfg.get("stride", 1) != 1:
    raise ValueError(f"stride={cfg['stride']}: MAU's cells keep the state "
                     f"size, stride 1 only.")
  if cfg.get("reverse_scheduled_sampling", 0):
    raise ValueError("reverse_scheduled_sampling=1: OpenSTL's MAU method "
                     "trains with the standard scheduled sampling only.")
  return ml_collections.ConfigDict({
      "name": "mau", "num_hidden": tuple(cfg["num_hidden"]),
      "filter_size": cfg["filter_size"], "patch_size": cfg["patch_size"],
      "sr_size": cfg["sr_size"], "tau": cfg["tau"],
      "cell_mode": cfg["cell_mode"], "model_mode": cfg["model_mode"],
      "remat": False, "init_from": ""})


def model_from_config(cfg: dict, seed: int = 0):
  t, c, h, w = cfg["in_shape"]
  return build_model(stjax_model_config(cfg), in_shape=(cfg["pre_seq_length"], h, w, c),
                     out_frames=cfg["aft_seq_length"], seed=seed)


def check_fixture(cfg: dict, arrays: dict) -> list[tuple[str, float, str]]:
  """[(quantity, relative error, note)] of one forward fixture, float32."""
  model = model_from_config(cfg)
  import_state_dict(model, {k.removeprefix("param/"): v for k, v in arrays.items()
                            if k.startswith("param/")}, RENAMES)
  frames = jnp.asarray(nchw_to_nhwc(arrays["input/frames"]), jnp.float32)
  p = cfg["patch_size"]
  if p != 1:
    raise ValueError(f"patch_size={p}: OpenSTL's MAU method feeds the frames "
                     f"unpatched, so its fixtures have patch_size 1.")
  rollout = jax.jit(lambda m, f, w: m.rollout(f, w))
  rows = [("frames_patched", relative_error(patchify(frames, p),
                                            arrays["input/frames_patched"]), "")]
  for tag in ("zeros", "random"):
    weights = mask_weights(cfg, arrays, tag)
    preds, _ = rollout(model, frames, weights)
    # The reference's next_frames are (B, T-1, C, H, W), its frames unpatched.
    ref = nchw_to_nhwc(arrays[f"output/next_frames_{tag}"])
    rows.append((f"next_frames_{tag}", relative_error(preds, ref),
                 "reference channel first"))
    rows.append((f"loss_{tag}", relative_error(losses.mse(preds, frames[:, 1:]),
                                               arrays[f"output/loss_{tag}"]), ""))
  return rows
