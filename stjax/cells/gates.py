"""The gate convolution every cell is built from.

A bias-free convolution producing several gates at once, optionally followed by
a LayerNorm over the whole (H, W, C) map (the references' `layer_norm = 1`),
whose scale and bias are per element, shaped (H, W, C).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from stjax import layers

FORGET_BIAS = 1.0  # added to the forget gates of ST-LSTM, Causal LSTM and MIM


class LayerNorm(nnx.Module):
  """PyTorch's LayerNorm([C, H, W]): statistics over the whole map (the
  trailing len(shape) axes: (H, W, C), or E3D-LSTM's (H, W, D, C)), eps 1e-5."""

  def __init__(self, shape: tuple[int, ...]):
    self.scale = nnx.Param(jnp.ones(shape, jnp.float32))
    self.bias = nnx.Param(jnp.zeros(shape, jnp.float32))

  def __call__(self, x: jax.Array) -> jax.Array:
    xf = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    axes = tuple(range(-len(self.scale.shape), 0))
    mean = jnp.mean(xf, axis=axes, keepdims=True)
    var = jnp.mean(jnp.square(xf - mean), axis=axes, keepdims=True)
    y = (xf - mean) * jax.lax.rsqrt(var + 1e-5)
    return (y * self.scale[...] + self.bias[...]).astype(x.dtype)


class GateConv(nnx.Module):
  """conv ('same' padding; bias-free as OpenSTL unless `use_bias`, as the
  MS-RNN code's cells) [-> LayerNorm]."""

  def __init__(self, in_ch: int, out_ch: int, kernel: int, *,
               spatial: tuple[int, int], layer_norm: bool, rngs: nnx.Rngs,
               init: str = "torch", use_bias: bool = False):
    self.conv = layers.Conv(in_ch, out_ch, kernel, use_bias=use_bias, init=init,
                            rngs=rngs)
    self.norm = LayerNorm((*spatial, out_ch)) if layer_norm else None

  def __call__(self, x: jax.Array) -> jax.Array:
    y = self.conv(x)
    return y if self.norm is None else self.norm(y)


def split(y: jax.Array, n: int) -> list[jax.Array]:
  """The n gates of a concatenated gate conv, in channel order."""
  return jnp.split(y, n, axis=-1)


def zeros(batch: int, spatial: tuple[int, int], channels: int,
          dtype=jnp.float32) -> jax.Array:
  return jnp.zeros((batch, *spatial, channels), dtype)
