"""The training loop: one loop over global steps, with logging, checkpoints
and evaluation triggered by the step.

    for step in 1 .. total:   train_step (jitted, state donated)
      every log_every_steps   the one host sync: mean loss terms -> writer
      every ckpt_every_steps  checkpoint
      every epoch's end       validation (every eval_every_epochs), checkpoint
    test the best checkpoint -> results.json

The writer and the checkpoint managers are context managers, so they flush
and close however the run ends. Failures are stjax.errors exceptions; only the
command line turns them into a message and an exit code.
"""
from __future__ import annotations

import dataclasses
import json
import math
import pathlib
import signal
import sys
import threading
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from tqdm import tqdm

from stjax import metrics, viz
from stjax.config_check import validate
from stjax.data import (Split, build_datasets, eval_batches, test_horizon,
                        train_batches)
from stjax.errors import (CheckpointError, ConfigError, DivergenceError,
                          WorkdirError)
from stjax.models import is_recurrent
from stjax.train import mesh as mesh_lib
from stjax.train.checkpoint import Checkpoints
from stjax.train.optim import build_optimizer
from stjax.train.pretrained import build_run_model
from stjax.train.sampling import ScheduledSampling
from stjax.train.step import (NONFINITE, TrainState, accumulate,
                              make_eval_step, make_predict, make_train_step)
from stjax.train.writer import MetricWriter

_IDENTITY_KEYS = ("data", "model", "loss", "optim", "sampling", "seed")


def _check_same_run(workdir: pathlib.Path, config) -> None:
  """Refuses to resume a workdir that holds a different run."""
  saved_path = workdir / "config.json"
  if not saved_path.exists():
    return
  saved, current = json.loads(saved_path.read_text()), json.loads(config.to_json())
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


def _metric_spec(config, data, model):
  """(MetricSpec, all_steps): the dataset's metrics, or those `eval.metrics`
  names; `eval.all_steps` scores all T-1 predictions (recurrent models)."""
  spec = dataclasses.replace(
      data.metrics, clip_errors=bool(config.eval.get("clip_errors", False)),
      lpips_weights=str(config.eval.get("lpips_weights", "")))
  names = tuple(config.eval.get("metrics", ()))
  if names:
    spec = dataclasses.replace(spec, names=names)
  if config.eval.get("test_checkpoint", "best") not in ("best", "last"):
    raise ConfigError(f"eval.test_checkpoint={config.eval.test_checkpoint!r}; "
                      f"choose 'best' (lowest validation mse) or 'last'.")
  all_steps = bool(config.eval.get("all_steps", False))
  if all_steps and not is_recurrent(model):
    raise ConfigError(f"eval.all_steps scores the reconstructions of the "
                      f"observed frames, which only recurrent models make; "
                      f"{config.model.name} predicts the future frames only.")
  return spec, all_steps


def evaluate(eval_step, state, source, split, config, mesh, spec, limit=None):
  """The dataset's metrics over every sequence: summary and per-frame curves
  (with eval.all_steps, also the figures over the predicted future alone)."""
  sums = None
  for batch in eval_batches(source, split, batch_size=config.eval.batch_size,
                            limit=limit, process_index=jax.process_index(),
                            process_count=jax.process_count(),
                            num_threads=config.data.num_threads):
    out = eval_step(state.params, state.model_state,
                    mesh_lib.put_batch(batch, mesh))
    sums = out if sums is None else jax.tree.map(jnp.add, sums, out)
  future = split.aft_seq_length if config.eval.get("all_steps", False) else 0
  return metrics.summarize(jax.device_get(sums), spec, future)


def _pictures(predict, state, source, split, config, mesh, stem, title):
  """Draws the first evaluation batch; every process joins, process 0 writes."""
  if not config.eval.num_pictures:
    return
  batch = next(eval_batches(source, split, batch_size=config.eval.batch_size,
                            num_threads=1, process_index=jax.process_index(),
                            process_count=jax.process_count()))
  pred = predict(state.params, state.model_state,
                 mesh_lib.put_batch(batch, mesh)["inputs"])
  pred = multihost_utils.process_allgather(pred, tiled=True)
  if jax.process_index() == 0:  # its records are the first of the batch
    local = len(batch["inputs"])
    viz.save_predictions(stem, batch["inputs"], batch["targets"],
                         np.asarray(pred)[:local],
                         max_sequences=config.eval.num_pictures, title=title)


