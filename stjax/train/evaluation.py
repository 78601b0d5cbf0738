"""How a run is scored: one object for validation and the test.

It holds the metric spec (the dataset's metrics, or `eval.metrics`), the
jitted eval and predict steps (the test's own when it predicts further than
training, KTH 10 -> 40), the pictures, and the bookkeeping of which
validations were written, so the loop only says when.
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils

from stjax import metrics, viz
from stjax.data import Datasets, Split, eval_batches, test_horizon
from stjax.train import mesh as mesh_lib
from stjax.train.build import Run


def metric_spec(config, data: Datasets) -> metrics.MetricSpec:
  """The dataset's metrics, or those `eval.metrics` names, with the eval
  section's options."""
  spec = dataclasses.replace(
      data.metrics, clip_errors=bool(config.eval.get("clip_errors", False)),
      lpips_weights=str(config.eval.get("lpips_weights", "")))
  names = tuple(config.eval.get("metrics", ()))
  return dataclasses.replace(spec, names=names) if names else spec


class Evaluation:
  """Validation and test of one run; every process joins, process 0 writes."""

  def __init__(self, run: Run, data: Datasets, mesh, workdir: pathlib.Path):
    config = run.config
    d, self.eval_cfg = config.data, config.eval
    self.data, self.mesh, self.workdir = data, mesh, workdir
    self.spec = metric_spec(config, data)
    # eval.all_steps: all T-1 predictions scored (recurrent models, MS-LSTM
    # code), with the predicted future alone beside them.
    self.all_steps = bool(config.eval.get("all_steps", False))
    self.lead = jax.process_index() == 0
    self.num_threads = d.num_threads
    self.split = Split(d.pre_seq_length, d.aft_seq_length)
    self.test_split = Split(d.pre_seq_length, test_horizon(d))
    self._val = (run.eval_step(self.spec, all_steps=self.all_steps),
                 run.predict())
    horizon = self.test_split.aft_seq_length
    self._test = self._val if horizon == d.aft_seq_length else (
        run.eval_step(self.spec, horizon, self.all_steps), run.predict(horizon))

  # -- validation -------------------------------------------------------------

  def _val_file(self, step: int) -> pathlib.Path:
    return self.workdir / "eval" / f"val_step{step:07d}.json"

  def validate(self, state, step: int) -> dict:
    """Scores the validation set; warns when the score is not finite (that
    checkpoint cannot become the best)."""
    val = self._score(self._val[0], state, self.data.val, self.split)
    if not np.isfinite(val["mse"]) and self.lead:
      print(f"warning: validation MSE is {val['mse']} at step {step}; "
            f"this checkpoint cannot become the best.", file=sys.stderr)
    return val

  def record_validation(self, state, step: int, val: dict, writer) -> None:
    """Pictures, the logged scalars and, last, the eval file: a run stopped
    before it validates that step again (needs_validation)."""
    writer.write(step, {f"val/{k}": v for k, v in val.items()
                        if isinstance(v, float)})
    self._pictures(self._val[1], state, self.data.val, self.split,
                   self.workdir / "pictures" / f"val_step{step:07d}",
                   f"{self.workdir.name}: validation, step {step}")
    if self.lead:
      self._val_file(step).parent.mkdir(exist_ok=True)
      self._val_file(step).write_text(json.dumps(val, indent=1))

  def needs_validation(self, step: int) -> bool:
    """Whether a due validation of `step` has no eval file yet (the run
    stopped between its checkpoint and the file); process 0 decides."""
    missing = not self._val_file(step).exists()
    return bool(multihost_utils.broadcast_one_to_all(np.asarray(missing)))

  # -- test -------------------------------------------------------------------

  def test(self, state, checkpoint_step: int, writer, total_steps: int) -> dict:
    """Scores the test set with `state` (the checkpoint of
    `checkpoint_step`), draws it, writes results.json and returns it."""
    d = self.data
    limit = self.eval_cfg.test_limit or None
    test = self._score(self._test[0], state, d.test, self.test_split, limit)
    self._pictures(self._test[1], state, d.test, self.test_split,
                   self.workdir / "pictures" / "test",
                   f"{self.workdir.name}: test, checkpoint of step "
                   f"{checkpoint_step}")
    note = self.spec.note + ("; all T-1 predictions scored, *_future: the "
                             "predicted frames alone" if self.all_steps else "")
    results = {"checkpoint_step": checkpoint_step,
               "test_set": d.test_description, "metrics_note": note,
               "units": metrics.units(self.spec), "test": test}
    if self.lead:
      (self.workdir / "results.json").write_text(json.dumps(results, indent=1))
      split = self.test_split
      print(f"test ({test['num_sequences']} sequences of "
            f"{split.pre_seq_length} -> {split.aft_seq_length} frames, "
            f"checkpoint of step {checkpoint_step}): "
            f"{metrics.headline(test, self.spec)}; "
            f"written to {self.workdir / 'results.json'}", flush=True)
    writer.write(total_steps, {f"test/{k}": v for k, v in test.items()
                               if isinstance(v, float)})
    return results

  # -- shared -----------------------------------------------------------------

  def _batches(self, source, split, limit=None, num_threads=None):
    return eval_batches(source, split, batch_size=self.eval_cfg.batch_size,
                        limit=limit, process_index=jax.process_index(),
                        process_count=jax.process_count(),
                        num_threads=num_threads or self.num_threads)

  def _score(self, eval_step, state, source, split, limit=None) -> dict:
    """The metrics over every sequence: summary and per-frame curves (with
    all_steps, also the figures over the predicted future alone)."""
    sums = None
    for batch in self._batches(source, split, limit):
      out = eval_step(state.params, state.model_state,
                      mesh_lib.put_batch(batch, self.mesh))
      sums = out if sums is None else jax.tree.map(jnp.add, sums, out)
    future = split.aft_seq_length if self.all_steps else 0
    return metrics.summarize(jax.device_get(sums), self.spec, future)

  def _pictures(self, predict, state, source, split, stem, title) -> None:
    """Draws the first evaluation batch; every process joins, process 0 writes."""
    if not self.eval_cfg.num_pictures:
      return
    batch = next(self._batches(source, split, num_threads=1))
    pred = predict(state.params, state.model_state,
                   mesh_lib.put_batch(batch, self.mesh)["inputs"])
    pred = multihost_utils.process_allgather(pred, tiled=True)
    if self.lead:  # its records are the first of the batch
      local = len(batch["inputs"])
      viz.save_predictions(stem, batch["inputs"], batch["targets"],
                           np.asarray(pred)[:local],
                           max_sequences=self.eval_cfg.num_pictures,
                           title=title)
