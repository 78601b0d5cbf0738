"""PredRNN++ (Wang et al. 2018): the Causal LSTM and the Gradient Highway Unit."""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from stjax.cells.gates import FORGET_BIAS, GateConv, split
from stjax import layers


class CausalLSTMCell(nnx.Module):
  """Causal LSTM (Eq. 1): the spatiotemporal memory is updated *after* and
  *from* the new temporal memory, a cascade instead of ST-LSTM's parallel pair.

      i, f, g   from x, h and c            c' = f * c + i * g
      i', f', g' from x, m and conv(c')    m' = f' * tanh(conv(m)) + i' * g'
      o = tanh(o_x + o_h + o_c' + conv(m'))  h' = o * tanh(conv_1x1([c', m']))

  (the output gate is a tanh, as in the paper and the reference code; the
  reference also defines a `conv_o` it never uses, which stjax leaves out). The
  forget gates carry a +1 bias. `legacy=True` feeds m instead of c to the
  first gate convolution, as the code that trained OpenSTL's released Moving
  MNIST weights did (OpenSTL before its June 2023 fix); it has not been
  checked against those weights, which cannot be fetched here.
  """

  def __init__(self, in_ch: int, hidden: int, *, spatial, filter_size: int,
               layer_norm: bool, rngs: nnx.Rngs, legacy: bool = False):
    kw = dict(spatial=spatial, layer_norm=layer_norm, rngs=rngs)
    self.hidden, self.legacy = hidden, legacy
    self.conv_x = GateConv(in_ch, 7 * hidden, filter_size, **kw)
    self.conv_h = GateConv(hidden, 4 * hidden, filter_size, **kw)
    self.conv_c = GateConv(hidden, 3 * hidden, filter_size, **kw)
    self.conv_m = GateConv(hidden, 3 * hidden, filter_size, **kw)
    self.conv_c2m = GateConv(hidden, 4 * hidden, filter_size, **kw)
    self.conv_om = GateConv(hidden, hidden, filter_size, **kw)
    self.conv_last = layers.Conv(2 * hidden, hidden, 1, use_bias=False, rngs=rngs)

  def __call__(self, carry, x):
    h, c, m = carry
    i_x, f_x, g_x, i_xm, f_xm, g_xm, o_x = split(self.conv_x(x), 7)
    i_h, f_h, g_h, o_h = split(self.conv_h(h), 4)
    i_m, f_m, m_m = split(self.conv_m(m), 3)
    i_c, f_c, g_c = split(self.conv_c(m if self.legacy else c), 3)
    c = (jax.nn.sigmoid(f_x + f_h + f_c + FORGET_BIAS) * c
         + jax.nn.sigmoid(i_x + i_h + i_c) * jnp.tanh(g_x + g_h + g_c))
    i_cm, g_cm, f_cm, o_cm = split(self.conv_c2m(c), 4)
    m = (jax.nn.sigmoid(f_xm + f_m + f_cm + FORGET_BIAS) * jnp.tanh(m_m)
         + jax.nn.sigmoid(i_xm + i_m + i_cm) * jnp.tanh(g_xm + g_cm))
    o = jnp.tanh(o_x + o_h + o_cm + self.conv_om(m))
    h = o * jnp.tanh(self.conv_last(jnp.concatenate([c, m], axis=-1)))
    return (h, c, m), h


class GHU(nnx.Module):
  """Gradient Highway Unit (Eq. 4): z' = u * tanh(p) + (1 - u) * z, with
  p, u = conv(x) + conv(z) and u through a sigmoid; weights start at
  U(+-0.001), as the reference.

  With layer_norm the reference normalises over half the gate channels and
  fails on its own shapes; here the LayerNorm covers both gates (2 * hidden).
  """

  def __init__(self, in_ch: int, hidden: int, *, spatial, filter_size: int,
               layer_norm: bool, rngs: nnx.Rngs):
    kw = dict(spatial=spatial, layer_norm=layer_norm, rngs=rngs, init="ghu")
    self.z_concat = GateConv(hidden, 2 * hidden, filter_size, **kw)
    self.x_concat = GateConv(in_ch, 2 * hidden, filter_size, **kw)

  def __call__(self, z, x):
    p, u = split(self.x_concat(x) + self.z_concat(z), 2)
    u = jax.nn.sigmoid(u)
    z = u * jnp.tanh(p) + (1 - u) * z
    return z, z