def train_and_evaluate(config, workdir: str) -> dict:
  """Trains (resuming from `workdir` if it holds a run) and tests; returns
  the test results, or {} when stopped early (train.stop_after_step)."""
  validate(config)
  workdir = pathlib.Path(workdir)
  lead = jax.process_index() == 0
  _check_same_run(workdir, config)
  mesh = mesh_lib.make_mesh()
  data = build_datasets(config.data)
  d, t = config.data, config.train
  split = Split(d.pre_seq_length, d.aft_seq_length)
  test_split = Split(d.pre_seq_length, test_horizon(d))
  model = build_run_model(config)

  steps_per_epoch = len(data.train) // t.batch_size
  total_steps = t.epochs * steps_per_epoch
  reverse = bool(t.get("reverse_input", False))  # two updates per step
  tx, lr_schedule = build_optimizer(config.optim,
                                    total_steps * (2 if reverse else 1))
  graphdef, state = TrainState.create(model, tx, config.seed)
  num_params = sum(x.size for x in jax.tree.leaves(state.params))
  sampling = (ScheduledSampling.from_config(
      config.sampling, d.pre_seq_length, d.aft_seq_length, total_steps)
      if is_recurrent(model) else None)
  dtype = t.compute_dtype
  train_step = make_train_step(graphdef, tx, config.loss, dtype, sampling,
                               reverse_input=reverse)
  spec, all_steps = _metric_spec(config, data, model)
  eval_step = make_eval_step(graphdef, dtype, spec, all_steps=all_steps)
  predict = make_predict(graphdef, dtype)
  if test_split.aft_seq_length == d.aft_seq_length:
    test_step, test_predict = eval_step, predict
  else:  # a longer test horizon: the same model, rolled out further
    horizon = test_split.aft_seq_length
    test_step = make_eval_step(graphdef, dtype, spec, horizon, all_steps)
    test_predict = make_predict(graphdef, dtype, horizon)

  # Everything above can refuse the config; only now is anything written.
  workdir.mkdir(parents=True, exist_ok=True)
  if lead and not (workdir / "config.json").exists():
    (workdir / "config.json").write_text(config.to_json(indent=2))
  if lead:  # how its predictions are scored, for stjax.load_run(...).evaluate
    metrics.save_metric_spec(spec, workdir)

  replicated = mesh_lib.replicated(mesh)
  with Checkpoints(workdir, keep=t.keep_checkpoints) as ckpts, \
       _Preemption() as preemption:
    restored = ckpts.restore_latest(state, replicated)
    state = (restored[0] if restored is not None
             else mesh_lib.put_replicated(state, mesh))
    start = int(jax.device_get(state.step))
    if lead:
      verb = f"Resuming at step {start}" if start else "Starting"
      print(f"{verb}: {config.model.name} ({num_params:,} parameters) on "
            f"{jax.device_count()} {jax.devices()[0].platform} device(s), "
            f"{total_steps} steps = {t.epochs} epochs x {steps_per_epoch}; "
            f"test set: {data.test_description}.", flush=True)
    writer = MetricWriter(workdir, enabled=lead, resume_step=start)

    def meta(step):  # the pipeline is random access: the step is the position
      return {"step": step, "records_consumed": step * t.batch_size}

    def end_epoch(state, step):
      """Validation when due, then the checkpoint that records it; the eval
      file is written last, so a run stopped in between validates again."""
      epoch = step // steps_per_epoch
      val = None
      if epoch % t.eval_every_epochs == 0 or step == total_steps:
        val = evaluate(eval_step, state, data.val, split, config, mesh,
                       spec)
        if not math.isfinite(val["mse"]) and lead:
          print(f"warning: validation MSE is {val['mse']} at step {step}; "
                f"this checkpoint cannot become the best.", file=sys.stderr)
      ckpts.save(state, meta(step), val_mse=None if val is None else val["mse"])
      if val is not None:
        writer.write(step, {f"val/{k}": v for k, v in val.items()
                            if isinstance(v, float)})
        _pictures(predict, state, data.val, split, config, mesh,
                  workdir / "pictures" / f"val_step{step:07d}",
                  f"{workdir.name}: validation, step {step}")
        if lead:
          (workdir / "eval").mkdir(exist_ok=True)
          (workdir / "eval" / f"val_step{step:07d}.json").write_text(
              json.dumps(val, indent=1))
      writer.flush()
      return val

    with writer:
      if start and start % steps_per_epoch == 0 and _needs_validation(
          workdir, start, start // steps_per_epoch, t.eval_every_epochs,
          start == total_steps):
        end_epoch(state, start)  # stopped between its checkpoint and eval file
      batches = train_batches(
          data.train, split, batch_size=t.batch_size, start_step=start,
          num_steps=total_steps, seed=d.seed, generated=data.generated_train,
          process_index=jax.process_index(), process_count=jax.process_count(),
          num_threads=d.num_threads)

      def check_finite(sums, step):
        """Raises if a step up to `step` had a non-finite loss or gradient;
        nothing non-finite is ever checkpointed (one scalar fetched, at log
        and checkpoint steps only)."""
        bad = int(jax.device_get(sums[NONFINITE])) if sums is not None else 0
        if bad:
          last = ckpts.latest_step()
          where = (f"the last good checkpoint is step {last} in "
                   f"{ckpts.latest_dir}" if last is not None else
                   "no checkpoint was saved before it")
          raise DivergenceError(
              f"The training loss or gradient became non-finite at step "
              f"{bad}; {where}. Lower optim.lr or set optim.grad_clip, and use "
              f"a new --workdir.")

      sums, logged, t0, epoch_terms = None, 0, time.perf_counter(), []
      bar = tqdm(total=total_steps, initial=start, disable=not lead,
                 dynamic_ncols=True, mininterval=1.0, file=sys.stderr)
      with bar:
        for step in range(start + 1, total_steps + 1):  # steps done after it
          epoch, epoch_end = -(-step // steps_per_epoch), step % steps_per_epoch == 0
          bar.set_description(f"epoch {epoch}/{t.epochs}", refresh=False)
          state, m = train_step(state, mesh_lib.put_batch(next(batches), mesh))
          sums = accumulate(sums, m)
          logged += 1
          bar.update(1)
          saving = epoch_end or (t.ckpt_every_steps
                                 and step % t.ckpt_every_steps == 0)
          if step % t.log_every_steps == 0 or epoch_end:
            # The one host sync of the interval: every term's mean (the
            # loss, its parts, what the model reports such as TMU's gates).
            check_finite(sums, step)
            terms = {k: float(v) / logged for k, v in jax.device_get(sums).items()
                     if k != NONFINITE}
            rate = logged * t.batch_size / (time.perf_counter() - t0)
            bar.set_postfix(loss=f"{terms['loss']:.5f}", seq_s=f"{rate:.1f}")
            writer.write(step, {**{f"train/{k}": v for k, v in terms.items()},
                                "train/seq_per_s": rate,
                                "train/lr": float(lr_schedule(
                                    (step - 1) * (2 if reverse else 1)))})
            epoch_terms.append(terms)
            sums, logged, t0 = None, 0, time.perf_counter()
          elif saving:
            check_finite(sums, step)
          if epoch_end:
            val = end_epoch(state, step)
            if lead:
              bar.clear()
              print(_epoch_line(epoch, t.epochs, step, epoch_terms, val),
                    flush=True)
            epoch_terms = []
          elif saving:
            ckpts.save(state, meta(step))
            writer.flush()
          preemption.check_interrupt()
          stop = step == t.stop_after_step
          if step < total_steps and (preemption.reached(step) or stop):
            if not (saving or epoch_end):
              check_finite(sums, step)
              ckpts.save(state, meta(step))
            if lead:
              bar.clear()
              why = ("train.stop_after_step" if stop else
                     "preempted: SIGTERM")
              print(f"Stopped after step {step} ({why}); checkpoint saved. Run "
                    f"the same command again to resume.", flush=True)
            return {}
      ckpts.wait()
      preemption.check_interrupt()

      best = None
      if config.eval.get("test_checkpoint", "best") == "best":
        try:
          best = ckpts.restore_best(state, replicated)
        except CheckpointError as e:  # tested on the final state instead
          if lead:
            print(f"warning: {e} Testing the final state instead.",
                  file=sys.stderr, flush=True)
      best_step = total_steps
      if best is not None:
        state, best_step = best[0], int(best[1]["step"])
      test = evaluate(test_step, state, data.test, test_split, config, mesh,
                      spec, limit=config.eval.test_limit or None)
      _pictures(test_predict, state, data.test, test_split, config, mesh,
                workdir / "pictures" / "test",
                f"{workdir.name}: test, checkpoint of step {best_step}")
      results = {"checkpoint_step": best_step, "test_set": data.test_description,
                 "metrics_note": spec.note + (
                     "; all T-1 predictions scored, *_future: the predicted "
                     "frames alone" if all_steps else ""), "test": test}
      if lead:
        (workdir / "results.json").write_text(json.dumps(results, indent=1))
        print(f"test ({test['num_sequences']} sequences of {d.pre_seq_length} "
              f"-> {test_split.aft_seq_length} frames, checkpoint of step "
              f"{best_step}): {metrics.headline(test)}; written to "
              f"{workdir / 'results.json'}", flush=True)
      writer.write(total_steps, {f"test/{k}": v for k, v in test.items()
                                 if isinstance(v, float)})
  return results


def _needs_validation(workdir, step, epoch, every, last) -> bool:
  """Whether an epoch-end checkpoint at `step` still lacks its validation
  (the run stopped between the two); process 0 decides for every process."""
  due = epoch % every == 0 or last
  missing = due and not (workdir / "eval" / f"val_step{step:07d}.json").exists()
  return bool(multihost_utils.broadcast_one_to_all(np.asarray(missing)))


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

  def __enter__(self) -> "_Preemption":
    if threading.current_thread() is threading.main_thread():
      if not self.multi:
        self._previous = signal.signal(signal.SIGTERM, self._on_signal)
      self._previous_int = signal.signal(signal.SIGINT, self._on_interrupt)
    return self

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


def _epoch_line(epoch, epochs, step, epoch_terms, val) -> str:
  """One line per epoch: the mean training loss, TMU's transfer gates, and the
  validation numbers when it validated."""
  mean = lambda k: np.mean([terms[k] for terms in epoch_terms])
  gates = sorted(k for k in epoch_terms[0] if k.startswith("gate_"))
  gate_text = ("" if not gates else " | transfer gates " + " ".join(
      f"{k[5:]}:{mean(k):.3f}" for k in gates))
  val_text = "" if val is None else f" | val {metrics.headline(val)}"
  return (f"epoch {epoch}/{epochs} step {step} | train loss "
          f"{mean('loss'):.5f}{gate_text}{val_text}")
