"""The training loop: one loop over global steps, its decisions each in one
place.

    for step in 1 .. total:   train_step (jitted, state donated)
      Schedule.logs           the one host sync: mean loss terms -> writer
                              (and the finiteness check)
      Schedule.saves          checkpoint (every ckpt_every_steps, epoch ends)
      Schedule.validates      validation at due epoch ends, before its checkpoint
      stop                    SIGTERM / train.stop_after_step: save and return
    test the best checkpoint -> results.json

The writer and the checkpoint managers are context managers, so they flush
and close however the run ends. Failures are stjax.errors exceptions; only the
command line turns them into a message and an exit code.
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
import signal
import sys
import threading
import time

import jax
import numpy as np
from jax.experimental import multihost_utils
from tqdm import tqdm

from stjax import metrics
from stjax.config_check import validate
from stjax.data import build_datasets, train_batches
from stjax.errors import CheckpointError, DivergenceError, WorkdirError
from stjax.train import mesh as mesh_lib
from stjax.train.build import Run, build_run
from stjax.train.checkpoint import Checkpoints
from stjax.train.evaluation import Evaluation
from stjax.train.pretrained import load_model, record_registrations
from stjax.train.step import NONFINITE, accumulate
from stjax.train.writer import MetricWriter

_IDENTITY_KEYS = ("data", "model", "loss", "optim", "sampling", "seed")
# More steps than this on a CPU: a paper-sized run, warned about at the start.
CPU_STEPS_WARNING = 5000


def train_and_evaluate(config, workdir: str) -> dict:
  """Trains (resuming from `workdir` if it holds a run) and tests; returns
  the test results, or {} when stopped early (train.stop_after_step, SIGTERM)."""
  validate(config)
  workdir = pathlib.Path(workdir)
  _check_same_run(workdir, config)
  data = build_datasets(config.data)
  schedule = Schedule.of(config, len(data.train))
  run = build_run(config, schedule.total_steps, pretrained=load_model)
  mesh = mesh_lib.make_mesh()
  evaluation = Evaluation(run, data, mesh, workdir)
  _write_run_files(workdir, config, evaluation.spec)  # nothing written before
  with Checkpoints(workdir, keep=config.train.keep_checkpoints) as ckpts, \
       _Preemption() as preemption:
    restored = ckpts.restore_latest(run.state, mesh_lib.replicated(mesh))
    state = (restored[0] if restored is not None
             else mesh_lib.put_replicated(run.state, mesh))
    start = int(jax.device_get(state.step))
    _announce(run, data, schedule, start)
    with MetricWriter(workdir, enabled=jax.process_index() == 0,
                      resume_step=start) as writer:
      trainer = _Trainer(run, schedule, evaluation, ckpts, writer, preemption)
      state = trainer.train(state, start, data, mesh)
      if state is None:
        return {}
      state, step = _state_to_test(config, ckpts, state, schedule.total_steps,
                                   mesh)
      return evaluation.test(state, step, writer, schedule.total_steps)


@dataclasses.dataclass(frozen=True)
class Schedule:
  """When the loop logs, saves, validates and stops (steps are 1-based)."""
  steps_per_epoch: int
  epochs: int
  log_every: int
  ckpt_every: int     # 0: only at epoch ends
  eval_every: int     # epochs
  stop_after: int     # 0: never

  @classmethod
  def of(cls, config, train_size: int) -> "Schedule":
    t = config.train
    return cls(train_size // t.batch_size, t.epochs, t.log_every_steps,
               t.ckpt_every_steps, t.eval_every_epochs, t.stop_after_step)

  @property
  def total_steps(self) -> int:
    return self.epochs * self.steps_per_epoch

  def epoch(self, step: int) -> int:
    return -(-step // self.steps_per_epoch)

  def ends_epoch(self, step: int) -> bool:
    return step % self.steps_per_epoch == 0

  def logs(self, step: int) -> bool:
    return step % self.log_every == 0 or self.ends_epoch(step)

  def saves(self, step: int) -> bool:
    return self.ends_epoch(step) or bool(
        self.ckpt_every and step % self.ckpt_every == 0)

  def validates(self, step: int) -> bool:
    return self.ends_epoch(step) and (
        self.epoch(step) % self.eval_every == 0 or step == self.total_steps)

  def stops_early(self, step: int, preempted: bool) -> bool:
    return step < self.total_steps and (preempted or step == self.stop_after)


class _Trainer:
  """The step loop and what it does at each kind of step."""

  def __init__(self, run: Run, schedule: Schedule, evaluation: Evaluation,
               ckpts: Checkpoints, writer: MetricWriter, preemption):
    self.run, self.schedule, self.evaluation = run, schedule, evaluation
    self.ckpts, self.writer, self.preemption = ckpts, writer, preemption
    self.lead = jax.process_index() == 0
    self.sums, self.count, self.t0, self.epoch_terms = None, 0, 0.0, []
    self.bar = None
    self.logs = 0

  def train(self, state, start: int, data, mesh):
    """Steps from `start` to the end; the final state, or None if stopped."""
    s, t = self.schedule, self.run.config.train
    if start and s.validates(start) and self.evaluation.needs_validation(start):
      self.end_epoch(state, start)  # stopped between its checkpoint and eval file
    d = self.run.config.data
    batches = train_batches(
        data.train, self.evaluation.split, batch_size=t.batch_size,
        start_step=start, num_steps=s.total_steps, seed=d.seed,
        generated=data.generated_train, process_index=jax.process_index(),
        process_count=jax.process_count(), num_threads=d.num_threads)
    self.t0 = time.perf_counter()
    self.bar = bar = tqdm(total=s.total_steps, initial=start, disable=not self.lead,
               dynamic_ncols=True, mininterval=1.0, file=sys.stderr)
    with bar:
      for step in range(start + 1, s.total_steps + 1):  # steps done after it
        bar.set_description(f"epoch {s.epoch(step)}/{s.epochs}", refresh=False)
        state, m = self.run.train_step(state, mesh_lib.put_batch(next(batches),
                                                                 mesh))
        self.sums = accumulate(self.sums, m)
        self.count += 1
        bar.update(1)
        if s.logs(step):
          self.log(step)
        if s.ends_epoch(step):
          self.end_epoch(state, step)
        elif s.saves(step):
          self.save(state, step)
        self.preemption.check_interrupt()
        if s.stops_early(step, self.preemption.reached(step)):
          self.save(state, step)  # once: a step already saved is not saved again
          self._say(f"Stopped after step {step} ("
                    f"{'train.stop_after_step' if step == s.stop_after else 'preempted: SIGTERM'}"
                    f"); checkpoint saved. Run the same command again to "
                    f"resume.")
          return None
    self.ckpts.wait()
    self.preemption.check_interrupt()
    return state

  def check_finite(self, step: int) -> None:
    """Raises if a step up to `step` had a non-finite loss or gradient, so
    nothing non-finite is ever logged or checkpointed (one scalar fetched)."""
    bad = int(jax.device_get(self.sums[NONFINITE])) if self.sums else 0
    if bad:
      last = self.ckpts.latest_step()
      where = (f"the last good checkpoint is step {last} in "
               f"{self.ckpts.latest_dir}" if last is not None else
               "no checkpoint was saved before it")
      raise DivergenceError(
          f"The training loss or gradient became non-finite at step {bad}; "
          f"{where}. Lower optim.lr or set optim.grad_clip, and use a new "
          f"--workdir.")

  def log(self, step: int) -> None:
    """The one host sync of the interval: every term's mean (the loss, its
    parts, what the model reports such as TMU's gates)."""
    self.check_finite(step)
    terms = {k: float(v) / self.count
             for k, v in jax.device_get(self.sums).items() if k != NONFINITE}
    rate = self.count * self.run.config.train.batch_size / (
        time.perf_counter() - self.t0)
    self.bar.set_postfix(loss=f"{terms['loss']:.5f}", seq_s=f"{rate:.1f}")
    self.writer.write(step, {**{f"train/{k}": v for k, v in terms.items()},
                             "train/seq_per_s": rate,
                             "train/lr": self.run.lr_at(step)})
    self.epoch_terms.append(terms)
    self.logs += 1
    if self.logs == 2:  # the first interval includes the compile
      self._estimate(step, rate)
    self.sums, self.count, self.t0 = None, 0, time.perf_counter()

  def _estimate(self, step: int, rate: float) -> None:
    left = self.schedule.total_steps - step
    if left <= 0 or not self.lead:
      return
    hours = left * self.run.config.train.batch_size / rate / 3600
    took = (f"{hours:.3g} h" if hours >= 1 else f"{hours * 60:.2g} min"
            if hours >= 1 / 60 else f"{hours * 3600:.0f} s")
    self._say(f"time estimate: {took} for the remaining {left:,} steps "
              f"at {rate:.3g} sequences/s on {jax.device_count()} "
              f"{jax.devices()[0].platform} device(s), without evaluation")

  def save(self, state, step: int, val: dict | None = None) -> None:
    self.check_finite(step)
    self.ckpts.save(state, {"step": step},
                    val_mse=None if val is None else val["mse"])
    self.writer.flush()

  def end_epoch(self, state, step: int) -> None:
    """Validation when due, then the checkpoint that records it, then the
    validation's files (written last: see Evaluation.record_validation)."""
    val = (self.evaluation.validate(state, step)
           if self.schedule.validates(step) else None)
    self.save(state, step, val)
    if val is not None:
      self.evaluation.record_validation(state, step, val, self.writer)
      self.writer.flush()
    if self.epoch_terms:
      self._say(_epoch_line(self.schedule, step, self.epoch_terms, val,
                            self.evaluation.spec,
                            self.run.config.loss.get("reduction", "mean")))
    self.epoch_terms = []

  def _say(self, line: str) -> None:
    if self.lead:
      if self.bar is not None:
        self.bar.clear()
      print(line, flush=True)


