"""A toy parallel model: every future frame is a * last + b * mean of the
observed frames, with two learned scalars."""
import jax.numpy as jnp
from flax import nnx

from stjax.models.entry import register_model


class Blend(nnx.Module):

  def __init__(self, out_frames: int, init_a: float, rngs: nnx.Rngs):
    del rngs  # deterministic start: the test checks the values
    self.out_frames = out_frames
    self.a = nnx.Param(jnp.asarray(init_a, jnp.float32))
    self.b = nnx.Param(jnp.asarray(0.0, jnp.float32))

  def __call__(self, x, *, train=False, key=None, out_frames=None):
    del train, key
    frame = self.a[...] * x[:, -1:] + self.b[...] * x.mean(axis=1, keepdims=True)
    return jnp.repeat(frame, out_frames or self.out_frames, axis=1)


def defaults(c, **options):
  del options
  c.model.init_a = 0.5


def smoke(c):
  c.model.init_a = 0.25


@register_model("toy_blend", family="parallel", defaults=defaults, smoke=smoke)
def build(cfg, *, in_shape, out_frames, seed=0, pretrained=None):
  del in_shape, pretrained
  return Blend(out_frames, cfg.init_a, nnx.Rngs(seed))
