"""Parity with the TMU authors' code (thuml/transferable-memory).

A fixture (shared/fixtures/tmu format, float64) holds one official training
call of the authors' TMU (two ConvLSTM teachers, then the student: a TMU
layer 0 and ConvLSTM layers above) with every internal of the student's TMU
layer per step, both losses and the gradient of the frame loss, and one
inference call. The check builds stjax's TMU from the fixture's
configuration through the model registry (model.tmu_variant "code", two
untrained ConvLSTM sources with one bias per gate, model.gate_bias), imports
the weights, and compares (in float64 from `python -m stjax.interop check`;
float32 on request: the public fixture's worst float32 error is 1.4e-6, the
deeper one made here 1.1e-4 on one distiller's LayerNorm gradient, while in
float64 every array agrees to 3e-13):
- the training pass of stjax's jitted rollout and gradient (make_gradient,
  as every training run): the student's predictions, loss_frame, the
  reported distillation (`distill_code`) against loss_distill, and the
  gradient of every student parameter;
- per step, through the model's own step function: each teacher's rollout
  and layer-0 memory, and the TMU layer's Z, C~, H, C, C^_m and a_m;
- the inference pass (no teachers, all-zero mask).

The authors' cells concatenate [x; h] into one convolution and order the
ConvLSTM gates (i, f, o, g); stjax's ConvLSTM convolves x and h separately
(their sum is the same) in the order (i, f, g, o). The import splits the
input channels and permutes the gate blocks; the TMU layer keeps the code's
order (i, f, o, g, s_1, s_2).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import nnx

from stjax.interop.fixtures import gradient_config, relative_error
from stjax.interop.weights import flat_variables, torch_to_flax
from stjax.models import build_model
from stjax.models.recurrent import inference_weights, patchify
from stjax.train.build import build_run
from stjax.train.sampling import weights_from_mask

KINDS = ("tmu_code",)
_IFOG_TO_IFGO = (0, 1, 3, 2)


def _gate_order(a, blocks=_IFOG_TO_IFGO):
  """Output blocks of a (kH, kW, I, O) kernel or (O,) bias, reordered."""
  parts = np.split(a, len(blocks), axis=-1)
  return np.concatenate([parts[i] for i in blocks], axis=-1)


def _convlstm_layer(ref, path, in_ch):
  """(reference name, stjax path, transform) of one authors' ConvLSTM layer."""
  split_x = lambda w: _gate_order(torch_to_flax(w))[:, :, :in_ch]
  split_h = lambda w: _gate_order(torch_to_flax(w))[:, :, in_ch:]
  return [(f"{ref}.conv.0.weight", f"{path}.conv_x.conv.kernel", split_x),
          (f"{ref}.conv.0.weight", f"{path}.conv_h.conv.kernel", split_h),
          (f"{ref}.conv.0.bias", f"{path}.conv_x.conv.bias", _gate_order)]


def assignments(cfg, teacher: bool) -> list:
  """[(reference name, stjax path, transform)] of a student or a teacher."""
  k, hidden = cfg["frame_channels"], cfg["num_hidden"]
  same = lambda a: np.asarray(a)
  out = [("conv_last.weight", "conv_last.kernel", torch_to_flax)]
  for layer, n in enumerate(hidden):
    in_ch = k if layer == 0 else hidden[layer - 1]
    if teacher:
      out += _convlstm_layer(f"cell_list.{layer}", f"cells.{layer}", in_ch)
      continue
    if layer > 0:
      out += _convlstm_layer(f"cell_list.{layer}", f"cells.{layer - 1}", in_ch)
      continue
    ref = "cell_list.0"
    out += [
        (f"{ref}.conv.0.weight", "tmu.conv_x.conv.kernel",
         lambda w, c=in_ch: torch_to_flax(w)[:, :, :c]),
        (f"{ref}.conv.0.weight", "tmu.conv_h.conv.kernel",
         lambda w, c=in_ch: torch_to_flax(w)[:, :, c:]),
        (f"{ref}.conv.0.bias", "tmu.conv_x.conv.bias", same),
        (f"{ref}.conv.1.weight", "tmu.norm.scale", torch_to_flax),
        (f"{ref}.conv.1.bias", "tmu.norm.bias", torch_to_flax)]
    for m in (1, 2):
      out += [(f"{ref}.distiller{m}.0.weight", f"tmu.distill.conv.{m - 1}.kernel", torch_to_flax),
              (f"{ref}.distiller{m}.1.weight", f"tmu.distill.norm.{m - 1}.scale", torch_to_flax),
              (f"{ref}.distiller{m}.1.bias", f"tmu.distill.norm.{m - 1}.bias", torch_to_flax)]
  return out


