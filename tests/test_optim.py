import numpy as np
import pytest

from experiments.configs import base
from stjax.train.optim import build_optimizer, learning_rate_schedule, one_cycle


def test_one_cycle_matches_torch_one_cycle_boundaries():
  cfg = base.get_base_config().optim
  total = 1000
  lr = learning_rate_schedule(cfg, total)
  assert float(lr(0)) == pytest.approx(1e-3 / 25, rel=1e-5)
  assert float(lr(299)) == pytest.approx(1e-3, rel=1e-5)  # pct_start * total - 1
  assert float(lr(999)) == pytest.approx(1e-3 / 25 / 1e4, rel=1e-3)
  # Cosine: half way up the warm-up is the mean of the two ends.
  assert float(lr(149.5)) == pytest.approx((1e-3 + 1e-3 / 25) / 2, rel=1e-4)
  beta1 = one_cycle(total, 0.95, 0.85, 0.95)
  assert [round(float(beta1(s)), 6) for s in (0, 299, 999)] == [0.95, 0.85, 0.95]


def test_adam_beta1_is_cycled_inside_the_optimizer_state():
  import jax.numpy as jnp
  cfg = base.get_base_config().optim
  tx, _ = build_optimizer(cfg, 100)
  state = tx.init({"w": jnp.zeros(3)})
  assert float(state.hyperparams["b1"]) == pytest.approx(0.95)
  for _ in range(29):
    _, state = tx.update({"w": jnp.ones(3)}, state, {"w": jnp.zeros(3)})
  assert float(state.hyperparams["b1"]) == pytest.approx(0.85, abs=1e-3)


@pytest.mark.parametrize("schedule", ["cosine", "constant"])
def test_warmup_schedules_rise_then_hold_or_decay(schedule):
  cfg = base.get_base_config().optim
  cfg.schedule, cfg.warmup_steps = schedule, 10
  lr = learning_rate_schedule(cfg, 100)
  assert float(lr(0)) == 0.0 and float(lr(10)) == pytest.approx(1e-3, rel=1e-5)
  assert float(lr(99)) < 1e-4 if schedule == "cosine" else float(lr(99)) == pytest.approx(1e-3, rel=1e-5)


def test_unknown_optimizer_is_rejected():
  cfg = base.get_base_config().optim
  cfg.name = "adamm"
  with pytest.raises(ValueError, match="adamm"):
    build_optimizer(cfg, 10)
