"""Scheduled sampling: how often training feeds the true frame instead of the
model's own prediction (Bengio et al. 2015, as PredRNN trains with it).

The result is a (B, T-1) array of true-frame weights, one per sequence and
rollout step (stjax.models.recurrent). It is drawn inside the jitted train
step from fold_in(run key, step), so a run is reproducible and a resumed run
draws the same masks.

- Scheduled sampling (PredRNN, PredRNN++, MIM, ConvLSTM in OpenSTL): the T_in
  observed steps always see the true frame; each later step sees it with
  probability eta, which falls from `sampling_start_value` by
  `sampling_changing_rate` per iteration and is 0 from `sampling_stop_iter`.
  `schedule = "linear_over_run"` is the MS-LSTM authors' instead: eta falls
  linearly from `sampling_start_value` at the first iteration to 0 at the
  last (their `eta -= 1 / (epochs * iterations)` after every step), whatever
  the run's length.
- Teacher forcing (PhyDNet in OpenSTL, `schedule = "teacher_forcing"`): one
  coin per iteration decides whether every future step sees the true frame
  (teacher forcing) or none does, heads with chance
  max(0, sampling_start_value - sampling_changing_rate * epoch), the epoch
  counted from `steps_per_epoch`.
- Reverse scheduled sampling (PredRNN-V2, Wang et al. 2022, Sec. 4.3): the
  observed steps (after the first) see the true frame with a probability that
  rises from 0.5 to 1 exponentially (`r_exp_alpha`) between
  `r_sampling_step_1` and `r_sampling_step_2`, while the future steps' falls
  linearly from 0.5 to 0 over the same iterations.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from stjax.errors import ConfigError


SCHEDULES = ("openstl", "linear_over_run", "teacher_forcing")


@dataclasses.dataclass(frozen=True)
class ScheduledSampling:
  pre_seq_length: int
  aft_seq_length: int
  scheduled_sampling: bool = True
  sampling_start_value: float = 1.0
  sampling_changing_rate: float = 2e-5
  sampling_stop_iter: int = 50000
  reverse_scheduled_sampling: bool = False
  r_sampling_step_1: int = 25000
  r_sampling_step_2: int = 50000
  r_exp_alpha: float = 5000.0
  schedule: str = "openstl"   # or "linear_over_run" (MS-LSTM authors)
  total_steps: int = 0        # the run's length, for "linear_over_run"
  steps_per_epoch: int = 0    # for "teacher_forcing"

  @classmethod
  def from_config(cls, sampling_cfg, pre: int, aft: int,
                  total_steps: int = 0, steps_per_epoch: int = 0) -> "ScheduledSampling":
    optional = {"schedule": "openstl"}
    fields = {f.name for f in dataclasses.fields(cls)} - {
        "pre_seq_length", "aft_seq_length", "total_steps", "steps_per_epoch",
        *optional}
    return cls(pre, aft, **{k: sampling_cfg[k] for k in fields},
               **{k: sampling_cfg.get(k, v) for k, v in optional.items()},
               total_steps=total_steps, steps_per_epoch=steps_per_epoch)

  def __post_init__(self):
    if self.schedule not in SCHEDULES:
      raise ConfigError(f"sampling.schedule={self.schedule!r}; choose one of "
                        f"{SCHEDULES}.")
    if self.schedule == "linear_over_run" and self.total_steps <= 0:
      raise ConfigError("sampling.schedule='linear_over_run' needs the run's "
                        "total steps (train.epochs x steps per epoch > 0).")
    if self.schedule == "teacher_forcing" and self.steps_per_epoch <= 0:
      raise ConfigError("sampling.schedule='teacher_forcing' needs the steps per "
                        "epoch (> 0): train.epochs and the data's length.")
    if self.schedule == "teacher_forcing" and self.reverse_scheduled_sampling:
      raise ConfigError("sampling.schedule='teacher_forcing' decides the future "
                        "steps only; set sampling.reverse_scheduled_sampling=False.")
    if not 0.0 <= self.sampling_start_value <= 1.0:
      raise ConfigError(f"sampling.sampling_start_value="
                        f"{self.sampling_start_value} must be a probability "
                        f"in [0, 1].")
    if self.sampling_changing_rate < 0:
      raise ConfigError("sampling.sampling_changing_rate must be >= 0.")
    if self.reverse_scheduled_sampling and not (
        self.r_sampling_step_2 > self.r_sampling_step_1 >= 0
        and self.r_exp_alpha > 0):
      raise ConfigError(
          f"reverse scheduled sampling needs 0 <= r_sampling_step_1 "
          f"({self.r_sampling_step_1}) < r_sampling_step_2 "
          f"({self.r_sampling_step_2}) and r_exp_alpha > 0.")

  def probabilities(self, step):
    """(p_observed, p_future): chances of the true frame at iteration `step`
    (0-based, before the update), for observed and future steps."""
    step = jnp.asarray(step, jnp.float32)
    if self.reverse_scheduled_sampling:
      s1, s2 = self.r_sampling_step_1, self.r_sampling_step_2
      ramp = jnp.clip(step - s1, 0.0, None)
      p_obs = jnp.where(step < s1, 0.5, jnp.where(
          step < s2, 1.0 - 0.5 * jnp.exp(-ramp / self.r_exp_alpha), 1.0))
      p_fut = jnp.where(step < s1, 0.5, jnp.where(
          step < s2, 0.5 - 0.5 / (s2 - s1) * ramp, 0.0))
      return p_obs, p_fut
    if not self.scheduled_sampling:
      return jnp.ones(()), jnp.zeros(())
    if self.schedule == "teacher_forcing":
      epoch = jnp.floor(step / self.steps_per_epoch)
      eta = self.sampling_start_value - self.sampling_changing_rate * epoch
      return jnp.ones(()), jnp.clip(eta, 0.0, 1.0)
    if self.schedule == "linear_over_run":
      eta = self.sampling_start_value * (1.0 - step / self.total_steps)
      return jnp.ones(()), jnp.clip(eta, 0.0, 1.0)
    # The reference decrements eta before drawing, so step 0 already uses
    # start - rate.
    eta = self.sampling_start_value - self.sampling_changing_rate * (step + 1)
    eta = jnp.where(step < self.sampling_stop_iter, eta, 0.0)
    return jnp.ones(()), jnp.clip(eta, 0.0, 1.0)

  def __call__(self, step, key, batch: int) -> jax.Array:
    """(B, T-1) true-frame weights for training iteration `step`."""
    p_obs, p_fut = self.probabilities(step)
    k_obs, k_fut = jax.random.split(key)
    draws = (() if self.schedule == "teacher_forcing"   # one coin for all
             else (batch, self.aft_seq_length - 1))
    fut = jnp.broadcast_to(jax.random.uniform(k_fut, draws) < p_fut,
                           (batch, self.aft_seq_length - 1))
    if self.reverse_scheduled_sampling:
      obs = jax.random.uniform(k_obs, (batch, self.pre_seq_length - 1)) < p_obs
      obs = jnp.concatenate([jnp.ones((batch, 1), bool), obs], axis=1)
    else:
      obs = jnp.ones((batch, self.pre_seq_length), bool)
    return jnp.concatenate([obs, fut], axis=1).astype(jnp.float32)


def weights_from_mask(mask, pre_seq_length: int, reverse: bool):
  """OpenSTL's per-step mask (B, n) -> stjax's (B, T-1) true-frame weights.

  Without reverse sampling the mask covers steps T_in .. T-2 (the observed
  steps always see the truth); with it, steps 1 .. T-2 (step 0 always does).
  """
  b = mask.shape[0]
  lead = 1 if reverse else pre_seq_length
  return jnp.concatenate([jnp.ones((b, lead), jnp.float32),
                          jnp.asarray(mask, jnp.float32)], axis=1)
