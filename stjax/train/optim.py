"""optax optimizers and learning-rate schedules from a config's `optim` section.

The one-cycle schedule is PyTorch's OneCycleLR (cosine, pct_start 0.3,
div_factor 25, final_div_factor 1e4), which is how OpenSTL trains every model;
like OneCycleLR it also cycles Adam's beta1 (SGD's momentum) between 0.95 and
0.85, opposite to the learning rate. Adam and SGD take weight decay as
PyTorch does, L2 added to the gradient before the moments; with
`filter_bias_and_bn` (OpenSTL's option) 1-D parameters and biases do not
decay. The training-parity fixtures check all of it step by step
(`python -m stjax.interop.openstl check-train`).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from stjax.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("onecycle", "cosine", "constant")
# OneCycleLR's momentum bounds (its defaults, which OpenSTL keeps).
BASE_MOMENTUM, MAX_MOMENTUM = 0.85, 0.95


def _anneal(start, end, frac):
  return end + (start - end) / 2.0 * (1.0 + jnp.cos(jnp.pi * frac))


def one_cycle(total_steps: int, start: float, peak: float, end: float,
              pct_start: float = 0.3):
  """Cosine from `start` to `peak` until step e1 = pct_start * N - 1, then to
  `end` at step N - 1: torch.optim.lr_scheduler.OneCycleLR's two phases.

  e1 is a float, as there, and may be below 1 (the first rising step is
  then also the last) or even below 0 (the schedule starts falling). The
  schedule is evaluated in the default float type (float64 under x64).
  """
  e1 = float(pct_start * total_steps) - 1.0
  e2 = float(total_steps) - 1.0
  rise = e1 if e1 > 0 else 1.0   # e1 <= 0: no step takes the rising branch
  fall = e2 - e1 if e2 > e1 else 1.0

  def schedule(step):
    step = jnp.asarray(step, jax.dtypes.canonicalize_dtype(float))
    rising = _anneal(start, peak, step / rise)
    falling = _anneal(peak, end, (step - e1) / fall)
    return jnp.where(step <= e1, rising, falling)
  return schedule


def learning_rate_schedule(cfg, total_steps: int):
  if cfg.schedule == "onecycle":
    initial = cfg.lr / cfg.div_factor
    return one_cycle(total_steps, initial, cfg.lr,
                     initial / cfg.final_div_factor, cfg.pct_start)
  warmup = min(cfg.warmup_steps, max(total_steps - 1, 0))
  if cfg.schedule == "cosine":
    return optax.warmup_cosine_decay_schedule(
        0.0, cfg.lr, warmup, max(total_steps, warmup + 1), end_value=0.0)
  if cfg.schedule == "constant":
    return optax.join_schedules(
        [optax.linear_schedule(0.0, cfg.lr, warmup), optax.constant_schedule(cfg.lr)],
        [warmup])
  raise ConfigError(f"optim.schedule={cfg.schedule!r}; choose one of {SCHEDULES}.")


def decay_mask(params):
  """True where a parameter decays under `filter_bias_and_bn` (timm's rule,
  which OpenSTL uses): not a 1-D parameter and not a bias. LayerNorm's
  per-element (H, W, C) scale decays, its bias does not."""
  def decays(path, x):
    # The last dict key names the parameter (an nnx.State path ends with the
    # Variable's `value` attribute).
    keys = [k.key for k in path if isinstance(k, jax.tree_util.DictKey)]
    return x.ndim > 1 and (not keys or keys[-1] != "bias")
  return jax.tree_util.tree_map_with_path(decays, params)


def build_optimizer(cfg, total_steps: int):
  """(optax transformation, learning-rate schedule)."""
  if not cfg.lr > 0:
    raise ConfigError(f"optim.lr={cfg.lr} must be positive.")
  if cfg.name not in OPTIMIZERS:
    raise ConfigError(f"optim.name={cfg.name!r}; choose one of {OPTIMIZERS}.")
  lr = learning_rate_schedule(cfg, total_steps)
  momentum = (one_cycle(total_steps, MAX_MOMENTUM, BASE_MOMENTUM, MAX_MOMENTUM,
                        cfg.pct_start)
              if cfg.schedule == "onecycle" and cfg.cycle_momentum else None)
  mask = decay_mask if cfg.get("filter_bias_and_bn", False) else None
  if cfg.name == "adam":
    tx = optax.inject_hyperparams(optax.adam)(
        learning_rate=lr, b1=momentum or cfg.b1, b2=cfg.b2, eps=cfg.eps)
  elif cfg.name == "adamw":
    tx = optax.inject_hyperparams(optax.adamw)(
        learning_rate=lr, b1=momentum or cfg.b1, b2=cfg.b2, eps=cfg.eps,
        weight_decay=cfg.weight_decay, mask=mask)
  else:
    tx = optax.inject_hyperparams(optax.sgd)(
        learning_rate=lr, momentum=momentum or cfg.momentum)
  if cfg.name != "adamw" and cfg.weight_decay:
    # Adam/SGD with L2 weight decay added to the gradient, as torch does.
    tx = optax.chain(optax.add_decayed_weights(cfg.weight_decay, mask), tx)
  if cfg.grad_clip:
    tx = optax.chain(optax.clip_by_global_norm(cfg.grad_clip), tx)
  return tx, lr


def injected_hyperparams(opt_state) -> dict:
  """The hyperparameters (learning_rate, b1, ...) the last update used."""
  for node in jax.tree.leaves(opt_state, is_leaf=lambda x: hasattr(x, "hyperparams")):
    if hasattr(node, "hyperparams"):
      return dict(node.hyperparams)
  return {}