def _state_to_test(config, ckpts, state, total_steps, mesh):
  """(state, its step): the best checkpoint's, or the final one
  (eval.test_checkpoint "last", or no best to restore)."""
  if config.eval.get("test_checkpoint", "best") == "best":
    try:
      best = ckpts.restore_best(state, mesh_lib.replicated(mesh))
    except CheckpointError as e:  # tested on the final state instead
      best = None
      if jax.process_index() == 0:
        print(f"warning: {e} Testing the final state instead.",
              file=sys.stderr, flush=True)
    if best is not None:
      return best[0], int(best[1]["step"])
  return state, total_steps


def _check_same_run(workdir: pathlib.Path, config) -> None:
  """Refuses to resume a workdir that holds a different run."""
  saved_path = workdir / "config.json"
  if not saved_path.exists():
    return
  saved, current = json.loads(saved_path.read_text()), json.loads(config.to_json())
  for run in (saved, current):  # stjax 0.1 gave every loss section DDR's constants
    loss = run.get("loss", {})
    if "ddr" not in loss.get("terms", {}):
      loss.pop("ddr_tau", None)
      loss.pop("ddr_eps", None)
  for key in _IDENTITY_KEYS:
    if saved.get(key) != current.get(key):
      raise WorkdirError(
          f"{workdir} holds a run with a different '{key}' configuration; "
          f"resuming it would mix two runs. Use a new --workdir.")
  for key in ("epochs", "batch_size"):
    if saved["train"].get(key) != current["train"].get(key):
      raise WorkdirError(
          f"{workdir} holds a run with train.{key}="
          f"{saved['train'].get(key)}; resuming with "
          f"{current['train'].get(key)} would change its schedule. Use a new "
          f"--workdir.")


