"""ConvLSTM (Shi et al. 2015, "Convolutional LSTM Network", Eq. 3)."""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from stjax.cells.gates import GateConv, split


class ConvLSTMCell(nnx.Module):
  """i, f, g, o = conv_x(x) + conv_h(h) (without the peepholes, as OpenSTL);

      c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
      h' = sigmoid(o) * tanh(c')

  No forget-gate bias, as the reference. `legacy=True` computes h' =
  sigmoid(o) * tanh(g) instead, the equation OpenSTL's released Moving MNIST
  weights were trained with (see README, "Importing OpenSTL weights").
  """

  def __init__(self, in_ch: int, hidden: int, *, spatial, filter_size: int,
               layer_norm: bool, rngs: nnx.Rngs, legacy: bool = False):
    kw = dict(spatial=spatial, layer_norm=layer_norm, rngs=rngs)
    self.hidden, self.legacy = hidden, legacy
    self.conv_x = GateConv(in_ch, 4 * hidden, filter_size, **kw)
    self.conv_h = GateConv(hidden, 4 * hidden, filter_size, **kw)

  def __call__(self, carry, x):
    h, c = carry
    i_x, f_x, g_x, o_x = split(self.conv_x(x), 4)
    i_h, f_h, g_h, o_h = split(self.conv_h(h), 4)
    i = jax.nn.sigmoid(i_x + i_h)
    f = jax.nn.sigmoid(f_x + f_h)
    g = jnp.tanh(g_x + g_h)
    c = f * c + i * g
    o = jax.nn.sigmoid(o_x + o_h)
    h = o * (g if self.legacy else jnp.tanh(c))
    return (h, c), h
