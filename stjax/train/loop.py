"""The training loop: data -> sharded steps -> logs, evaluation, checkpoints.

Only logging touches the host inside an epoch: losses accumulate on the device
and are fetched every `train.log_every_steps`.
"""
from __future__ import annotations

import json
import math
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from tqdm import tqdm

from stjax import metrics, viz
from stjax.config_check import validate
from stjax.data import Split, build_datasets, eval_batches, train_batches
from stjax.models import build_model, is_recurrent
from stjax.train import mesh as mesh_lib
from stjax.train.checkpoint import Checkpoints
from stjax.train.optim import build_optimizer
from stjax.train.sampling import ScheduledSampling
from stjax.train.step import (TrainState, make_eval_step, make_predict,
                              make_train_step)
from stjax.train.writer import MetricWriter

_IDENTITY_KEYS = ("data", "model", "loss", "optim", "sampling", "seed")


def _check_same_run(workdir: pathlib.Path, config) -> None:
  """Refuses to resume a workdir that holds a different run."""
  saved_path = workdir / "config.json"
  current = json.loads(config.to_json())
  if saved_path.exists():
    saved = json.loads(saved_path.read_text())
    for key in _IDENTITY_KEYS:
      if saved.get(key) != current.get(key):
        raise SystemExit(
            f"{workdir} holds a run with a different '{key}' configuration; "
            f"resuming it would mix two runs. Use a new --workdir.")
    for key in ("epochs", "batch_size"):
      if saved["train"].get(key) != current["train"].get(key):
        raise SystemExit(
            f"{workdir} holds a run with train.{key}="
            f"{saved['train'].get(key)}; resuming with "
            f"{current['train'].get(key)} would change its schedule. Use a new "
            f"--workdir.")
  else:
    saved_path.write_text(json.dumps(current, indent=2))


def evaluate(eval_step, state, source, split, config, mesh, spec, limit=None):
  """The dataset's metrics over every sequence: summary and per-frame curves."""
  sums = None
  for batch in eval_batches(source, split, batch_size=config.eval.batch_size,
                            limit=limit, process_index=jax.process_index(),
                            process_count=jax.process_count(),
                            num_threads=config.data.num_threads):
    out = eval_step(state.params, state.model_state,
                    mesh_lib.put_batch(batch, mesh))
    sums = out if sums is None else jax.tree.map(jnp.add, sums, out)
  return metrics.summarize(jax.device_get(sums), spec)


def _metrics_text(m: dict) -> str:
  """The headline numbers of an evaluation, in the order tables print them."""
  order = ("mse", "mae", "rmse", "wrmse", "wmae", "ssim", "psnr")
  keys = [k for k in order if k in m] + sorted(
      k for k in m if k.startswith(("csi_", "hss_")))
  return " ".join(f"{k} {m[k]:.4g}" for k in keys)


def _pictures(predict, state, source, split, config, mesh, stem):
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
                         max_sequences=config.eval.num_pictures)


