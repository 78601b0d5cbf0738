"""optax optimizers and learning-rate schedules from a config's `optim` section.

The one-cycle schedule is PyTorch's OneCycleLR (cosine, pct_start 0.3,
div_factor 25, final_div_factor 1e4), which is how OpenSTL trains every model;
like OneCycleLR it also cycles Adam's beta1 (SGD's momentum) between 0.95 and
0.85, opposite to the learning rate.
"""
from __future__ import annotations

import jax.numpy as jnp
import optax

from stjax.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("onecycle", "cosine", "constant")


def _anneal(start, end, frac):
  return end + (start - end) / 2.0 * (1.0 + jnp.cos(jnp.pi * frac))


def one_cycle(total_steps: int, start: float, peak: float, end: float,
              pct_start: float = 0.3):
  """Cosine from `start` to `peak` over pct_start of the run, then to `end`.

  Phase boundaries as in torch.optim.lr_scheduler.OneCycleLR.
  """
  up = max(float(pct_start * total_steps) - 1.0, 1.0)
  last = max(float(total_steps) - 1.0, up + 1.0)

  def schedule(step):
    step = jnp.asarray(step, jnp.float32)
    rising = _anneal(start, peak, jnp.clip(step / up, 0.0, 1.0))
    falling = _anneal(peak, end, jnp.clip((step - up) / (last - up), 0.0, 1.0))
    return jnp.where(step <= up, rising, falling)
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


def build_optimizer(cfg, total_steps: int):
  """(optax transformation, learning-rate schedule)."""
  if not cfg.lr > 0:
    raise ConfigError(f"optim.lr={cfg.lr} must be positive.")
  lr = learning_rate_schedule(cfg, total_steps)
  momentum = (one_cycle(total_steps, 0.95, 0.85, 0.95, cfg.pct_start)
              if cfg.schedule == "onecycle" and cfg.cycle_momentum else None)
  if cfg.name == "adam":
    tx = optax.inject_hyperparams(optax.adam)(
        learning_rate=lr, b1=momentum or cfg.b1, b2=cfg.b2, eps=cfg.eps)
  elif cfg.name == "adamw":
    tx = optax.inject_hyperparams(optax.adamw)(
        learning_rate=lr, b1=momentum or cfg.b1, b2=cfg.b2, eps=cfg.eps,
        weight_decay=cfg.weight_decay)
  elif cfg.name == "sgd":
    tx = optax.inject_hyperparams(optax.sgd)(
        learning_rate=lr, momentum=momentum or cfg.momentum)
  else:
    raise ConfigError(f"optim.name={cfg.name!r}; choose one of {OPTIMIZERS}.")
  if cfg.name != "adamw" and cfg.weight_decay:
    # Adam/SGD with L2 weight decay added to the gradient, as torch does.
    tx = optax.chain(optax.add_decayed_weights(cfg.weight_decay), tx)
  if cfg.grad_clip:
    tx = optax.chain(optax.clip_by_global_norm(cfg.grad_clip), tx)
  return tx, lr
