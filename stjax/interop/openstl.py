"""Import OpenSTL (PyTorch) weights into stjax models, and check parity.

    python -m stjax.interop.openstl check PATH.npz

reads a parity fixture (PATH.npz with its PATH.json configuration), builds the
matching stjax model from the configuration alone, imports the reference
weights, runs it and prints the relative error max|ours - ref| / max|ref| of
every output, one per line; it exits non-zero when any exceeds 1e-4.

The same `import_state_dict` brings a user's OpenSTL checkpoint into stjax
(`load_torch_state_dict` reads a .pth file when PyTorch is installed).
"""
from __future__ import annotations

import json
import pathlib
import re
import sys

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from stjax import losses
from stjax.models import RECURRENT

# The recurrent models OpenSTL implements (MS-LSTM is not among them).
OPENSTL_RECURRENT = {k: v for k, v in RECURRENT.items() if k != "mslstm"}
from stjax.models.recurrent import RecurrentNet, patchify
from stjax.models.simvp import SimVP
from stjax.train.sampling import weights_from_mask

TOLERANCE = 1e-4

# Reference parameter names -> stjax module paths, applied in order.
_SIMVP_RENAMES = (
    (r"^enc\.enc\.(\d+)\.conv\.", r"enc.layers.\1."),
    (r"^dec\.dec\.(\d+)\.conv\.", r"dec.layers.\1."),
    (r"\.conv\.0\.(weight|bias)$", r".conv.\1"),  # upsampling conv + PixelShuffle
    (r"^hid\.enc\.(\d+)\.block\.", r"hid.blocks.\1."),
    (r"^hid\.enc\.(\d+)\.reduction\.", r"hid.blocks.\1.reduction."),
    (r"\.spatial_gating_unit\.", ".gate."),
    (r"\.gate\.fc\.0\.", ".gate.fc1."),
    (r"\.gate\.fc\.2\.", ".gate.fc2."),
    (r"\.mlp\.dwconv\.dwconv\.", ".mlp.dwconv."),
)
_RECURRENT_RENAMES = (
    (r"^cell_list\.", "cells."),
    (r"^stlstm_layer\.", "cells."),          # MIM's ST-LSTM and MIM blocks
    (r"^stlstm_layer_diff\.", "mim_n."),     # MIM-N
    (r"^gradient_highway\.", "ghu."),
    # A MIM block's own MIM-S parameters sit at the block's top level there.
    (r"^cells\.(\d+)\.(conv_h_concat|conv_x_concat|ct_weight|oc_weight)",
     r"cells.\1.mim_s.\2"),
    (r"\.(\w+)\.0\.weight$", r".\1.conv.weight"),   # nn.Sequential(conv, LayerNorm)
    (r"\.(\w+)\.1\.(weight|bias)$", r".\1.norm.\2"),
)
# Reference tensors its forward pass never reads, so stjax has no place for them.
_RECURRENT_UNUSED = {
    "ConvLSTM": r"^cell_list\.\d+\.(conv_o|conv_last)\.",
    "PredRNNpp": r"^cell_list\.\d+\.conv_o\.",
    "MIM": r"^stlstm_layer_diff\.\d+\.conv_last\.",
}
_LEAF_RENAMES = {"running_mean": ("mean",), "running_var": ("var",),
                 "weight": ("kernel", "scale"), "bias": ("bias",)}
_SKIPPED = ("num_batches_tracked",)


def _torch_to_flax(value: np.ndarray) -> np.ndarray:
  if value.ndim == 4:  # conv (O, I/groups, kH, kW) -> (kH, kW, I/groups, O)
    return value.transpose(2, 3, 1, 0)
  if value.ndim == 3:  # per-element (C, H, W): LayerNorm, MIM peepholes
    return value.transpose(1, 2, 0)
  if value.ndim == 2:  # Linear (out, in) -> (in, out)
    return value.T
  return value


