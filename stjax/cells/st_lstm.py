"""The spatiotemporal LSTM of PredRNN (Wang et al. 2017, Eq. 3) and PredRNN-V2."""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from stjax.cells.gates import FORGET_BIAS, GateConv, split
from stjax import layers


class STLSTMCell(nnx.Module):
  """ST-LSTM: a temporal memory c and a spatiotemporal memory m.

      c' = f * c + i * g            (i, f, g from x and h)
      m' = f' * m + i' * g'         (i', f', g' from x and m)
      o  = sigmoid(o_x + o_h + conv_o([c', m']))
      h' = o * tanh(conv_1x1([c', m']))

  The forget gates carry a +1 bias. `m` enters from the layer below (or from
  the top layer at the previous step): the network routes it, the cell only
  updates it. `step` also returns the memory increments (i * g, i' * g') that
  PredRNN-V2's decoupling loss compares.
  """

  def __init__(self, in_ch: int, hidden: int, *, spatial, filter_size: int,
               layer_norm: bool, rngs: nnx.Rngs):
    kw = dict(spatial=spatial, layer_norm=layer_norm, rngs=rngs)
    self.hidden = hidden
    self.conv_x = GateConv(in_ch, 7 * hidden, filter_size, **kw)
    self.conv_h = GateConv(hidden, 4 * hidden, filter_size, **kw)
    self.conv_m = GateConv(hidden, 3 * hidden, filter_size, **kw)
    self.conv_o = GateConv(2 * hidden, hidden, filter_size, **kw)
    self.conv_last = layers.Conv(2 * hidden, hidden, 1, use_bias=False, rngs=rngs)

  def step(self, carry, x, transfer=None):
    """((h, c, m), x) -> ((h', c', m'), h', (delta_c, delta_m)).

    `transfer(c', x, h) -> c'`, if given, rewrites the new temporal memory
    before the output is read from it (TMU, stjax.cells.tmu)."""
    h, c, m = carry
    i_x, f_x, g_x, i_xm, f_xm, g_xm, o_x = split(self.conv_x(x), 7)
    i_h, f_h, g_h, o_h = split(self.conv_h(h), 4)
    i_m, f_m, g_m = split(self.conv_m(m), 3)
    delta_c = jax.nn.sigmoid(i_x + i_h) * jnp.tanh(g_x + g_h)
    c = jax.nn.sigmoid(f_x + f_h + FORGET_BIAS) * c + delta_c
    delta_m = jax.nn.sigmoid(i_xm + i_m) * jnp.tanh(g_xm + g_m)
    m = jax.nn.sigmoid(f_xm + f_m + FORGET_BIAS) * m + delta_m
    if transfer is not None:
      c = transfer(c, x, h)
    mem = jnp.concatenate([c, m], axis=-1)
    o = jax.nn.sigmoid(o_x + o_h + self.conv_o(mem))
    h = o * jnp.tanh(self.conv_last(mem))
    return (h, c, m), h, (delta_c, delta_m)

  def __call__(self, carry, x):
    carry, h, _ = self.step(carry, x)
    return carry, h
