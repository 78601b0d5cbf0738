"""Training losses. All take (B, T, H, W, C) arrays and return scalars."""
from __future__ import annotations

import jax
import jax.numpy as jnp


def mse(pred: jax.Array, target: jax.Array) -> jax.Array:
  """Mean squared error over every element (the training loss of the field)."""
  return jnp.mean(jnp.square(pred.astype(jnp.float32) - target.astype(jnp.float32)))


def differential_divergence(pred: jax.Array, target: jax.Array, tau: float = 0.1,
                            eps: float = 1e-12) -> jax.Array:
  """TAU's differential divergence regularisation (Tan et al. 2023, Eq. 6).

  The frame-to-frame differences of prediction and target, each flattened over
  H*W*C and turned into a distribution by softmax(diff / tau), are compared by
  KL(pred || target); the result is the mean over every element, which is what
  the reference computes (a per-element mean, not a per-frame sum).
  """
  b, t = pred.shape[:2]
  if t <= 2:
    return jnp.zeros((), jnp.float32)
  gap_p = jnp.diff(pred.astype(jnp.float32), axis=1).reshape(b, t - 1, -1)
  gap_t = jnp.diff(target.astype(jnp.float32), axis=1).reshape(b, t - 1, -1)
  p = jax.nn.softmax(gap_p / tau, axis=-1)
  q = jax.nn.softmax(gap_t / tau, axis=-1)
  return jnp.mean(p * jnp.log(p / (q + eps) + eps))