def import_state_dict(model: nnx.Module, state_dict: dict[str, np.ndarray]) -> None:
  """Loads a PyTorch state_dict into `model` in place.

  Every stjax parameter and statistic must be set exactly once with a matching
  shape, and every reference tensor must find a home; anything else raises,
  naming the tensor, so a wrong configuration can't import silently.
  """
  if isinstance(model, RecurrentNet):
    if type(model) not in OPENSTL_RECURRENT.values():
      raise ValueError(f"OpenSTL has no {type(model).__name__}; there are no "
                       f"weights of it to import.")
    renames = _RECURRENT_RENAMES
    unused = _RECURRENT_UNUSED.get(type(model).__name__)
  else:
    renames, unused = _SIMVP_RENAMES, None
  _, state = nnx.split(model)
  targets = {".".join(map(str, path)): var
             for path, var in nnx.to_flat_state(state)}
  filled = set()
  for name, value in state_dict.items():
    if name.rsplit(".", 1)[-1] in _SKIPPED or (unused and re.match(unused, name)):
      continue
    path = name
    for pattern, repl in renames:
      path = re.sub(pattern, repl, path)
    stem, leaf = path.rsplit(".", 1)
    candidates = [f"{stem}.{new}" for new in _LEAF_RENAMES.get(leaf, (leaf,))]
    found = [c for c in candidates if c in targets]
    if not found:
      raise ValueError(f"Reference tensor {name!r} has no counterpart in the "
                       f"stjax model (looked for {candidates}); the "
                       f"configuration does not match the checkpoint.")
    var = targets[found[0]]
    value = _torch_to_flax(np.asarray(value))
    if value.shape != var.shape:
      raise ValueError(f"Reference tensor {name!r} has shape {value.shape} "
                       f"(after layout change) but stjax {found[0]!r} has "
                       f"{var.shape}; the configuration does not match.")
    var.set_value(jnp.asarray(value, var.dtype))
    filled.add(found[0])
  missing = sorted(set(targets) - filled)
  if missing:
    raise ValueError(f"The checkpoint does not set {len(missing)} stjax "
                     f"tensors, e.g. {missing[:3]}.")
  nnx.update(model, state)


def load_torch_state_dict(path: str) -> dict[str, np.ndarray]:
  """Reads an OpenSTL .pth checkpoint into numpy arrays (needs PyTorch)."""
  try:
    import torch  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise ImportError(f"Reading {path} needs PyTorch: pip install torch "
                      f"(CPU build is enough).") from e
  ckpt = torch.load(path, map_location="cpu", weights_only=True)
  ckpt = ckpt.get("state_dict", ckpt)
  return {k.removeprefix("model."): v.detach().double().numpy()
          for k, v in ckpt.items()}


# ----------------------------------------------------------- fixtures ----

def read_fixture(path: str | pathlib.Path):
  """(config, arrays) of a fixture NAME.npz with its NAME.json beside it."""
  path = pathlib.Path(path)
  cfg_path = path.with_suffix(".json")
  if not path.is_file():
    raise FileNotFoundError(f"No fixture at {path}: expected NAME.npz with "
                            f"NAME.json beside it.")
  if not cfg_path.is_file():
    raise FileNotFoundError(f"Fixture {path} has no configuration {cfg_path}.")
  cfg = json.loads(cfg_path.read_text())
  with np.load(path) as data:
    arrays = {k: data[k] for k in data.files}
  return cfg, arrays


def _nchw_to_nhwc(x):
  return np.asarray(x).transpose(0, 1, 3, 4, 2)


def _simvp_from_config(cfg) -> SimVP:
  t, c, h, w = cfg["in_shape"]
  return SimVP(in_shape=(t, h, w, c), out_frames=cfg.get("aft_seq_length", t),
               hid_S=cfg["hid_S"], hid_T=cfg["hid_T"], N_S=cfg["N_S"],
               N_T=cfg["N_T"], translator=cfg["model_type"],
               spatio_kernel_enc=cfg["spatio_kernel"],
               spatio_kernel_dec=cfg["spatio_kernel"], rngs=nnx.Rngs(0))


def _check_simvp(cfg, arrays) -> dict[str, float]:
  model = _simvp_from_config(cfg)
  params = {k.removeprefix("param/"): v for k, v in arrays.items()
            if k.startswith("param/")}
  import_state_dict(model, params)
  x = jnp.asarray(_nchw_to_nhwc(arrays["input/x"]), jnp.float32)
  y = jnp.asarray(_nchw_to_nhwc(arrays["input/y"]), jnp.float32)
  pred = jax.jit(lambda m, x: m(x))(model, x)
  ddr = cfg.get("ddr", {})
  ours = {
      "pred_y": np.asarray(pred),
      "mse_loss": float(losses.mse(pred, y)),
      "ddr_loss": float(losses.differential_divergence(
          pred, y, tau=ddr.get("tau", 0.1), eps=ddr.get("eps", 1e-12))),
  }
  refs = {"pred_y": _nchw_to_nhwc(arrays["output/pred_y"]),
          "mse_loss": arrays["output/mse_loss"],
          "ddr_loss": arrays["output/ddr_loss"]}
  return {k: relative_error(ours[k], refs[k]) for k in refs}


