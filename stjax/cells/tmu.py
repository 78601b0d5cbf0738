"""The transferable memory unit (Yao et al. 2020, "Unsupervised Transfer
Learning for Spatiotemporal Predictive Networks", Sec. 3.2), in the two
readings the paper and its authors' code give (stjax.models.tmu chooses).

Both compute, per source m, a distilled memory and a transfer gate, and
Eq. 5's transferred memory

    C^_m = LayerNorm(W_m * C~)                         Eq. 3 (1x1 conv, no bias)
    C    = C~ + sum_m [ a_m * C^_m + (1 - a_m) * C~ ]  Eq. 5

from the new memory C~ of a ConvLSTM-like update. They differ in where the
gates come from and what the hidden state reads:
- `MemoryTransfer` (the paper): a rewrite of any backbone cell's memory,
  applied after the cell computes C~ and before its output reads it, so
  H = o * tanh(C) (Eq. 5's last line); the gates have their own
  convolutions, a_m = sigmoid(W_xm * X_t + W_hm * H_t-1 + b_m).
- `TMUCell` (the authors' code, core/layers/AdaptiveCell.py): a ConvLSTM cell
  of its own whose one convolution of [X_t; H_t-1] (with bias) yields i, f,
  o, g and the gates' pre-activations s_m together, through one LayerNorm
  over the whole (H, W, (4 + M) n) block; H = o * tanh(C~) reads the memory
  *before* the transfer, and C is what the next step carries.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from stjax import layers
from stjax.cells.gates import GateConv, LayerNorm, split


class Distillers(nnx.Module):
  """Eq. 3, one per source: a bias-free 1x1 convolution of C~, then a
  LayerNorm over the whole (H, W, C) map with per-element affine."""

  def __init__(self, hidden: int, num_sources: int, *, spatial, rngs: nnx.Rngs):
    self.conv = nnx.List([layers.Conv(hidden, hidden, 1, use_bias=False,
                                      rngs=rngs) for _ in range(num_sources)])
    self.norm = nnx.List([LayerNorm((*spatial, hidden))
                          for _ in range(num_sources)])

  def __call__(self, c_tilde) -> list[jax.Array]:
    return [norm(conv(c_tilde)) for conv, norm in zip(self.conv, self.norm)]


def transferred(c_tilde, distilled, gates):
  """Eq. 5: C~ + sum_m [a_m * C^_m + (1 - a_m) * C~]."""
  return c_tilde + sum(a * d + (1 - a) * c_tilde
                       for a, d in zip(gates, distilled))


class MemoryTransfer(nnx.Module):
  """The paper's TMU as a rewrite of one layer's memory, for any backbone."""

  def __init__(self, in_ch: int, hidden: int, num_sources: int, *, spatial,
               filter_size: int, rngs: nnx.Rngs):
    self.num_sources = num_sources
    self.distill = Distillers(hidden, num_sources, spatial=spatial, rngs=rngs)
    kw = dict(spatial=spatial, layer_norm=False, rngs=rngs)
    self.gate_x = GateConv(in_ch, num_sources * hidden, filter_size,
                           use_bias=True, **kw)
    self.gate_h = GateConv(hidden, num_sources * hidden, filter_size, **kw)

  def __call__(self, c_tilde, x, h):
    """(C~, X_t, H_t-1) -> (C, distilled memories, gates), one per source."""
    distilled = self.distill(c_tilde)
    gates = split(jax.nn.sigmoid(
        layers.conv_sum([self.gate_x.conv, self.gate_h.conv], [x, h])),
        self.num_sources)
    return transferred(c_tilde, distilled, gates), distilled, gates


class TMUCell(nnx.Module):
  """The authors' TMU layer (their AdaptiveCell), generalised to M sources.

      Z  = LayerNorm(conv_x(X_t) + conv_h(H_t-1))   one bias, (4 + M) n channels
      i, f, o, g, s_1..s_M = split(Z)               the code's channel order
      C~ = sigmoid(f) * C_t-1 + sigmoid(i) * tanh(g)
      H  = sigmoid(o) * tanh(C~)                    reads C~, not C
      C  = Eq. 5 with a_m = sigmoid(s_m)            carried to the next step
  No forget-gate bias. The carry is (H, C).
  """

  def __init__(self, in_ch: int, hidden: int, num_sources: int, *, spatial,
               filter_size: int, rngs: nnx.Rngs):
    self.num_sources, self.hidden = num_sources, hidden
    width = (4 + num_sources) * hidden
    kw = dict(spatial=spatial, layer_norm=False, rngs=rngs)
    self.conv_x = GateConv(in_ch, width, filter_size, use_bias=True, **kw)
    self.conv_h = GateConv(hidden, width, filter_size, **kw)
    self.norm = LayerNorm((*spatial, width))
    self.distill = Distillers(hidden, num_sources, spatial=spatial, rngs=rngs)

  def parts(self, carry, x) -> dict:
    """Every intermediate of one step, by the names of the parity fixture."""
    h, c = carry
    z = self.norm(layers.conv_sum([self.conv_x.conv, self.conv_h.conv], [x, h]))
    i, f, o, g, *s = split(z, 4 + self.num_sources)
    c_tilde = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    h = jax.nn.sigmoid(o) * jnp.tanh(c_tilde)
    distilled = self.distill(c_tilde)
    gates = [jax.nn.sigmoid(v) for v in s]
    return {"conv_ln": z, "c_tilde": c_tilde, "h0": h,
            "c0": transferred(c_tilde, distilled, gates),
            "c_hat": distilled, "gate": gates}

  def __call__(self, carry, x):
    """-> ((H, C), H, distilled memories, gates)."""
    p = self.parts(carry, x)
    return (p["h0"], p["c0"]), p["h0"], p["c_hat"], p["gate"]
