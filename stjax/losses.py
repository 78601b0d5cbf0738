"""Training losses, and the loss terms a config can name.

The functions take (B, T, H, W, C) arrays and return scalars. A config names
its objective as weighted terms, `loss.terms = {"mse": 1.0, "ddr": 0.1}`;
each term is registered in stjax.registry.LOSS_TERMS as
`make(loss_cfg) -> term(pred, targets, aux) -> scalar`, where `aux` holds
what the model reported next to its predictions (PredRNN-V2's decoupling,
TMU's distillation).
"""
from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from stjax.errors import ConfigError
from stjax.registry import LOSS_TERMS


def at_least_f32(x: jax.Array) -> jax.Array:
  """bfloat16 computes its losses in float32; float64 (parity checks) stays."""
  return x.astype(jnp.promote_types(x.dtype, jnp.float32))


def mse(pred: jax.Array, target: jax.Array) -> jax.Array:
  """Mean squared error over every element (the training loss of the field)."""
  chex.assert_equal_shape([pred, target])  # no silent broadcasting
  return jnp.mean(jnp.square(at_least_f32(pred) - at_least_f32(target)))


def mae(pred: jax.Array, target: jax.Array) -> jax.Array:
  """Mean absolute error over every element."""
  chex.assert_equal_shape([pred, target])
  return jnp.mean(jnp.abs(at_least_f32(pred) - at_least_f32(target)))


def frame_sum(per_element: jax.Array) -> jax.Array:
  """(B, T, H, W, C) errors -> the mean over frames and batch of each frame's
  sum: the MS-LSTM authors' reduction (their `Loss`), H*W*C times the mean."""
  chex.assert_rank(per_element, 5)
  return jnp.mean(jnp.sum(per_element, axis=(2, 3, 4)))


def sequence_sum(per_element: jax.Array) -> jax.Array:
  """(B, T, H, W, C) errors -> the mean over the batch of each sequence's
  sum: Eq. 6 of the TMU paper, sum_t ||X^_t - X_t||^2."""
  chex.assert_rank(per_element, 5)
  return jnp.mean(jnp.sum(per_element, axis=(1, 2, 3, 4)))


REDUCTIONS = ("mean", "frame_sum", "sequence_sum")
_REDUCE = {"mean": jnp.mean, "frame_sum": frame_sum, "sequence_sum": sequence_sum}


def differential_divergence(pred: jax.Array, target: jax.Array, tau: float = 0.1,
                            eps: float = 1e-12) -> jax.Array:
  """TAU's differential divergence regularisation (Tan et al. 2023, Eq. 6).

  The frame-to-frame differences of prediction and target, each flattened over
  H*W*C and turned into a distribution by softmax(diff / tau), are compared by
  KL(pred || target); the result is the mean over every element, which is what
  the reference computes (a per-element mean, not a per-frame sum).
  """
  chex.assert_equal_shape([pred, target])
  chex.assert_rank(pred, 5)
  b, t = pred.shape[:2]
  if t <= 2:
    return jnp.zeros((), at_least_f32(pred).dtype)
  gap_p = jnp.diff(at_least_f32(pred), axis=1).reshape(b, t - 1, -1)
  gap_t = jnp.diff(at_least_f32(target), axis=1).reshape(b, t - 1, -1)
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
    x = at_least_f32(x)
    x = x.reshape(x.shape[0], -1, x.shape[-1])              # (B, HW, C)
    norm = jnp.sqrt(jnp.sum(jnp.square(x), axis=1, keepdims=True))
    return x / jnp.maximum(norm, 1e-12)
  a, b = unit(delta_c), unit(delta_m)
  dot = jnp.sum(a * b, axis=1)
  norms = jnp.sqrt(jnp.sum(a * a, axis=1) * jnp.sum(b * b, axis=1))
  return jnp.mean(jnp.abs(dot / jnp.maximum(norms, 1e-8)))


# -- The registered terms -----------------------------------------------------

def _reported(name: str, who: str):
  """A term the model computes itself and reports in `aux`."""
  def make(loss_cfg):
    del loss_cfg

    def term(pred, targets, aux):
      del pred, targets
      if name not in aux:
        raise ConfigError(f"loss.terms names {name!r}, which only {who} "
                          f"reports; remove it for this model.")
      return aux[name]
    return term
  return make


DDR_TAU, DDR_EPS = 0.1, 1e-12  # the reference's temperature and log guard


def add_ddr(loss_cfg, alpha: float = 0.1, tau: float = DDR_TAU,
            eps: float = DDR_EPS):
  """Adds TAU's differential divergence to a config's loss section: the term's
  weight and its constants (TAU's defaults; any model can train with it)."""
  loss_cfg.terms.ddr = float(alpha)
  loss_cfg.ddr_tau = float(tau)   # the softmax temperature
  loss_cfg.ddr_eps = float(eps)   # the log guard
  return loss_cfg


def _make_ddr(loss_cfg):
  tau = loss_cfg.get("ddr_tau", DDR_TAU)
  eps = loss_cfg.get("ddr_eps", DDR_EPS)
  if not tau > 0:
    raise ConfigError(f"loss.ddr_tau={tau} must be positive (a softmax "
                      f"temperature).")
  return lambda pred, targets, aux: differential_divergence(pred, targets, tau,
                                                            eps)


def _pointwise(error):
  """A term from a per-element error, reduced as `loss.reduction` says:
  "mean" over every element (OpenSTL, the Tsinghua code), "frame_sum" (each
  frame's sum, averaged over frames and batch: the MS-LSTM code) or
  "sequence_sum" (each sequence's sum, averaged over the batch: TMU's Eq. 6)."""
  def make(loss_cfg):
    reduction = loss_cfg.get("reduction", "mean")
    if reduction not in REDUCTIONS:
      raise ConfigError(f"loss.reduction={reduction!r}; choose one of "
                        f"{REDUCTIONS}.")

    def term(pred, targets, aux):
      del aux
      chex.assert_equal_shape([pred, targets])
      e = error(at_least_f32(pred) - at_least_f32(targets))
      return _REDUCE[reduction](e)
    return term
  return make


LOSS_TERMS.register("mse", _pointwise(jnp.square))
LOSS_TERMS.register("mae", _pointwise(jnp.abs))
LOSS_TERMS.register("ddr", _make_ddr)
LOSS_TERMS.register("decouple", _reported("decouple", "PredRNN-V2"))
LOSS_TERMS.register("distill", _reported("distill", "TMU"))
LOSS_TERMS.register("phydnet", _reported("phydnet", "PhyDNet"))


def make_objective(loss_cfg):
  """objective(pred, targets, aux) -> (weighted sum, {term: value}) for the
  terms of `loss_cfg.terms`; whatever else the model reports in `aux` is
  passed through to be logged (e.g. TMU's transfer gates)."""
  weights = dict(loss_cfg.terms.items()) if "terms" in loss_cfg else {}
  if not weights:
    raise ConfigError("loss.terms is empty; name at least one term, e.g. "
                      "{'mse': 1.0}.")
  for name, w in weights.items():
    if not isinstance(w, (int, float)) or w < 0:
      raise ConfigError(f"loss.terms.{name}={w!r} must be a weight >= 0.")
  terms = {name: LOSS_TERMS.get(name)(loss_cfg) for name in weights}

  def objective(pred, targets, aux=None):
    aux = dict(aux or {})
    values = {name: term(pred, targets, aux) for name, term in terms.items()}
    total = sum(weights[n] * v for n, v in values.items())
    return total, {**{k: v for k, v in aux.items() if k not in values}, **values}
  return objective
