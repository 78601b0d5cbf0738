"""Training parity with OpenSTL: replay the reference's optimisation steps.

    python -m stjax.interop.openstl check-train PATH.npz [PATH.npz ...]

A training fixture (NAME.npz + NAME.json, the format of
shared/fixtures/openstl_train) holds K steps of the reference in float64: the
initial weights, each step's batch and scheduled-sampling mask, loss,
learning rate and Adam beta1, the first gradient, and the weights after the
first and the last step. The check turns the fixture's configuration into an
ordinary stjax config (`openstl_config`), builds the model, optimizer,
schedule and loss from it as every run does (stjax.train.build.build_run,
with the fixture's model), imports the initial
weights, replays the K steps with the stored batches and masks through the
jitted train step, in float64, and prints the relative error of each step's
loss, learning rate and beta1, of the first gradient and of the change of
every weight after step 1 and after step K (max |ours - ref| / max |ref| per
array; the worst array is named). It exits non-zero above 1e-4.
"""
from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import nnx

from stjax import losses
from stjax.interop import e3dlstm, mau, phydnet, predformer
from stjax.interop.fixtures import (TOLERANCE, nchw_to_nhwc, read_fixture,
                                    relative_error)
from stjax.interop.weights import (flat_variables, import_state_dict,
                                   reference_paths, torch_to_flax)
from stjax.models import build_model, metaformers
from stjax.models.simvp import translator_name
from stjax.train.build import build_run
from stjax.train.optim import (BASE_MOMENTUM, MAX_MOMENTUM,
                               decay_mask, injected_hyperparams)
from stjax.train.sampling import weights_from_mask

_SIMVP_NAMES = {"gsta": "simvp_gsta", "incepu": "simvp_incepu", "tau": "tau",
                **{t: f"simvp_{t}" for t in metaformers.BLOCKS}}


def openstl_config(cfg: dict) -> ml_collections.ConfigDict:
  """A training fixture's (OpenSTL) configuration as a stjax config: the
  sections build_model, build_optimizer, the loss terms and scheduled
  sampling read. Settings stjax cannot reproduce raise ValueError."""
  t = cfg["train"]
  c = ml_collections.ConfigDict()
  c.seed = int(cfg.get("seed", 0))
  c.data = ml_collections.ConfigDict({
      "pre_seq_length": cfg["pre_seq_length"],
      "aft_seq_length": cfg["aft_seq_length"]})
  if cfg.get("model") == "PredFormer":  # PredFormer's own models (AdamW)
    c.model = predformer.stjax_model_config(cfg)
  elif "model_type" in cfg:  # SimVP / TAU
    kind = translator_name(cfg["model_type"])
    if kind not in _SIMVP_NAMES:
      raise ValueError(f"model_type {cfg['model_type']!r}: stjax's SimVP has "
                       f"the translators {sorted(_SIMVP_NAMES)}.")
    c.model = ml_collections.ConfigDict({
        "name": _SIMVP_NAMES[kind], "hid_S": cfg["hid_S"], "hid_T": cfg["hid_T"],
        "N_S": cfg["N_S"], "N_T": cfg["N_T"],
        "spatio_kernel_enc": cfg["spatio_kernel"],
        "spatio_kernel_dec": cfg["spatio_kernel"],
        "mlp_ratio": cfg.get("mlp_ratio", 8.0),
        "drop_path": cfg.get("drop_path", 0.0),
        "stochastic_depth": not cfg.get("drop_path_disabled", False)})
  else:
    if cfg.get("stride", 1) != 1 and cfg["model"] not in e3dlstm.KINDS:
      raise ValueError(f"stride={cfg['stride']}: stjax's cells keep the state "
                       f"size, stride 1 only (E3D-LSTM's take a stride).")
    c.model = ml_collections.ConfigDict({
        "name": cfg["model"], "num_hidden": tuple(cfg["num_hidden"]),
        "filter_size": cfg["filter_size"], "patch_size": cfg["patch_size"],
        "layer_norm": bool(cfg["layer_norm"]), "remat": False,
        "legacy_openstl": False, "init_from": ""})
    if cfg["model"] in mau.KINDS:  # MAU's own keys (sr_size, tau, modes)
      c.model = mau.stjax_model_config(cfg)
    if cfg["model"] in e3dlstm.KINDS:
      c.model = e3dlstm.stjax_model_config(cfg)
    if cfg["model"] in phydnet.KINDS:
      c.model = phydnet.stjax_model_config(cfg)
    if cfg["model"] == "mim":
      c.model.stop_mim_s_gradient = bool(
          cfg.get("mim_mims_cell_detached_between_steps", True))
    s = cfg.get("sampling", {})
    c.sampling = ml_collections.ConfigDict({
        "scheduled_sampling": True, "sampling_start_value": 1.0,
        "sampling_changing_rate": 0.0, "sampling_stop_iter": 1,
        "reverse_scheduled_sampling": bool(cfg.get("reverse_scheduled_sampling", 0)),
        "r_sampling_step_1": s.get("r_sampling_step_1", 0),
        "r_sampling_step_2": s.get("r_sampling_step_2", 1),
        "r_exp_alpha": float(s.get("r_exp_alpha", 1.0))})
  loss = cfg.get("loss", {"mse": 1.0})
  c.loss = ml_collections.ConfigDict({
      "terms": ml_collections.ConfigDict({"mse": float(loss.get("mse", 1.0))})})
  if loss.get("ddr_alpha", 0):
    losses.add_ddr(c.loss, alpha=loss["ddr_alpha"],
                   tau=loss.get("ddr_tau", losses.DDR_TAU),
                   eps=loss.get("ddr_eps", losses.DDR_EPS))
  if "phydnet" in loss:  # PhyDNet's objective, computed by the model
    c.loss.terms = ml_collections.ConfigDict({"phydnet": float(loss["phydnet"])})
  if loss.get("mae", 0):  # E3D-LSTM's L1 term
    c.loss.terms.mae = float(loss["mae"])
  if loss.get("decouple_beta", 0):
    c.loss.terms.decouple = float(loss["decouple_beta"])
  c.optim = _optim_section(t)
  c.train = ml_collections.ConfigDict({"compute_dtype": "float32"})
  return c


