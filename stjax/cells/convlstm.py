"""ConvLSTM (Shi et al. 2015, "Convolutional LSTM Network", Eq. 3)."""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from stjax import layers
from stjax.cells.gates import GateConv, split


class ConvLSTMCell(nnx.Module):
  """i, f, g, o = conv_x(x) + conv_h(h) (without the peepholes, as OpenSTL);

      c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
      h' = sigmoid(o) * tanh(c')

  No forget-gate bias, as the reference, and bias-free convolutions unless
  `use_bias` (the MS-LSTM paper's code gives both convolutions one, which is
  what its ConvLSTM parameter count includes) or `input_bias` (one bias per
  gate, on the input convolution: Shi et al.'s b terms, the TMU code's cell). `legacy=True` computes h' =
  sigmoid(o) * tanh(g) instead, the equation OpenSTL's released Moving MNIST
  weights were trained with (docs/from_openstl.md: legacy_openstl).
  """

  def __init__(self, in_ch: int, hidden: int, *, spatial, filter_size: int,
               layer_norm: bool, rngs: nnx.Rngs, legacy: bool = False,
               use_bias: bool = False, input_bias: bool = False):
    kw = dict(spatial=spatial, layer_norm=layer_norm, rngs=rngs)
    self.hidden, self.legacy = hidden, legacy
    self.conv_x = GateConv(in_ch, 4 * hidden, filter_size,
                           use_bias=use_bias or input_bias, **kw)
    self.conv_h = GateConv(hidden, 4 * hidden, filter_size, use_bias=use_bias, **kw)

  def __call__(self, carry, x, transfer=None):
    """`transfer(c', x, h) -> c'`, if given, rewrites the new memory before the
    output is read from it (TMU, stjax.cells.tmu)."""
    h, c = carry
    if self.conv_x.norm is None:  # one matmul for both (no LayerNorm between)
      gates = layers.conv_sum([self.conv_x.conv, self.conv_h.conv], [x, h])
    else:
      gates = self.conv_x(x) + self.conv_h(h)
    i, f, g, o = split(gates, 4)
    i, f, g, o = jax.nn.sigmoid(i), jax.nn.sigmoid(f), jnp.tanh(g), jax.nn.sigmoid(o)
    c = f * c + i * g
    if transfer is not None:
      c = transfer(c, x, h)
    h = o * (g if self.legacy else jnp.tanh(c))
    return (h, c), h
