"""Recurrent cells: each maps (carry, x) -> (carry, h) and keeps no Python state.

A carry is a tuple of (B, H, W, C) arrays that starts at zero for every
sequence; the networks in stjax.models.recurrent roll the cells out over time
with jax.lax.scan.
"""
from stjax.cells.causal_lstm import GHU, CausalLSTMCell
from stjax.cells.convlstm import ConvLSTMCell
from stjax.cells.mim import MIMBlock, MIMCell
from stjax.cells.mk_lstm import MKLSTMCell
from stjax.cells.st_lstm import STLSTMCell

__all__ = ["ConvLSTMCell", "STLSTMCell", "CausalLSTMCell", "GHU", "MIMCell",
           "MIMBlock", "MKLSTMCell"]
