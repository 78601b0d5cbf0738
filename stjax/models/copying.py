"""The "Copying" baseline of the SimVP paper's tables: every future frame is
the last observed one. It has no parameters; training it only evaluates it,
which gives each table's trivial row on the same data and metrics."""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from stjax.models.entry import register_model


class CopyLast(nnx.Module):

  def __init__(self, *, in_shape, out_frames: int):
    self.in_shape, self.out_frames = tuple(in_shape), out_frames

  def __call__(self, x: jax.Array, *, train: bool = False, key=None,
               out_frames: int | None = None) -> jax.Array:
    del train, key
    if x.shape[1:] != self.in_shape:
      raise ValueError(f"CopyLast was built for inputs {self.in_shape} "
                       f"(T, H, W, C), got {x.shape[1:]}.")
    n = out_frames or self.out_frames
    return jnp.repeat(x[:, -1:], n, axis=1)


def defaults(c, **options) -> None:
  """Nothing to train: one epoch that only evaluates it."""
  del options
  c.train.epochs = 1
  c.optim.schedule = "constant"


@register_model("copy_last", family="parallel", defaults=defaults,
                smoke=defaults)
def build(cfg, *, in_shape, out_frames, seed=0, pretrained=None):
  del cfg, seed, pretrained
  return CopyLast(in_shape=in_shape, out_frames=out_frames)