def _import(module, params: dict, plan) -> None:
  targets = flat_variables(module)
  done = set()
  for ref, path, transform in plan:
    value = transform(params[ref])
    if targets[path].shape != value.shape:
      raise ValueError(f"{ref} -> {path}: {value.shape} vs {targets[path].shape}.")
    targets[path].set_value(jnp.asarray(value, targets[path].dtype))
    done.add(path)
  params_left = sorted(p for p, v in flat_variables(nnx.state(module, nnx.Param)).items()
                       if p not in done)
  if params_left:
    raise ValueError(f"The fixture does not set {params_left[:3]}.")
  unused = sorted(set(params) - {ref for ref, _, _ in plan})
  if unused:
    raise ValueError(f"Reference tensors without a stjax place: {unused[:3]}.")


def model_config(cfg) -> ml_collections.ConfigDict:
  """The stjax model section of a fixture's configuration."""
  if cfg.get("stride", 1) != 1:
    raise ValueError(f"stride={cfg['stride']}: stjax's cells keep the state size.")
  return ml_collections.ConfigDict({
      "name": "tmu", "backbone": "convlstm", "tmu_variant": "code",
      "tmu_distill": "", "num_hidden": tuple(cfg["num_hidden"]),
      "filter_size": cfg["filter_size"], "patch_size": cfg["patch_size"],
      "layer_norm": False, "remat": False, "gate_bias": True,
      "legacy_openstl": False, "init_from": "", "sources": (),
      "untrained_sources": 2})


def _nchw_steps(steps):
  return np.stack([np.asarray(s) for s in steps], 1).transpose(0, 1, 4, 2, 3)


def check_fixture(cfg: dict, arrays: dict, dtype=jnp.float32) -> list:
  """[(quantity, relative error, note)] of one TMU fixture, in float32 (or
  `dtype`: float64 under jax.enable_x64 separates the port's errors from
  float32 rounding)."""
  w, c, p = cfg["img_width"], cfg["img_channel"], cfg["patch_size"]
  t_in, t = cfg["input_length"], cfg["total_length"]
  model = build_model(model_config(cfg), in_shape=(t_in, w, w, c),
                      out_frames=t - t_in)
  nnx.update(model, jax.tree.map(lambda x: x.astype(dtype), nnx.state(model)))
  get = lambda prefix: {k[len(prefix):]: v for k, v in arrays.items()
                        if k.startswith(prefix)}
  student_plan = assignments(cfg, teacher=False)
  _import(model.target, get("param/student/"), student_plan)
  for m, source in enumerate(model.sources):
    _import(source, get(f"param/teacher{m + 1}/"), assignments(cfg, teacher=True))
  frames = jnp.asarray(arrays["input/frames"], dtype)
  b = frames.shape[0]
  mask = np.asarray(arrays["input/mask"])[:, :, 0, 0, 0]
  weights = weights_from_mask(mask, t_in, reverse=False)
  loss_cfg = ml_collections.ConfigDict({"terms": {"mse": 1.0, "distill": 0.1}})
  run = build_run(gradient_config(model_config(cfg), loss_cfg, t_in, t - t_in),
                  model=model)
  state, gradient = run.state, jax.jit(run.gradient())
  batch = {"inputs": frames[:, :t_in], "targets": frames[:, t_in:],
           "true_weight": weights}
  (loss, (_, terms)), grads = gradient(state.params, state.model_state, batch,
                                       jax.random.key(0), 0)
  preds, _ = jax.jit(lambda m, f, w: m.rollout(f, w))(model, frames, weights)
  rows = [("output/next_frames", relative_error(patchify(preds, p),
                                                arrays["output/next_frames"]), ""),
          ("output/loss_frame", relative_error(loss, arrays["output/loss_frame"]),
           "the whole objective: distill weighs 0 in the code variant"),
          ("output/loss_distill", relative_error(terms["distill_code"],
                                                 arrays["output/loss_distill"]), "")]
  rows += _grad_rows(grads, arrays, student_plan)
  rows += _step_rows(model, frames, weights, arrays)
  infer = jax.jit(lambda m, f, w: m.rollout(f, w, train=False)[0])(
      model, frames, inference_weights(b, t_in, t - t_in))
  rows.append(("output/test/next_frames", relative_error(
      patchify(infer, p), arrays["output/test/next_frames"]), ""))
  return rows