def _write_run_files(workdir: pathlib.Path, config, spec) -> None:
  """config.json, how its predictions are scored (for load_run(...).evaluate)
  and the modules outside stjax that registered what it uses."""
  workdir.mkdir(parents=True, exist_ok=True)
  if jax.process_index() != 0:
    return
  if not (workdir / "config.json").exists():
    (workdir / "config.json").write_text(config.to_json(indent=2))
  metrics.save_metric_spec(spec, workdir)
  record_registrations(workdir, config, spec.names)


def _announce(run: Run, data, schedule: Schedule, start: int) -> None:
  if jax.process_index() == 0:
    verb = f"Resuming at step {start}" if start else "Starting"
    print(f"{verb}: {run.config.model.name} ({run.num_params:,} parameters) on "
          f"{jax.device_count()} {jax.devices()[0].platform} device(s), "
          f"{schedule.total_steps} steps = {schedule.epochs} epochs x "
          f"{schedule.steps_per_epoch}; test set: {data.test_description}.",
          flush=True)
    if (jax.devices()[0].platform == "cpu"
        and schedule.total_steps - start > CPU_STEPS_WARNING):
      print(f"warning: {schedule.total_steps - start:,} steps on the CPU; "
            f"this config is sized for a GPU or TPU (its :smoke variant runs "
            f"on a CPU). A time estimate follows the first steps.",
            file=sys.stderr, flush=True)


