"""OpenSTL (PyTorch) weights in stjax models: names, layouts, import.

`import_state_dict(model, state_dict)` loads a reference state_dict into a
stjax model built with the same configuration; `load_torch_state_dict` reads
a .pth file when PyTorch is installed.
"""
from __future__ import annotations

import re

import jax.numpy as jnp
import numpy as np
from flax import nnx

from stjax.models.recurrent import STACKS, RecurrentNet


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
# Buffers computed from the configuration (Swin's relative-position index
# and its shifted-window mask, which OpenSTL builds but never applies).
_SKIPPED = ("num_batches_tracked", "relative_position_index", "attn_mask")
# Tensors whose layout is the same in both (Swin's (positions, heads) table).
_AS_IS = ("relative_position_bias_table",)


def _torch_to_flax(value: np.ndarray) -> np.ndarray:
  if value.ndim == 4:  # conv (O, I/groups, kH, kW) -> (kH, kW, I/groups, O)
    return value.transpose(2, 3, 1, 0)
  if value.ndim == 3:  # per-element (C, H, W): LayerNorm, MIM peepholes
    return value.transpose(1, 2, 0)
  if value.ndim == 2:  # Linear (out, in) -> (in, out)
    return value.T
  return value


def reference_paths(model: nnx.Module, names, renames=None,
                    unused: str | None = None) -> dict[str, str]:
  """Reference tensor name -> stjax variable path, for every name the model
  has a place for; tensors the reference never reads (and
  num_batches_tracked) are left out. An unknown name raises, naming it.
  `renames` ((pattern, replacement), ...) name another reference's scheme
  (stjax.interop.mslstm); by default OpenSTL's, chosen by the model's type."""
  if renames is not None:
    pass
  elif isinstance(model, RecurrentNet):
    if type(model) not in STACKS.values():
      raise ValueError(f"OpenSTL has no {type(model).__name__}; there are no "
                       f"weights of it to import.")
    renames = _RECURRENT_RENAMES
    unused = _RECURRENT_UNUSED.get(type(model).__name__)
  else:
    renames, unused = _SIMVP_RENAMES, None
  targets = set(flat_variables(model))
  out = {}
  for name in names:
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
    out[name] = found[0]
  return out


def flat_variables(model_or_state) -> dict:
  """'a.b.kernel' -> variable, for a module or an nnx.State."""
  state = (nnx.split(model_or_state)[1]
           if isinstance(model_or_state, nnx.Module) else model_or_state)
  return {".".join(map(str, path)): var for path, var in nnx.to_flat_state(state)}


def torch_to_flax(value, shape=None, name: str = "") -> np.ndarray:
  """A reference tensor in stjax's layout. With the stjax `shape`, a
  per-channel (1, C, 1, 1) scale becomes (1, 1, 1, C); a tensor `name`d in
  _AS_IS keeps its layout."""
  value = np.asarray(value)
  if name.rsplit(".", 1)[-1] in _AS_IS:
    return value
  if (shape is not None and value.ndim == 4 and value.shape[0] == 1
      and value.shape[2:] == (1, 1) and tuple(shape) == (1, 1, 1, value.shape[1])):
    return value.transpose(0, 2, 3, 1)
  return _torch_to_flax(value)


def import_state_dict(model: nnx.Module, state_dict: dict[str, np.ndarray],
                      renames=None) -> None:
  """Loads a PyTorch state_dict into `model` in place.

  Every stjax parameter and statistic must be set exactly once with a matching
  shape, and every reference tensor must find a home; anything else raises,
  naming the tensor, so a wrong configuration can't import silently.
  """
  paths = reference_paths(model, state_dict, renames)
  _, state = nnx.split(model)
  targets = flat_variables(state)
  for name, path in paths.items():
    var = targets[path]
    value = torch_to_flax(state_dict[name], var.shape, name)
    if value.shape != var.shape:
      raise ValueError(f"Reference tensor {name!r} has shape {value.shape} "
                       f"(after layout change) but stjax {path!r} has "
                       f"{var.shape}; the configuration does not match.")
    var.set_value(jnp.asarray(value, var.dtype))
  missing = sorted(set(targets) - set(paths.values()))
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