def _grad_rows(grads, arrays, plan) -> list:
  ours = {k.removeprefix("target."): np.asarray(v[...])
          for k, v in flat_variables(grads).items()}
  refs = {k[len("grad/"):]: v for k, v in arrays.items() if k.startswith("grad/")}
  worst, name = 0.0, ""
  for ref, path, transform in plan:
    scale = np.max(np.abs(refs[ref]))
    err = np.max(np.abs(ours[path] - transform(refs[ref]))) / scale
    if err >= worst:
      worst, name = float(err), ref
  return [(f"grad ({len(refs)} tensors)", worst, f"worst {name}")]


def _step_rows(model, frames, weights, arrays) -> list:
  """The model's own step function, step by step, with the TMU layer's and
  the teachers' internals recorded along the way."""
  p = model.patch_size
  patches = patchify(frames, p)
  carry = model.init_carry(frames.shape[0], frames.dtype)
  prev = jnp.zeros_like(patches[:, 0])
  advance = jax.jit(lambda m, c, x, f, w, i: m.advance(c, x, f, w, i, True))
  parts = jax.jit(lambda cell, c, x: cell.parts(c, x))
  record = {k: [] for k in ("conv_ln", "c_tilde", "h0", "c0", "c_hat1",
                            "c_hat2", "gate1", "gate2")}
  teachers = {f"teacher{m}/{k}": [] for m in (1, 2) for k in ("next_frames", "c0")}
  for i in range(patches.shape[1] - 1):
    wi = weights[:, i][:, None, None, None]
    x = wi * patches[:, i] + (1 - wi) * prev
    got = parts(model.target.tmu, carry[0][0], x)
    for k in ("conv_ln", "c_tilde", "h0", "c0"):
      record[k].append(got[k])
    for m in (1, 2):
      record[f"c_hat{m}"].append(got["c_hat"][m - 1])
      record[f"gate{m}"].append(got["gate"][m - 1])
    carry, prev, _ = advance(model, carry, x, patches[:, i], wi, i)
    for m, (s_carry, s_pred) in enumerate(carry[1], 1):
      teachers[f"teacher{m}/next_frames"].append(s_pred)
      teachers[f"teacher{m}/c0"].append(model.sources[m - 1].memories(s_carry)[0])
  rows = []
  for k, steps in record.items():
    rows.append((f"output/student/{k}", relative_error(
        _nchw_steps(steps), arrays[f"output/student/{k}"]), ""))
  for k, steps in teachers.items():
    ours = (np.stack([np.asarray(s) for s in steps], 1) if k.endswith("frames")
            else _nchw_steps(steps))
    rows.append((f"output/{k}", relative_error(ours, arrays[f"output/{k}"]), ""))
  return rows

