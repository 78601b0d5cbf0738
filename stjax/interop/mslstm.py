"""Parity with the MS-LSTM authors' code (mazhf/MS-RNN).

    python -m stjax.interop check PATH.npz [PATH.npz ...]

A fixture (the format of shared/fixtures/mslstm) holds the reference's
weights, inputs and outputs in float64. The check builds the stjax model from
the fixture's configuration through the model registry (model.name "mslstm",
the `cell` and `pyramid` switches, patch 1), imports the weights, and
compares, in float32:
- the cell case (`mk_lstm_cell`): the new h, c3, c5, and the gradients of
  sum(h'.cot_h + c3'.cot_c3 + c5'.cot_c5) for every parameter and input;
- the network cases (`mslstm`, `mslstm_sms`, `mslstm_convlstm`, `mslstm_mk`):
  the training pass with the stored 0/1 mask (all T-1 predictions, the loss
  and its MSE and MAE terms, the gradient of every parameter, through the
  same make_gradient every training run uses, with the authors' loss:
  loss.terms {mse, mae}, loss.reduction "frame_sum"), and the inference pass
  (own predictions after the T_in observed frames).
Each row is max|ours - ref| / max|ref| for one array (gradients per tensor).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import nnx

from stjax.cells import MKLSTMCell
from stjax.interop.fixtures import gradient_config, nchw_to_nhwc, relative_error
from stjax.interop.weights import (flat_variables, import_state_dict,
                                   reference_paths, torch_to_flax)
from stjax.losses import make_objective
from stjax.models import build_model
from stjax.models.recurrent import inference_weights
from stjax.train.build import build_run
from stjax.train.sampling import weights_from_mask

# fixture "model" -> (cell, pyramid) of stjax's MSLSTM
NETWORKS = {"mslstm": ("mklstm", True), "mslstm_sms": ("convlstm", True),
            "mslstm_convlstm": ("convlstm", False), "mslstm_mk": ("mklstm", False)}
KINDS = ("mk_lstm_cell", *NETWORKS)

# The authors' cells always use kernels 3 and 5 (MK) or 3 (ConvLSTM): the
# k of `_conv_x2h_k` is the memory's index in (3, 5).
_MK_INDEX = {"3": "0", "5": "1"}
RENAMES = (
    (r"^embed\.conv_embed\.", "embed."),
    (r"^fc\.conv_fc\.", "conv_last."),
    (r"^rnns\.lstm\.(\d+)\.", r"cells.\1."),
    (r"_conv_x2h_([35])\.", lambda m: f"conv_x.{_MK_INDEX[m[1]]}.conv."),
    (r"_conv_h2h_([35])\.", lambda m: f"conv_h.{_MK_INDEX[m[1]]}.conv."),
    (r"_conv_c2o_([35])\.", lambda m: f"conv_co.{_MK_INDEX[m[1]]}."),
    (r"_conv_x2h\.", "conv_x.conv."),
    (r"_conv_h2h\.", "conv_h.conv."),
    (r"_conv_out\.", "conv_out."),
)


def paper_config(kind: str, cfg: dict) -> ml_collections.ConfigDict:
  """The model and loss sections of a stjax config for a network fixture:
  the authors' model, patch 1, and their loss (MSE + MAE, frame sums)."""
  cell, pyramid = NETWORKS[kind]
  kernels = tuple(cfg["lstm_kernel_size"]) if isinstance(
      cfg["lstm_kernel_size"], list) else (cfg["lstm_kernel_size"],)
  model = ml_collections.ConfigDict({
      "name": "mslstm", "cell": cell, "pyramid": pyramid,
      "kernel_sizes": kernels, "num_hidden": (cfg["C"],) * cfg["layers"],
      "patch_size": 1, "layer_norm": False, "remat": False, "init_from": ""})
  loss = ml_collections.ConfigDict({
      "terms": {"mse": 1.0, "mae": 1.0}, "reduction": "frame_sum"})
  return model, loss


def _params_of(arrays, prefix="param/"):
  return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def _grad_rows(grads, refs: dict, paths: dict) -> list:
  ours = {k: np.asarray(v[...]) for k, v in flat_variables(grads).items()}
  worst, name = 0.0, ""
  for ref_name, ref in refs.items():
    err = relative_error(ours[paths[ref_name]], torch_to_flax(ref))
    if err >= worst:
      worst, name = err, ref_name
  return [(f"grad ({len(refs)} tensors)", worst, f"worst {name}")]


