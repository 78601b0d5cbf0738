"""MK-LSTM, the multi-kernel LSTM of MS-LSTM (Ma et al. 2023, Sec. 3.2)."""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from stjax import layers
from stjax.cells.gates import GateConv, split


class MKLSTMCell(nnx.Module):
  """One ConvLSTM-style memory per kernel size k, one output gate for all.

  For each k (the paper: 3 and 5):
      i_k, f_k, g_k, o_k = conv_x_k(x) + conv_h_k(h)
      c_k' = sigmoid(f_k) * c_k + sigmoid(i_k) * tanh(g_k)
  then
      o  = sigmoid(sum_k o_k + conv_co_k(c_k'))   (k x k peephole on c_k')
      h' = o * tanh(conv_out([c_1', c_2', ...]))  (1x1 over the memories)

  This follows the authors' released code, which fixes what the paper leaves
  open: every convolution has a bias, the peephole is a k x k convolution of
  the new memory, and the memories meet in a 1x1 convolution before the tanh.
  The carry is (h, (c_1, c_2, ...)).
  """

  def __init__(self, in_ch: int, hidden: int, *, spatial, kernel_sizes,
               layer_norm: bool, rngs: nnx.Rngs):
    self.kernel_sizes = tuple(int(k) for k in kernel_sizes)
    kw = dict(spatial=spatial, layer_norm=layer_norm, rngs=rngs, use_bias=True)
    self.conv_x = nnx.List([GateConv(in_ch, 4 * hidden, k, **kw)
                            for k in self.kernel_sizes])
    self.conv_h = nnx.List([GateConv(hidden, 4 * hidden, k, **kw)
                            for k in self.kernel_sizes])
    self.conv_co = nnx.List([layers.Conv(hidden, hidden, k,
                                         rngs=rngs)
                             for k in self.kernel_sizes])
    self.conv_out = layers.Conv(len(self.kernel_sizes) * hidden, hidden, 1,
                                rngs=rngs)

  def __call__(self, carry, x):
    h, cs = carry
    new_cs, o_sum = [], 0.0
    for conv_x, conv_h, conv_co, c in zip(self.conv_x, self.conv_h,
                                          self.conv_co, cs):
      if conv_x.norm is None:  # one matmul for both (no LayerNorm between)
        gates = layers.conv_sum([conv_x.conv, conv_h.conv], [x, h])
      else:
        gates = conv_x(x) + conv_h(h)
      i, f, g, o = split(gates, 4)
      c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
      o_sum = o_sum + o + conv_co(c)
      new_cs.append(c)
    h = jax.nn.sigmoid(o_sum) * jnp.tanh(
        self.conv_out(jnp.concatenate(new_cs, axis=-1)))
    return (h, tuple(new_cs)), h