def _optim_section(t: dict) -> ml_collections.ConfigDict:
  adam = t.get("adam", {})
  if (t.get("opt") not in ("adam", "adamw") or adam.get("amsgrad")
      or adam.get("maximize")
      or (t.get("opt") == "adamw") != bool(adam.get("decoupled_weight_decay"))):
    raise ValueError(f"optimizer {t.get('opt')!r} (amsgrad/maximize/decoupled "
                     f"{adam.get('amsgrad')}/{adam.get('maximize')}/"
                     f"{adam.get('decoupled_weight_decay')}): the check covers "
                     f"Adam with L2 decay and AdamW with decoupled decay.")
  if t.get("sched") != "onecycle" or t.get("three_phase") or (
      t.get("anneal_strategy", "cos") != "cos"):
    raise ValueError("the check covers OpenSTL's two-phase cosine one-cycle "
                     "schedule.")
  if t.get("clip_grad_applied"):
    raise ValueError("gradient clipping applied: the reference never hands "
                     "clip_grad to its trainer; no fixture should apply it.")
  if t.get("cycle_momentum", True) and (
      t.get("base_momentum", BASE_MOMENTUM) != BASE_MOMENTUM
      or t.get("max_momentum", MAX_MOMENTUM) != MAX_MOMENTUM):
    raise ValueError(f"momentum bounds {t.get('base_momentum')}/"
                     f"{t.get('max_momentum')}: stjax cycles beta1 between "
                     f"{BASE_MOMENTUM} and {MAX_MOMENTUM}, OneCycleLR's defaults.")
  return ml_collections.ConfigDict({
      "name": "adamw" if adam.get("decoupled_weight_decay") else "adam",
      "lr": float(t["max_lr"]), "schedule": "onecycle", "warmup_steps": 0,
      "pct_start": float(t["pct_start"]), "div_factor": float(t["div_factor"]),
      "final_div_factor": float(t["final_div_factor"]),
      "cycle_momentum": bool(t.get("cycle_momentum", True)),
      "b1": float(adam.get("beta1", 0.9)), "b2": float(adam.get("beta2", 0.999)),
      "eps": float(adam.get("eps", 1e-8)), "momentum": 0.9,
      "weight_decay": float(t.get("weight_decay", 0.0)),
      "filter_bias_and_bn": bool(t.get("filter_bias_and_bn", False)),
      "grad_clip": 0.0})


def _to_float64(model: nnx.Module) -> None:
  nnx.update(model, jax.tree.map(
      lambda x: x.astype(jnp.float64) if jnp.issubdtype(x.dtype, jnp.floating)
      else x, nnx.state(model)))


def _arrays(*states) -> dict[str, np.ndarray]:
  out = {}
  for state in states:
    out.update({k: np.asarray(v[...]) for k, v in flat_variables(state).items()})
  return out


def _worst(ours: dict, refs: dict, paths: dict, initial=None, ref_initial=None):
  """(largest relative error over the arrays, its reference name). With
  `initial`, compares changes from the initial values instead."""
  worst, name = 0.0, ""
  for ref_name, ref in refs.items():
    if ref_name not in paths:  # never read by the reference's forward pass
      continue
    path = paths[ref_name]
    ref = np.asarray(ref, np.float64)
    mine = ours[path]
    if initial is not None:
      ref, mine = ref - ref_initial[ref_name], mine - initial[path]
    err = relative_error(mine, torch_to_flax(ref, mine.shape, ref_name))
    if err >= worst:
      worst, name = err, ref_name
  return worst, name


