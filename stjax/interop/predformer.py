"""Parity with PredFormer's code (github.com/yyyujintang/PredFormer).

    python -m stjax.interop check PATH.npz [PATH.npz ...]

A forward fixture (the format of shared/fixtures/predformer) holds one of the
nine `PredFormer_Model`s' state_dict, an input clip and its prediction, in
float64. The check builds stjax's PredFormer with the fixture's
`model_config` and the layout of its `variant`, imports the weights by the
renames below, and compares `pred_y` and the MSE against `input/y` in
float32. The reference's positional embedding is computed, not stored.
"""
from __future__ import annotations

import jax.numpy as jnp
import ml_collections
import numpy as np

from stjax.interop.fixtures import nchw_to_nhwc, relative_error
from stjax.interop.weights import import_state_dict
from stjax.models import build_model
from stjax.models.predformer import KEYS

KINDS = ("PredFormer",)

# The reference's file (variant) -> stjax layout.
VARIANTS = {"FullAttention": "full", "FacST": "facst", "FacTS": "facts",
            "Binary_ST": "binary_st", "Binary_TS": "binary_ts",
            "Triplet_STS": "triplet_sts", "Triplet_TST": "triplet_tst",
            "Quadruplet_STTS": "quadruplet_stts",
            "Quadruplet_TSST": "quadruplet_tsst"}

# Each variant's transformer attributes, in the order stjax runs them: the
# reference's name for stjax's layers.<i>.transformers.<j>.
_TRANSFORMERS = {
    "full": ("space_temporal_transformer",),
    "facst": ("space_transformer", "temporal_transformer"),
    "facts": ("temporal_transformer", "space_transformer"),
    "binary_st": ("st_space_transformer", "st_temporal_transformer"),
    "binary_ts": ("ts_temporal_transformer", "ts_space_transformer"),
    "triplet_sts": ("space_transformer_first", "temporal_transformer",
                    "space_transformer_second"),
    "triplet_tst": ("temporal_transformer_first", "space_transformer",
                    "temporal_transformer_second"),
    "quadruplet_stts": ("st_space_transformer", "st_temporal_transformer",
                        "ts_temporal_transformer", "ts_space_transformer"),
    "quadruplet_tsst": ("ts_temporal_transformer", "ts_space_transformer",
                        "st_space_transformer", "st_temporal_transformer"),
}
# Inside a GatedTransformer: layers.<k>.0 = PreNorm(Attention),
# layers.<k>.1 = PreNorm(SwiGLU).
_BLOCK_RENAMES = (
    (r"\.layers\.(\d+)\.0\.norm\.", r".blocks.\1.attn_norm."),
    (r"\.layers\.(\d+)\.0\.fn\.to_qkv\.", r".blocks.\1.attn.qkv."),
    (r"\.layers\.(\d+)\.0\.fn\.to_out\.0\.", r".blocks.\1.attn.out."),
    (r"\.layers\.(\d+)\.1\.norm\.", r".blocks.\1.mlp_norm."),
    (r"\.layers\.(\d+)\.1\.fn\.", r".blocks.\1.mlp."),
    (r"^to_patch_embedding\.1\.", "embed."),
    (r"^mlp_head\.0\.", "head_norm."),
    (r"^mlp_head\.1\.", "head."),
)


def renames(layout: str) -> tuple:
  """(pattern, replacement) from the reference's state_dict names to
  stjax's, for one layout (weights.import_state_dict's `renames`)."""
  names = _TRANSFORMERS[layout]
  if layout in ("full", "facst", "facts"):  # transformers on the model itself
    outer = tuple((rf"^{n}\.", f"layers.0.transformers.{j}.")
                  for j, n in enumerate(names))
  else:  # blocks.<i>.<name> = PredFormerLayer i
    outer = tuple((rf"^blocks\.(\d+)\.{n}\.", rf"layers.\1.transformers.{j}.")
                  for j, n in enumerate(names))
  return _BLOCK_RENAMES + outer


def stjax_model_config(cfg: dict) -> ml_collections.ConfigDict:
  """The `model` section for a fixture's (reference) configuration."""
  variant = cfg.get("variant")
  if variant not in VARIANTS:
    raise ValueError(f"PredFormer fixture variant {variant!r}; the check knows "
                     f"{tuple(VARIANTS)}.")
  mc = cfg["model_config"]
  section = {"name": "predformer", "layout": VARIANTS[variant]}
  section.update({k: mc[k] for k in KEYS})
  return ml_collections.ConfigDict(section)


def frame_shape(cfg: dict) -> tuple[int, int, int, int]:
  """(T, H, W, C) of the fixture's model."""
  mc = cfg["model_config"]
  return mc["pre_seq"], mc["height"], mc["width"], mc["num_channels"]


def check_fixture(cfg: dict, arrays: dict) -> list[tuple[str, float, str]]:
  """[(quantity, relative error, note)] of one forward fixture, in float32
  (the caller sets the matmul precision)."""
  model_cfg = stjax_model_config(cfg)
  mc = cfg["model_config"]
  model = build_model(model_cfg, in_shape=frame_shape(cfg),
                      out_frames=mc["after_seq"])
  params = {k[len("param/"):]: v for k, v in arrays.items()
            if k.startswith("param/")}
  import_state_dict(model, params, renames(model_cfg.layout))
  x = jnp.asarray(nchw_to_nhwc(arrays["input/x"]), jnp.float32)
  y = nchw_to_nhwc(arrays["input/y"])
  pred = np.asarray(model(x), np.float64)
  mse = np.mean((pred - y) ** 2)
  note = f"layout {model_cfg.layout}"
  return [("output/pred_y", relative_error(pred.transpose(0, 1, 4, 2, 3),
                                           arrays["output/pred_y"]), note),
          ("output/mse_loss", relative_error(mse, arrays["output/mse_loss"]), "")]
