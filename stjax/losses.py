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


def decoupling(delta_c: jax.Array, delta_m: jax.Array) -> jax.Array:
  """PredRNN-V2's memory decoupling (Wang et al. 2022, Eq. 6) for one layer
  and step: the mean over batch and channels of |cos| between the (adapted)
  increments of the two memories, each channel flattened over H*W.

  Inputs are (B, H, W, C). As the reference, each is L2-normalised (eps
  1e-12) before the cosine (eps 1e-8).
  """
  def unit(x):
    x = x.astype(jnp.float32)
    x = x.reshape(x.shape[0], -1, x.shape[-1])              # (B, HW, C)
    norm = jnp.sqrt(jnp.sum(jnp.square(x), axis=1, keepdims=True))
    return x / jnp.maximum(norm, 1e-12)
  a, b = unit(delta_c), unit(delta_m)
  dot = jnp.sum(a * b, axis=1)
  norms = jnp.sqrt(jnp.sum(a * a, axis=1) * jnp.sum(b * b, axis=1))
  return jnp.mean(jnp.abs(dot / jnp.maximum(norms, 1e-8)))
