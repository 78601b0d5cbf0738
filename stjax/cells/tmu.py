"""The transferable memory unit (Yao et al. 2020, "Unsupervised Transfer
Learning for Spatiotemporal Predictive Networks", Sec. 3).

TMU is not a cell of its own but a rewrite of a backbone cell's memory
update, applied where the cell has computed its new temporal memory C~ and
before the output reads it:

    C^_m = LayerNorm(conv_1x1_m(C~))                 memory distiller per source
    a_m  = sigmoid(conv_x_m(X_t) + conv_h_m(H_t-1))  transfer gate per source
    C    = C~ + sum_m a_m * C^_m                     (Eq. 5)

and training pulls each distilled C^_m towards the memory C^m of the frozen
source model m at the same layer and step (stjax.models.tmu). Eq. 5 adds the
*distilled* memories, not the sources' own: the authors' code was not
available to compare with here, and with the distilled memories the sources
are needed only by the training loss, so a trained target predicts alone, as
the paper's test-time parameter counts imply. With no sources the rewrite is
the identity and the backbone is unchanged.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from stjax import layers
from stjax.cells.gates import GateConv, LayerNorm, split


class MemoryTransfer(nnx.Module):
  """One layer's distillers and transfer gates, for `num_sources` sources."""

  def __init__(self, in_ch: int, hidden: int, num_sources: int, *, spatial,
               filter_size: int, rngs: nnx.Rngs):
    self.num_sources = num_sources
    self.distill = nnx.List([layers.Conv(hidden, hidden, 1, rngs=rngs)
                             for _ in range(num_sources)])
    self.norm = nnx.List([LayerNorm((*spatial, hidden))
                          for _ in range(num_sources)])
    kw = dict(spatial=spatial, layer_norm=False, rngs=rngs, use_bias=True)
    self.gate_x = GateConv(in_ch, num_sources * hidden, filter_size, **kw)
    self.gate_h = GateConv(hidden, num_sources * hidden, filter_size, **kw)

  def __call__(self, c, x, h):
    """(C~, X_t, H_t-1) -> (C, distilled memories, gates), one of each per source."""
    distilled = [norm(conv(c)) for conv, norm in zip(self.distill, self.norm)]
    gates = split(jax.nn.sigmoid(
        layers.conv_sum([self.gate_x.conv, self.gate_h.conv], [x, h])),
        self.num_sources)
    c = c + sum(a * d for a, d in zip(gates, distilled))
    return c, distilled, gates