class _Preemption:
  """Stops at one step every process agrees on when the scheduler sends
  SIGTERM (TPU and cloud preemption): with several processes through JAX's
  preemption sync point (jax.distributed's coordination service catches the
  signal), with one through a signal handler. A context manager that puts
  the previous handler back."""

  def __init__(self):
    self.multi = jax.process_count() > 1
    self.requested, self.interrupted = False, False
    self._previous, self._previous_int = None, None
    self._previous_hook = None

  def __enter__(self) -> "_Preemption":
    if threading.current_thread() is threading.main_thread():
      if not self.multi:
        self._previous = signal.signal(signal.SIGTERM, self._on_signal)
      self._previous_int = signal.signal(signal.SIGINT, self._on_interrupt)
      self._previous_hook = sys.unraisablehook
      sys.unraisablehook = self._on_unraisable
    return self

  def _on_unraisable(self, unraisable) -> None:
    """A Ctrl-C that landed in a callback (JAX's gc hook) is raised again at
    the next step; Python would print its traceback as 'ignored'."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
      self.interrupted = True
      return
    self._previous_hook(unraisable)

  def _on_signal(self, signum, frame) -> None:
    del signum, frame
    self.requested = True

  def _on_interrupt(self, signum, frame) -> None:
    """Ctrl-C: raises KeyboardInterrupt as Python would, and remembers it,
    because one that lands in a callback (JAX's garbage-collection hook) is
    swallowed there; the loop raises it again at the next step."""
    del signum, frame
    self.interrupted = True
    raise KeyboardInterrupt

  def check_interrupt(self) -> None:
    if self.interrupted:
      raise KeyboardInterrupt

  def reached(self, step: int) -> bool:
    if self.multi:
      return multihost_utils.reached_preemption_sync_point(step)
    return self.requested

  def __exit__(self, *exc) -> None:
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)
    if self._previous_int is not None:
      signal.signal(signal.SIGINT, self._previous_int)
    if self._previous_hook is not None:
      sys.unraisablehook = self._previous_hook


_LOSS_UNIT = {"mean": "mean per pixel", "frame_sum": "sum per frame",
              "sequence_sum": "sum per sequence"}


def _epoch_line(schedule: Schedule, step: int, epoch_terms, val, spec,
                reduction: str) -> str:
  """One line per epoch: the mean training loss (with its reduction), TMU's
  transfer gates, and the validation numbers, with units, when it validated."""
  mean = lambda k: np.mean([terms[k] for terms in epoch_terms])
  gates = sorted(k for k in epoch_terms[0] if k.startswith("gate_"))
  gate_text = ("" if not gates else " | transfer gates " + " ".join(
      f"{k[5:]}:{mean(k):.3f}" for k in gates))
  val_text = "" if val is None else f" | val {metrics.headline(val, spec)}"
  return (f"epoch {schedule.epoch(step)}/{schedule.epochs} step {step} | "
          f"train loss {mean('loss'):.5f} ({_LOSS_UNIT.get(reduction, reduction)})"
          f"{gate_text}{val_text}")