def check_train_fixture(path) -> list[tuple[str, float, str]]:
  """[(quantity, relative error, note)] of one training fixture, in float64."""
  cfg, arrays = read_fixture(path)
  if "train/loss" not in arrays or "train" not in cfg:
    raise ValueError(f"{path} is not a training fixture (no train/loss); "
                     f"forward fixtures go to `check`.")
  config = openstl_config(cfg)
  get = lambda prefix: {k[len(prefix):]: v for k, v in arrays.items()
                        if k.startswith(prefix)}
  initial_ref, grad_ref = get("param/"), get("grad0/")
  steps = int(cfg["train"].get("iterations", len(arrays["train/loss"])))
  t_in, ch, h, w = cfg["in_shape"]
  with jax.enable_x64(True):
    model = build_model(config.model, in_shape=(t_in, h, w, ch),
                        out_frames=config.data.aft_seq_length, seed=config.seed)
    _to_float64(model)  # before the import: the weights keep their precision
    renames = (predformer.renames(config.model.layout)
               if cfg.get("model") == "PredFormer" else None)  # None: OpenSTL's
    if cfg.get("model") in mau.KINDS:
      renames = mau.RENAMES
    adapter = {"e3dlstm": e3dlstm, "phydnet": phydnet}.get(cfg.get("model"))
    if adapter is not None:  # its own names and layouts
      renames = adapter.RENAMES
      initial_ref, grad_ref = adapter.state_dict(initial_ref), adapter.state_dict(grad_ref)
      arrays = {**{k: v for k, v in arrays.items()
                   if not k.startswith(("after1/", "final/"))},
                **{f"{label}/{k}": v for label in ("after1", "final")
                   for k, v in adapter.state_dict(get(f"{label}/")).items()}}
    import_state_dict(model, initial_ref, renames)
    paths = reference_paths(model, initial_ref, renames)
    run = build_run(config, int(cfg["train"]["total_steps"]), model=model)
    state, sampling, train_step = run.state, run.sampling, run.train_step
    rows = [("decay groups", _decay_groups_error(cfg, state.params, paths),
             "which parameters decay")]
    gradient = jax.jit(run.gradient())
    initial = _arrays(state.params, state.model_state)
    after1 = None
    for k in range(steps):
      batch = {"inputs": jnp.asarray(nchw_to_nhwc(arrays["input/x"][k])),
               "targets": jnp.asarray(nchw_to_nhwc(arrays["input/y"][k]))}
      if sampling is not None:
        mask = np.asarray(arrays["input/mask"][k])[:, :, 0, 0, 0]
        batch["true_weight"] = jnp.asarray(weights_from_mask(
            mask, config.data.pre_seq_length,
            config.sampling.reverse_scheduled_sampling), jnp.float64)
      if k == 0:
        key = jax.random.fold_in(state.rng, state.step)
        _, grads = gradient(state.params, state.model_state, batch, key, state.step)
        err, name = _worst(_arrays(grads), grad_ref, paths)
        rows.append(("grad0", err, f"worst {name}"))
      state, metrics = train_step(state, batch)
      hyper = injected_hyperparams(state.opt_state)
      for label, ours, ref in (
          ("loss", metrics["loss"], arrays["train/loss"][k]),
          ("lr", hyper["learning_rate"], arrays["train/lr"][k]),
          ("beta1", hyper.get("b1", cfg["train"].get("max_momentum")),
           arrays["train/beta1"][k])):
        rows.append((f"step{k} {label}", relative_error(ours, ref), ""))
      if k == 0:
        after1 = _arrays(state.params, state.model_state)
    final = _arrays(state.params, state.model_state)
  for label, ours in (("after1", after1), ("final", final)):
    err, name = _worst(ours, get(f"{label}/"), paths, initial, initial_ref)
    rows.append((f"{label} change", err, f"worst {name}"))
  return rows


def _decay_groups_error(cfg, params, paths) -> float:
  """0 when stjax decays exactly the parameters the reference's groups do."""
  t = cfg["train"]
  wd = t.get("weight_decay", 0.0)
  if not wd:
    return 0.0
  mask = ({k: bool(v.get_value()) for k, v in flat_variables(decay_mask(params)).items()}
          if t.get("filter_bias_and_bn") else None)
  for group in t["param_groups"]:
    for name in group["params"]:
      if name not in paths or (mask is not None and paths[name] not in mask):
        continue  # unused by the forward pass: neither side updates it
      ours = wd if mask is None or mask[paths[name]] else 0.0
      if ours != group["weight_decay"]:
        return 1.0
  return 0.0


def report(paths_: list[str]) -> int:
  """Prints one line per quantity and fixture; 0 if all are within 1e-4."""
  print("precision: float64 (the fixtures' own); tolerance 1e-04 relative")
  worst = 0.0
  for path in paths_:
    rows = check_train_fixture(path)
    stem = pathlib.Path(path).stem
    for label, err, note in rows:
      verdict = "ok" if err <= TOLERANCE else "FAIL"
      print(f"{stem} {label} rel_err={err:.3e} {verdict}"
            + (f" ({note})" if note else ""))
      worst = max(worst, err)
  return 0 if worst <= TOLERANCE else 1
