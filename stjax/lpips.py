"""LPIPS (Zhang et al. 2018), the AlexNet variant, in JAX: the perceptual
distance OpenSTL's KTH, Human3.6M and KITTI -> Caltech tables and the SimVP
paper's Table 6 report, with inputs mapped from [0, 1] to [-1, 1].

    d(x, y) = sum_l mean_hw( w_l . (f_l(x)/|f_l(x)| - f_l(y)/|f_l(y)|)^2 )

over the five ReLU outputs f_l of AlexNet's convolutions (after the
package's input scaling), each unit-normalised along channels (eps 1e-10),
weighed per channel by the linear layer w_l (1x1, no bias) and averaged
over the map. Frames with one channel are repeated to three.

Weights: AlexNet's backbone cannot be downloaded here, so the user supplies
one .npz (`eval.lpips_weights`) made where torchvision and the `lpips`
package are installed, by experiments/export_lpips_weights.py: `conv<k>.weight`
(O, I, kH, kW) and `conv<k>.bias` for k = 1..5 (torchvision's AlexNet
features) and `lin<l>.weight` (1, C, 1, 1) for l = 0..4 (lpips'
weights/v0.1/alex.pth).
"""
from __future__ import annotations

import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from stjax.errors import ConfigError

SHIFT = np.array([-.030, -.088, -.188], np.float32)
SCALE = np.array([.458, .448, .450], np.float32)
# (stride, padding) of AlexNet's five convolutions; max pooling (3, stride 2)
# comes before conv2 and conv3.
_CONVS = ((4, 2), (1, 2), (1, 1), (1, 1), (1, 1))
HOW_TO = ("make one with experiments/export_lpips_weights.py where torchvision "
          "and the lpips package are installed (docs/training.md: Metrics)")


@functools.lru_cache(maxsize=4)
def load_weights(path: str) -> dict:
  """The weights file as {name: array} in stjax's layouts (HWIO kernels)."""
  p = pathlib.Path(path)
  if not path:
    raise ConfigError(f"LPIPS needs AlexNet weights: set eval.lpips_weights="
                      f"PATH; {HOW_TO}.")
  if not p.is_file():
    raise ConfigError(f"eval.lpips_weights={path} does not exist; {HOW_TO}.")
  with np.load(p) as f:
    names = set(f.files)
    want = {f"conv{k}.{w}" for k in range(1, 6) for w in ("weight", "bias")} | {
        f"lin{l}.weight" for l in range(5)}
    if not want <= names:
      raise ConfigError(f"{path} lacks {sorted(want - names)[:3]}; {HOW_TO}.")
    out = {}
    for k in range(1, 6):
      out[f"conv{k}.kernel"] = f[f"conv{k}.weight"].astype(np.float32).transpose(2, 3, 1, 0)
      out[f"conv{k}.bias"] = f[f"conv{k}.bias"].astype(np.float32)
    for l in range(5):
      out[f"lin{l}"] = f[f"lin{l}.weight"].astype(np.float32).reshape(-1)
  return out


def _max_pool(x):
  return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 3, 3, 1),
                               (1, 2, 2, 1), "VALID")


def features(x, w) -> list[jax.Array]:
  """(N, H, W, 3) scaled inputs -> the five ReLU feature maps."""
  out = []
  for k, (stride, pad) in enumerate(_CONVS, 1):
    if k in (2, 3):
      x = _max_pool(x)
    x = jax.lax.conv_general_dilated(
        x, w[f"conv{k}.kernel"], (stride, stride), [(pad, pad)] * 2,
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        precision=jax.lax.Precision.HIGHEST)
    x = jax.nn.relu(x + w[f"conv{k}.bias"])
    out.append(x)
  return out


def distance(x, y, weights: dict) -> jax.Array:
  """(N, H, W, C) frames in [0, 1] -> (N,) LPIPS distances."""
  if x.shape[-1] == 1:
    x, y = jnp.repeat(x, 3, -1), jnp.repeat(y, 3, -1)
  scale = lambda v: ((2 * v - 1) - SHIFT) / SCALE
  total = 0.0
  for l, (fx, fy) in enumerate(zip(features(scale(x), weights),
                                   features(scale(y), weights))):
    nx = fx / (jnp.sqrt(jnp.sum(fx ** 2, -1, keepdims=True)) + 1e-10)
    ny = fy / (jnp.sqrt(jnp.sum(fy ** 2, -1, keepdims=True)) + 1e-10)
    total = total + jnp.mean(jnp.sum((nx - ny) ** 2 * weights[f"lin{l}"], -1),
                             axis=(1, 2))
  return total