def _recurrent_from_config(cfg) -> RecurrentNet:
  t, c, h, w = cfg["in_shape"]
  if cfg.get("stride", 1) != 1:
    raise ValueError(f"stride={cfg['stride']}: stjax's cells keep the state "
                     f"size, stride 1 only.")
  return OPENSTL_RECURRENT[cfg["model"]](
      in_shape=(cfg["pre_seq_length"], h, w, c),
      out_frames=cfg["aft_seq_length"], num_hidden=cfg["num_hidden"],
      filter_size=cfg["filter_size"], patch_size=cfg["patch_size"],
      layer_norm=bool(cfg["layer_norm"]), rngs=nnx.Rngs(0))


def _check_recurrent(cfg, arrays) -> dict[str, float]:
  model = _recurrent_from_config(cfg)
  import_state_dict(model, {k.removeprefix("param/"): v for k, v in arrays.items()
                            if k.startswith("param/")})
  frames = jnp.asarray(_nchw_to_nhwc(arrays["input/frames"]), jnp.float32)
  p, pre = cfg["patch_size"], cfg["pre_seq_length"]
  beta = cfg.get("decouple_beta", 0.1)
  rollout = jax.jit(lambda m, f, w: m.rollout(f, w))
  errors = {"frames_patched": relative_error(patchify(frames, p),
                                             arrays["input/frames_patched"])}
  for tag in ("zeros", "random"):
    mask = np.asarray(arrays[f"output/mask_{tag}"])
    per_step = mask[:, :, :1, :1, :1]
    if not np.all(mask == per_step):
      raise ValueError(f"mask_{tag} varies within a frame; stjax's true-frame "
                       f"weights are per sequence and step.")
    weights = weights_from_mask(per_step[:, :, 0, 0, 0], pre,
                                bool(cfg.get("reverse_scheduled_sampling", 0)))
    preds, aux = rollout(model, frames, weights)
    loss = losses.mse(preds, frames[:, 1:]) + beta * aux.get("decouple", 0.0)
    errors[f"next_frames_{tag}"] = relative_error(
        patchify(preds, p), arrays[f"output/next_frames_{tag}"])
    errors[f"loss_{tag}"] = relative_error(loss, arrays[f"output/loss_{tag}"])
  return errors


def relative_error(ours, ref) -> float:
  ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
  if ours.shape != ref.shape:
    raise ValueError(f"Output shape {ours.shape} differs from the reference "
                     f"{ref.shape}.")
  scale = np.max(np.abs(ref))
  err = np.max(np.abs(ours - ref))
  return float(err / scale) if scale > 0 else float(err)


def check_fixture(path) -> dict[str, float]:
  """Relative error of every output of one fixture."""
  cfg, arrays = read_fixture(path)
  model = cfg.get("model", "")
  # Full float32 matmuls: TF32 on GPUs would blur a 1e-4 comparison.
  with jax.default_matmul_precision("highest"):
    if model == "SimVP":
      return _check_simvp(cfg, arrays)
    if model in OPENSTL_RECURRENT:
      return _check_recurrent(cfg, arrays)
  raise ValueError(f"{path}: model {model!r} is not supported by the importer "
                   f"(supported: SimVP with IncepU, gSTA, TAU; "
                   f"{', '.join(OPENSTL_RECURRENT)}).")


def main(argv: list[str]) -> int:
  if len(argv) < 2 or argv[0] != "check":
    print("usage: python -m stjax.interop.openstl check PATH.npz [PATH.npz ...]",
          file=sys.stderr)
    return 2
  worst = 0.0
  for path in argv[1:]:
    try:
      errors = check_fixture(path)
    except (ValueError, FileNotFoundError, KeyError) as e:
      print(f"{path}: error: {e}", file=sys.stderr)
      return 1
    for name, err in errors.items():
      verdict = "ok" if err <= TOLERANCE else "FAIL"
      print(f"{pathlib.Path(path).stem} {name} rel_err={err:.3e} {verdict}")
      worst = max(worst, err)
  return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
