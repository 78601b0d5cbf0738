"""Small building blocks shared by the models (NHWC throughout).

Padding is given explicitly, the way the reference PyTorch code pads, so that a
stride-2 convolution lands on the same pixels as OpenSTL's and imported weights
reproduce its outputs exactly.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx


def conv(in_ch: int, out_ch: int, kernel: int, *, rngs: nnx.Rngs, stride: int = 1,
         padding: int | None = None, dilation: int = 1, groups: int = 1,
         use_bias: bool = True) -> nnx.Conv:
  """A 2-D convolution with PyTorch-style symmetric integer padding."""
  pad = kernel // 2 * dilation if padding is None else padding
  return nnx.Conv(in_ch, out_ch, (kernel, kernel), strides=stride,
                  padding=((pad, pad), (pad, pad)), kernel_dilation=dilation,
                  feature_group_count=groups, use_bias=use_bias, rngs=rngs)


def group_norm(channels: int, groups: int, *, rngs: nnx.Rngs) -> nnx.GroupNorm:
  # PyTorch's GroupNorm epsilon, so imported models match.
  return nnx.GroupNorm(channels, num_groups=groups, epsilon=1e-5, rngs=rngs)


def batch_norm(channels: int, *, rngs: nnx.Rngs) -> nnx.BatchNorm:
  # PyTorch momentum 0.1 is Flax momentum 0.9.
  return nnx.BatchNorm(channels, momentum=0.9, epsilon=1e-5, rngs=rngs)


def pixel_shuffle(x: jax.Array, factor: int) -> jax.Array:
  """NHWC PixelShuffle with PyTorch's channel order (c * r * r + i * r + j)."""
  b, h, w, c = x.shape
  out_c = c // (factor * factor)
  x = x.reshape(b, h, w, out_c, factor, factor)
  x = x.transpose(0, 1, 4, 2, 5, 3)
  return x.reshape(b, h * factor, w * factor, out_c)


def drop_path(x: jax.Array, rate: float, key: jax.Array | None) -> jax.Array:
  """Stochastic depth: drops the whole residual branch per sample.

  `key` None means evaluation (identity), matching timm's DropPath.
  """
  if key is None or rate <= 0.0:
    return x
  keep = 1.0 - rate
  mask = jax.random.bernoulli(key, keep, (x.shape[0],) + (1,) * (x.ndim - 1))
  return jnp.where(mask, x / keep, 0.0).astype(x.dtype)


def gelu(x: jax.Array) -> jax.Array:
  # The exact (erf) GELU, as torch.nn.GELU() computes it.
  return jax.nn.gelu(x, approximate=False)


def split_key(key: jax.Array | None, n: int) -> list[jax.Array | None]:
  """n keys from one, or n Nones in evaluation mode."""
  if key is None:
    return [None] * n
  return list(jax.random.split(key, n))
