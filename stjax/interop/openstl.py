"""Import OpenSTL (PyTorch) weights into stjax models, and check parity.

    python -m stjax.interop.openstl check PATH.npz
    python -m stjax.interop.openstl check-train PATH.npz   (openstl_train.py)

`check` reads a forward parity fixture (PATH.npz with its PATH.json configuration), builds the
matching stjax model from the configuration alone, imports the reference
weights, runs it and prints the relative error max|ours - ref| / max|ref| of
every output, one per line; it exits non-zero when any exceeds 1e-4.

The same `import_state_dict` brings a user's OpenSTL checkpoint into stjax
(`load_torch_state_dict` reads a .pth file when PyTorch is installed).
"""
from __future__ import annotations

import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from stjax import losses
from stjax.interop import openstl_train
from stjax.interop.fixtures import (TOLERANCE, mask_weights, nchw_to_nhwc, read_fixture,
                                    relative_error)
from stjax.interop.weights import (STACKS, import_state_dict,
                                   load_torch_state_dict)
from stjax.models.recurrent import RecurrentNet, patchify
from stjax.models.simvp import SimVP

__all__ = ["STACKS", "TOLERANCE", "check_fixture", "import_state_dict",
           "load_torch_state_dict", "main", "model_from_config", "read_fixture",
           "relative_error"]


def _simvp_from_config(cfg) -> SimVP:
  t, c, h, w = cfg["in_shape"]
  return SimVP(in_shape=(t, h, w, c), out_frames=cfg.get("aft_seq_length", t),
               hid_S=cfg["hid_S"], hid_T=cfg["hid_T"], N_S=cfg["N_S"],
               N_T=cfg["N_T"], translator=cfg["model_type"],
               spatio_kernel_enc=cfg["spatio_kernel"],
               spatio_kernel_dec=cfg["spatio_kernel"],
               mlp_ratio=cfg.get("mlp_ratio", 8.0), rngs=nnx.Rngs(0))


def _check_simvp(cfg, arrays) -> dict[str, float]:
  model = _simvp_from_config(cfg)
  params = {k.removeprefix("param/"): v for k, v in arrays.items()
            if k.startswith("param/")}
  import_state_dict(model, params)
  x = jnp.asarray(nchw_to_nhwc(arrays["input/x"]), jnp.float32)
  y = jnp.asarray(nchw_to_nhwc(arrays["input/y"]), jnp.float32)
  pred = jax.jit(lambda m, x: m(x))(model, x)
  ddr = cfg.get("ddr", {})
  ours = {
      "pred_y": np.asarray(pred),
      "mse_loss": float(losses.mse(pred, y)),
      "ddr_loss": float(losses.differential_divergence(
          pred, y, tau=ddr.get("tau", 0.1), eps=ddr.get("eps", 1e-12))),
  }
  refs = {"pred_y": nchw_to_nhwc(arrays["output/pred_y"]),
          "mse_loss": arrays["output/mse_loss"],
          "ddr_loss": arrays["output/ddr_loss"]}
  return {k: relative_error(ours[k], refs[k]) for k in refs}


def _recurrent_from_config(cfg) -> RecurrentNet:
  t, c, h, w = cfg["in_shape"]
  if cfg.get("stride", 1) != 1:
    raise ValueError(f"stride={cfg['stride']}: stjax's cells keep the state "
                     f"size, stride 1 only.")
  return STACKS[cfg["model"]](
      in_shape=(cfg["pre_seq_length"], h, w, c),
      out_frames=cfg["aft_seq_length"], num_hidden=cfg["num_hidden"],
      filter_size=cfg["filter_size"], patch_size=cfg["patch_size"],
      layer_norm=bool(cfg["layer_norm"]), rngs=nnx.Rngs(0))


def _check_recurrent(cfg, arrays) -> dict[str, float]:
  model = _recurrent_from_config(cfg)
  import_state_dict(model, {k.removeprefix("param/"): v for k, v in arrays.items()
                            if k.startswith("param/")})
  frames = jnp.asarray(nchw_to_nhwc(arrays["input/frames"]), jnp.float32)
  p = cfg["patch_size"]
  beta = cfg.get("decouple_beta", 0.1)
  rollout = jax.jit(lambda m, f, w: m.rollout(f, w))
  errors = {"frames_patched": relative_error(patchify(frames, p),
                                             arrays["input/frames_patched"])}
  for tag in ("zeros", "random"):
    weights = mask_weights(cfg, arrays, tag)
    preds, aux = rollout(model, frames, weights)
    loss = losses.mse(preds, frames[:, 1:]) + beta * aux.get("decouple", 0.0)
    errors[f"next_frames_{tag}"] = relative_error(
        patchify(preds, p), arrays[f"output/next_frames_{tag}"])
    errors[f"loss_{tag}"] = relative_error(loss, arrays[f"output/loss_{tag}"])
  return errors


def model_from_config(cfg: dict):
  """The stjax model of an OpenSTL configuration in the parity fixtures'
  .json form: "model" "SimVP" (with "model_type", "hid_S", "hid_T", "N_S",
  "N_T", "spatio_kernel", "in_shape" [T, C, H, W]) or a recurrent model
  name (with "num_hidden", "filter_size", "patch_size", "layer_norm",
  "pre_seq_length", "aft_seq_length")."""
  model = cfg.get("model", "")
  if model == "SimVP":
    return _simvp_from_config(cfg)
  if model in STACKS:
    return _recurrent_from_config(cfg)
  raise ValueError(f"OpenSTL model {model!r} is not supported by the importer "
                   f"(supported: SimVP with any of its translators; "
                   f"{', '.join(STACKS)}).")


def check_fixture(path) -> dict[str, float]:
  """Relative error of every output of one fixture."""
  cfg, arrays = read_fixture(path)
  model = cfg.get("model", "")
  # Full float32 matmuls: TF32 on GPUs would blur a 1e-4 comparison.
  with jax.default_matmul_precision("highest"):
    if model == "SimVP":
      return _check_simvp(cfg, arrays)
    if model in STACKS:
      return _check_recurrent(cfg, arrays)
  raise ValueError(f"{path}: model {model!r} is not supported by the importer "
                   f"(supported: SimVP with any of its translators; "
                   f"{', '.join(STACKS)}).")


_USAGE = ("usage: python -m stjax.interop.openstl check|check-train PATH.npz "
          "[PATH.npz ...]")


def main(argv: list[str]) -> int:
  """`check` (forward fixtures) or `check-train` (training fixtures)."""
  if len(argv) < 2 or argv[0] not in ("check", "check-train"):
    print(_USAGE, file=sys.stderr)
    return 2
  try:
    if argv[0] == "check-train":
      return openstl_train.report(argv[1:])
    worst = 0.0
    for path in argv[1:]:
      for name, err in check_fixture(path).items():
        verdict = "ok" if err <= TOLERANCE else "FAIL"
        print(f"{pathlib.Path(path).stem} {name} rel_err={err:.3e} {verdict}")
        worst = max(worst, err)
    return 0 if worst <= TOLERANCE else 1
  except (ValueError, FileNotFoundError, KeyError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 1


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