def _check_cell(cfg, arrays) -> list:
  c = cfg["C"]
  cell = MKLSTMCell(c, c, spatial=(cfg["H"], cfg["W"]),
                    kernel_sizes=tuple(cfg.get("kernels", (3, 5))),
                    layer_norm=False, rngs=nnx.Rngs(0))
  params = _params_of(arrays)
  import_state_dict(cell, params, RENAMES)
  paths = reference_paths(cell, params, RENAMES)
  nhwc = lambda k: jnp.asarray(np.asarray(arrays[k]).transpose(0, 2, 3, 1),
                               jnp.float32)
  x, h, c3, c5 = (nhwc(f"input/{k}") for k in ("x", "h", "c3", "c5"))
  cot = [nhwc(f"input/cot_{k}") for k in ("h", "c3", "c5")]
  graphdef, state = nnx.split(cell)

  def vjp_loss(state, x, h, c3, c5):
    (h_new, (c3_new, c5_new)), _ = nnx.merge(graphdef, state)((h, (c3, c5)), x)
    loss = sum(jnp.sum(a * b) for a, b in zip((h_new, c3_new, c5_new), cot))
    return loss, (h_new, c3_new, c5_new)

  (loss, outs), grads = jax.jit(jax.value_and_grad(
      vjp_loss, argnums=(0, 1, 2, 3, 4), has_aux=True))(state, x, h, c3, c5)
  rows = [(f"output/{k}", relative_error(
      np.asarray(v).transpose(0, 3, 1, 2), arrays[f"output/{k}"]), "")
          for k, v in zip(("h", "c3", "c5"), outs)]
  rows.append(("output/vjp_loss", relative_error(loss, arrays["output/vjp_loss"]), ""))
  rows += _grad_rows(grads[0], _params_of(arrays, "grad/"), paths)
  for k, g in zip(("x", "h", "c3", "c5"), grads[1:]):
    rows.append((f"grad_input/{k}", relative_error(
        np.asarray(g).transpose(0, 3, 1, 2), arrays[f"grad_input/{k}"]), ""))
  return rows


def _check_network(kind, cfg, arrays) -> list:
  model_cfg, loss_cfg = paper_config(kind, cfg)
  t_in, t_out = cfg["T_in"], cfg["T_out"]
  model = build_model(model_cfg, in_shape=(t_in, cfg["H"], cfg["W"],
                                           cfg["frame_channels"]),
                      out_frames=t_out)
  params = _params_of(arrays)
  import_state_dict(model, params, RENAMES)
  paths = reference_paths(model, params, RENAMES)
  frames = jnp.asarray(nchw_to_nhwc(arrays["input/frames"]), jnp.float32)
  b = frames.shape[0]
  run = build_run(gradient_config(model_cfg, loss_cfg, t_in, t_out),
                  model=model)
  state, gradient = run.state, jax.jit(run.gradient())
  batch = {"inputs": frames[:, :t_in], "targets": frames[:, t_in:],
           "true_weight": weights_from_mask(np.asarray(arrays["input/mask"]),
                                            t_in, reverse=False)}
  (loss, (_, terms)), grads = gradient(state.params, state.model_state, batch,
                                       jax.random.key(0), 0)
  rollout = jax.jit(lambda m, f, w: m.rollout(f, w, train=False)[0])
  pred_train = rollout(model, frames, batch["true_weight"])
  pred_infer = rollout(model, frames, inference_weights(b, t_in, t_out))
  objective = make_objective(loss_cfg)
  loss_infer, terms_infer = objective(pred_infer, frames[:, 1:])
  nchw = lambda p: np.asarray(p).transpose(0, 1, 4, 2, 3)
  rows = [("output/pred_train", relative_error(nchw(pred_train),
                                               arrays["output/pred_train"]), ""),
          ("output/loss_train", relative_error(loss, arrays["output/loss_train"]), ""),
          ("output/mse_train", relative_error(terms["mse"], arrays["output/mse_train"]), ""),
          ("output/mae_train", relative_error(terms["mae"], arrays["output/mae_train"]), ""),
          ("output/pred_infer", relative_error(nchw(pred_infer),
                                               arrays["output/pred_infer"]), ""),
          ("output/loss_infer", relative_error(loss_infer, arrays["output/loss_infer"]), ""),
          ("output/mse_infer", relative_error(terms_infer["mse"], arrays["output/mse_infer"]), ""),
          ("output/mae_infer", relative_error(terms_infer["mae"], arrays["output/mae_infer"]), "")]
  return rows + _grad_rows(grads, _params_of(arrays, "grad/"), paths)



def check_fixture(cfg: dict, arrays: dict) -> list:
  """[(quantity, relative error, note)] of one MS-RNN fixture, in float32."""
  kind = cfg["model"]
  if kind == "mk_lstm_cell":
    return _check_cell(cfg, arrays)
  if kind in NETWORKS:
    return _check_network(kind, cfg, arrays)
  raise ValueError(f"MS-RNN fixture model {kind!r}; the check knows {KINDS}.")
