"""Parity of stjax's PhyDNet with OpenSTL's (openstl/models/phydnet_model.py).

Training fixtures (openstl_train format, `model` "phydnet") go through
`python -m stjax.interop check-train`, which takes `stjax_model_config`,
`state_dict` and RENAMES from here. OpenSTL's state_dict holds the PhyCell
and the ConvLSTM twice (PhyDNet_Model.phycell and .encoder.phycell are one
module) and K2M's moment matrices as buffers: `state_dict` keeps one copy
and drops the buffers (stjax computes the matrices, stjax.models.phydnet).
"""
from __future__ import annotations

import ml_collections

KINDS = ("phydnet",)

RENAMES = (
    (r"^phycell\.cell_list\.0\.F\.conv1\.", "phycell.conv1."),
    (r"^phycell\.cell_list\.0\.F\.bn1\.", "phycell.norm."),
    (r"^phycell\.cell_list\.0\.F\.conv2\.", "phycell.conv2."),
    (r"^phycell\.cell_list\.0\.convgate\.", "phycell.convgate."),
    (r"^convcell\.cell_list\.(\d+)\.conv\.", r"convcells.\1.conv."),
    (r"^encoder\.(encoder_E|encoder_Ep|encoder_Er)\.c(\d)\.main\.0\.",
     lambda m: f"{m[1]}.{int(m[2]) - 1}.conv."),
    (r"^encoder\.(encoder_E|encoder_Ep|encoder_Er)\.c(\d)\.main\.1\.",
     lambda m: f"{m[1]}.{int(m[2]) - 1}.norm."),
    (r"^encoder\.(decoder_Dp|decoder_Dr|decoder_D)\.upc([12])\.main\.0\.",
     lambda m: f"{m[1]}.{int(m[2]) - 1}.conv."),
    (r"^encoder\.(decoder_Dp|decoder_Dr|decoder_D)\.upc([12])\.main\.1\.",
     lambda m: f"{m[1]}.{int(m[2]) - 1}.norm."),
    (r"^encoder\.decoder_D\.upc3\.", "decoder_out."),
)
_DUPLICATES = ("encoder.phycell.", "encoder.convcell.", "k2m.")


def state_dict(reference: dict) -> dict:
  """OpenSTL's tensors without the second copy of the shared cells and K2M's
  buffers."""
  return {k: v for k, v in reference.items() if not k.startswith(_DUPLICATES)}


def stjax_model_config(cfg: dict) -> ml_collections.ConfigDict:
  """The `model` section of a fixture's (OpenSTL) configuration."""
  p = cfg["patch_size"]
  return ml_collections.ConfigDict({
      "name": "phydnet", "num_hidden": (128, 128, 64), "phycell_hidden": 49,
      "encoder_width": 32,
      "patch_size": p if p in (2, 4) else 4,  # OpenSTL's own fallback
      "phydnet_objective": cfg.get("loss", {}).get("objective", "openstl"),
      "layer_norm": False, "remat": False, "init_from": ""})


def check_fixture(cfg: dict, arrays: dict) -> list[tuple[str, float, str]]:
  """[(quantity, relative error, note)] of one forward fixture
  (tests/fixtures/openstl/make_phydnet_fixture.py), in float64."""
  import jax  # pylint: disable=import-outside-toplevel
  import jax.numpy as jnp  # pylint: disable=import-outside-toplevel
  from flax import nnx  # pylint: disable=import-outside-toplevel
  from stjax.interop.fixtures import nchw_to_nhwc, relative_error  # pylint: disable=import-outside-toplevel
  from stjax.interop.weights import import_state_dict  # pylint: disable=import-outside-toplevel
  from stjax.models import build_model  # pylint: disable=import-outside-toplevel
  from stjax.models.recurrent import inference_weights  # pylint: disable=import-outside-toplevel

  t, c, h, w = cfg["in_shape"]
  pre, aft = cfg["pre_seq_length"], cfg["aft_seq_length"]
  model_cfg = stjax_model_config(cfg)
  model_cfg.update(num_hidden=tuple(cfg["num_hidden"]), encoder_width=cfg["encoder_width"],
                   phycell_hidden=cfg["phycell_hidden"])
  rows = []
  with jax.enable_x64(True):
    for objective in ("paper", "openstl"):
      model_cfg.phydnet_objective = objective
      model = build_model(model_cfg, in_shape=(pre, h, w, c), out_frames=aft)
      nnx.update(model, jax.tree.map(lambda v: v.astype(jnp.float64), nnx.state(model)))
      import_state_dict(model, state_dict({k.removeprefix("param/"): v for k, v in arrays.items()
                                           if k.startswith("param/")}), RENAMES)
      x = jnp.asarray(nchw_to_nhwc(arrays["input/x"]), jnp.float64)
      y = jnp.asarray(nchw_to_nhwc(arrays["input/y"]), jnp.float64)
      frames = jnp.concatenate([x, y], axis=1)
      b = x.shape[0]
      teacher = jnp.ones((b, pre + aft - 1))
      _, aux = model.rollout(frames, teacher)
      if objective == "paper":
        rows.append(("pred_y", relative_error(model(x), nchw_to_nhwc(arrays["output/pred_y"])),
                     "the decoder fed its own predictions"))
        _, own = model.rollout(frames, inference_weights(b, pre, aft))
        rows.append(("loss_inference", relative_error(
            own["phydnet"], arrays["output/loss_inference"]), "step MSEs + moments"))
        rows.append(("objective_tf", relative_error(
            aux["phydnet"], arrays["output/objective_tf"]), "teacher forced"))
      else:
        rows.append(("objective_openstl_tf", relative_error(
            aux["phydnet"], arrays["output/objective_openstl_tf"]), "MSE(L, y)"))
  return rows
