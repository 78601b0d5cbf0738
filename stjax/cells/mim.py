"""Memory In Memory (Wang et al. 2019, "Memory In Memory", Eqs. 5-7)."""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from stjax.cells.gates import FORGET_BIAS, GateConv, split
from stjax import layers


class MIMCell(nnx.Module):
  """The LSTM used for both MIM-N (non-stationary) and MIM-S (stationary).

      i, g, f, o = conv_x(x) + conv_h(h) (+ w_i * c, w_f * c on i and f)
      c' = sigmoid(f + 1) * c + sigmoid(i) * tanh(g)
      h' = sigmoid(o + w_o * c') * tanh(c')

  with elementwise (Hadamard) peephole weights w, which start at zero.
  MIM-N reads the difference of consecutive hidden states of the layer below
  (Eq. 6); MIM-S reads MIM-N's output and, as its "hidden state", the block's
  temporal memory c_{t-1} (Eq. 7).
  """

  def __init__(self, in_ch: int, hidden: int, *, spatial, filter_size: int,
               layer_norm: bool, rngs: nnx.Rngs):
    kw = dict(spatial=spatial, layer_norm=layer_norm, rngs=rngs)
    self.ct_weight = nnx.Param(jnp.zeros((*spatial, 2 * hidden), jnp.float32))
    self.oc_weight = nnx.Param(jnp.zeros((*spatial, hidden), jnp.float32))
    self.conv_h_concat = GateConv(in_ch, 4 * hidden, filter_size, **kw)
    self.conv_x_concat = GateConv(in_ch, 4 * hidden, filter_size, **kw)

  def __call__(self, carry, x):
    h, c = carry
    i_h, g_h, f_h, o_h = split(self.conv_h_concat(h), 4)
    i_x, g_x, f_x, o_x = split(self.conv_x_concat(x), 4)
    i_c, f_c = split(jnp.tile(c, 2) * self.ct_weight[...].astype(c.dtype), 2)
    c = (jax.nn.sigmoid(f_h + f_c + f_x + FORGET_BIAS) * c
         + jax.nn.sigmoid(i_h + i_c + i_x) * jnp.tanh(g_h + g_x))
    o = o_h + o_x + c * self.oc_weight[...].astype(c.dtype)
    h = jax.nn.sigmoid(o) * jnp.tanh(c)
    return (h, c), h


class MIMBlock(nnx.Module):
  """A MIM layer above the first (Eq. 5): ST-LSTM's spatiotemporal path, with
  the temporal forget gate replaced by the MIM-S cascade.

      i, g   from x and h;  i', g', f' from x and m;  o from x, h and m
      m' = sigmoid(f' + 1) * m + sigmoid(i') * tanh(g')
      c' = MIM-S(x=d, h=c; its own memory s) + sigmoid(i) * tanh(g)
      h' = sigmoid(o) * tanh(conv_1x1([c', m']))

  d is MIM-N's output (the non-stationary features). The carry is (h, c, m, s)
  with s MIM-S's memory; all start at zero for every sequence.
  """

  def __init__(self, in_ch: int, hidden: int, *, spatial, filter_size: int,
               layer_norm: bool, rngs: nnx.Rngs, stationary: bool = True):
    kw = dict(spatial=spatial, layer_norm=layer_norm, rngs=rngs)
    self.conv_t_cc = GateConv(hidden, 3 * hidden, filter_size, **kw)
    self.conv_s_cc = GateConv(hidden, 4 * hidden, filter_size, **kw)
    self.conv_x_cc = GateConv(in_ch, 4 * hidden, filter_size, **kw)
    # The paper's Table 3 ablation "without MIM-S" (stationary=False), which
    # neither the paper nor the code spells out: stjax replaces MIM-S by one
    # forget gate read from d, c * sigmoid(conv(d) + 1), the LSTM transition
    # MIM-S stands in for.
    self.stationary = stationary
    if stationary:
      self.mim_s = MIMCell(hidden, hidden, filter_size=filter_size, **kw)
    else:
      self.forget_d = GateConv(hidden, hidden, filter_size, **kw)
    self.conv_last = layers.Conv(2 * hidden, hidden, 1, use_bias=False, rngs=rngs)

  def __call__(self, carry, inputs, transfer=None):
    """inputs = (x, d): the layer below's hidden state and MIM-N's output.
    `transfer(c', x, h) -> c'`, if given, rewrites the new temporal memory
    (TMU, stjax.cells.tmu)."""
    (h, c, m, s), (x, d) = carry, inputs
    i_t, g_t, o_t = split(self.conv_t_cc(h), 3)
    i_s, g_s, f_s, o_s = split(self.conv_s_cc(m), 4)
    i_x, g_x, f_x, o_x = split(self.conv_x_cc(x), 4)
    m = (jax.nn.sigmoid(f_x + f_s + FORGET_BIAS) * m
         + jax.nn.sigmoid(i_x + i_s) * jnp.tanh(g_x + g_s))
    if self.stationary:
      (c_forgotten, s), _ = self.mim_s((c, s), d)
    else:
      c_forgotten = jax.nn.sigmoid(self.forget_d(d) + FORGET_BIAS) * c
    c = c_forgotten + jax.nn.sigmoid(i_x + i_t) * jnp.tanh(g_x + g_t)
    if transfer is not None:
      c = transfer(c, x, h)
    o = jax.nn.sigmoid(o_x + o_t + o_s)
    h = o * jnp.tanh(self.conv_last(jnp.concatenate([c, m], axis=-1)))
    return (h, c, m, s), h