def train_and_evaluate(config, workdir: str) -> dict:
  """Trains (resuming from `workdir` if it holds a run) and tests; returns test metrics."""
  validate(config)
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  lead = jax.process_index() == 0
  if lead:
    _check_same_run(workdir, config)
  mesh = mesh_lib.make_mesh()
  data = build_datasets(config.data)
  split = Split(config.data.pre_seq_length, config.data.aft_seq_length)
  # The test horizon may be longer than the trained one (KTH: 10 -> 20 in
  # training, 10 -> 40 in the test); validation uses the trained one.
  test_frames = config.data.test_aft_seq_length or config.data.aft_seq_length
  test_split = Split(config.data.pre_seq_length, test_frames)
  in_shape = (config.data.pre_seq_length, *data.frame_shape)
  model = build_model(config.model, in_shape=in_shape,
                      out_frames=config.data.aft_seq_length, seed=config.seed)

  batch_size = config.train.batch_size
  steps_per_epoch = len(data.train) // batch_size
  total_steps = config.train.epochs * steps_per_epoch
  tx, lr_schedule = build_optimizer(config.optim, total_steps)
  graphdef, state = TrainState.create(model, tx, config.seed)
  num_params = sum(x.size for x in jax.tree.leaves(state.params))

  ckpts = Checkpoints(workdir, keep=config.train.keep_checkpoints)
  restored = ckpts.restore_latest(state)
  if restored is not None:
    state = restored[0]
  state = mesh_lib.put_replicated(state, mesh)
  start = int(jax.device_get(state.step))
  if lead:
    verb = f"Resuming at step {start}" if start else "Starting"
    print(f"{verb}: {config.model.name} ({num_params:,} parameters) on "
          f"{jax.device_count()} {jax.devices()[0].platform} device(s), "
          f"{total_steps} steps = {config.train.epochs} epochs x "
          f"{steps_per_epoch}; test set: {data.test_description}.", flush=True)

  sampling = (ScheduledSampling.from_config(
      config.sampling, config.data.pre_seq_length, config.data.aft_seq_length)
      if is_recurrent(model) else None)
  train_step = make_train_step(graphdef, tx, config.loss,
                               config.train.compute_dtype, sampling)
  dtype = config.train.compute_dtype
  eval_step = make_eval_step(graphdef, dtype, data.metrics)
  predict = make_predict(graphdef, dtype)
  if test_frames == config.data.aft_seq_length:
    test_step, test_predict = eval_step, predict
  else:
    test_step = make_eval_step(graphdef, dtype, data.metrics, test_frames)
    test_predict = make_predict(graphdef, dtype, test_frames)
  writer = MetricWriter(workdir, enabled=lead)
  batches = train_batches(
      data.train, split, batch_size=batch_size, start_step=start,
      num_steps=total_steps, seed=config.data.seed,
      generated=data.generated_train, process_index=jax.process_index(),
      process_count=jax.process_count(), num_threads=config.data.num_threads)

  def meta():
    # The pipeline is random access: the step is the data position.
    done = int(jax.device_get(state.step))
    return {"step": done, "records_consumed": done * batch_size}

  step = start
  while step < total_steps:
    epoch = step // steps_per_epoch
    epoch_end = (epoch + 1) * steps_per_epoch
    bar = tqdm(total=steps_per_epoch, initial=step - epoch * steps_per_epoch,
               desc=f"epoch {epoch + 1}/{config.train.epochs}", disable=not lead,
               dynamic_ncols=True, mininterval=1.0, file=sys.stderr)
    sums, logged, t0, epoch_terms = None, 0, time.perf_counter(), []
    while step < epoch_end:
      state, m = train_step(state, mesh_lib.put_batch(next(batches), mesh))
      sums = m if sums is None else jax.tree.map(jnp.add, sums, m)
      logged, step = logged + 1, step + 1
      bar.update(1)
      if step % config.train.log_every_steps == 0 or step == epoch_end:
        # The one host sync of the interval: every term's mean (the loss, its
        # parts, TMU's transfer gates).
        terms = {k: float(v) / logged for k, v in jax.device_get(sums).items()}
        loss = terms["loss"]
        if not math.isfinite(loss):
          raise SystemExit(
              f"The training loss became {loss} at step {step}. Checkpoints "
              f"up to the last good step are kept in {ckpts.latest_dir}; lower "
              f"optim.lr or set optim.grad_clip, and use a new --workdir.")
        rate = logged * batch_size / (time.perf_counter() - t0)
        bar.set_postfix(loss=f"{loss:.5f}", seq_s=f"{rate:.1f}")
        writer.write(step, {**{f"train/{k}": v for k, v in terms.items()},
                            "train/seq_per_s": rate,
                            "train/lr": float(lr_schedule(step - 1))})
        epoch_terms.append(terms)
        sums, logged, t0 = None, 0, time.perf_counter()
      if config.train.ckpt_every_steps and step % config.train.ckpt_every_steps == 0:
        ckpts.save(state, meta())
      if step == config.train.stop_after_step:
        bar.close()
        ckpts.close()
        writer.close()
        if lead:
          print(f"Stopped after step {step} (train.stop_after_step); run the "
                f"same command again to resume.", flush=True)
        return {}
    bar.close()

    val = None
    if (epoch + 1) % config.train.eval_every_epochs == 0 or step == total_steps:
      val = evaluate(eval_step, state, data.val, split, config, mesh,
                     data.metrics)
      writer.write(step, {f"val/{k}": v for k, v in val.items()
                          if isinstance(v, float)})
      _pictures(predict, state, data.val, split, config, mesh,
                workdir / "pictures" / f"val_step{step:07d}")
      if lead:
        (workdir / "eval").mkdir(exist_ok=True)
        (workdir / "eval" / f"val_step{step:07d}.json").write_text(
            json.dumps(val, indent=1))
    ckpts.save(state, meta(), val_mse=None if val is None else val["mse"])
    if lead:
      val_text = "" if val is None else f" | val {_metrics_text(val)}"
      mean = lambda k: np.mean([t[k] for t in epoch_terms])
      gates = sorted(k for k in epoch_terms[0] if k.startswith("gate_"))
      gate_text = ("" if not gates else " | transfer gates " + " ".join(
          f"{k[5:]}:{mean(k):.3f}" for k in gates))
      print(f"epoch {epoch + 1}/{config.train.epochs} step {step} | train "
            f"loss {mean('loss'):.5f}{gate_text}{val_text}", flush=True)
  ckpts.wait()

  best = ckpts.restore_best(jax.device_get(state))
  best_step = step
  if best is not None:
    state = mesh_lib.put_replicated(best[0], mesh)
    best_step = int(best[1]["step"])
  test = evaluate(test_step, state, data.test, test_split, config, mesh,
                  data.metrics, limit=config.eval.test_limit or None)
  _pictures(test_predict, state, data.test, test_split, config, mesh,
            workdir / "pictures" / "test")
  results = {"checkpoint_step": best_step, "test_set": data.test_description,
             "metrics_note": (
                 "ssim: Gaussian 11x11, data range 1; ssim_openstl: OpenSTL's "
                 "table convention (7x7 uniform, range 2)"
                 if data.metrics.kind == "image" else
                 "errors in the variable's units; rmse/wrmse: roots of the "
                 "mean over all frames; w*: latitude-weighted"),
             "test": test}
  if lead:
    (workdir / "results.json").write_text(json.dumps(results, indent=1))
    print(f"test ({test['num_sequences']} sequences of {config.data.pre_seq_length}"
          f" -> {test_frames} frames, checkpoint of step {best_step}): "
          f"{_metrics_text(test)}; written to {workdir / 'results.json'}",
          flush=True)
  writer.write(total_steps, {f"test/{k}": v for k, v in test.items()
                             if isinstance(v, float)})
  writer.close()
  ckpts.close()
  return results
