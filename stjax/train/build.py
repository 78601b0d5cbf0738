"""One way to build a run: config -> model -> optimizer -> train state -> steps.

Everything that trains, predicts, measures or checks a config builds it here
(the loop, prediction, transfer, the benchmark and the OpenSTL comparison,
the parity checks, the tests), so they all run the same program:

    run = build_run(config, total_steps)   # model, optimizer, state, steps
    state, metrics = run.train_step(run.state, batch)

`build_weights(config)` is the half that prediction needs: the model and its
weights, no optimizer.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import optax
from flax import nnx

from stjax.data import frame_shape
from stjax.metrics import MetricSpec
from stjax.models import build_model, family
from stjax.models.finetune import Pretrained
from stjax.train.optim import build_optimizer
from stjax.train.sampling import ScheduledSampling
from stjax.train.step import (TRAINABLE, TrainState, make_eval_step,
                              make_gradient, make_predict, make_train_step)


def build_run_model(config, pretrained: Pretrained | None = None) -> nnx.Module:
  """The freshly initialised model of `config` (the finished runs it starts
  from read through `pretrained`, a workdir -> model loader)."""
  d = config.data
  return build_model(config.model, in_shape=(d.pre_seq_length, *frame_shape(d)),
                     out_frames=d.aft_seq_length, seed=config.seed,
                     pretrained=pretrained)


@dataclasses.dataclass(frozen=True)
class Weights:
  """A model split for pure functions: what prediction needs, no optimizer."""
  config: Any
  model: nnx.Module
  graphdef: Any
  params: Any          # nnx.State of the TRAINABLE parameters
  model_state: Any     # the rest (BatchNorm statistics, frozen sources)

  def as_dict(self) -> dict:
    """The checkpoint's `weights` item (stjax.train.checkpoint)."""
    return {"params": self.params, "model_state": self.model_state}


def build_weights(config, pretrained: Pretrained | None = None,
                  model: nnx.Module | None = None) -> Weights:
  model = build_run_model(config, pretrained) if model is None else model
  graphdef, params, model_state = nnx.split(model, TRAINABLE, ...)
  return Weights(config, model, graphdef, params, model_state)


@dataclasses.dataclass(frozen=True)
class Run:
  """A config built for training: see the module docstring."""
  config: Any
  model: nnx.Module
  family: str                 # "parallel" or "recurrent" (the registry's)
  graphdef: Any
  state: TrainState
  tx: optax.GradientTransformation
  lr_schedule: Callable       # optimizer update -> learning rate
  sampling: ScheduledSampling | None  # recurrent models only
  total_steps: int
  updates_per_step: int       # 2 with train.reverse_input
  train_step: Callable        # jitted (state, batch) -> (state, metrics); donates state

  @property
  def num_params(self) -> int:
    return sum(x.size for x in jax.tree.leaves(self.state.params))

  @property
  def compute_dtype(self) -> str:
    return self.config.train.compute_dtype

  def lr_at(self, step: int) -> float:
    """The learning rate of the first update of training step `step` (1-based)."""
    return float(self.lr_schedule((step - 1) * self.updates_per_step))

  def gradient(self) -> Callable:
    """make_gradient's function for this run (the parity checks read it)."""
    return make_gradient(self.graphdef, self.config.loss, self.compute_dtype,
                         self.sampling)

  def eval_step(self, spec: MetricSpec = MetricSpec(),
                out_frames: int | None = None, all_steps: bool = False):
    """A jitted eval step (stjax.train.step.make_eval_step); build it once."""
    return make_eval_step(self.graphdef, self.compute_dtype, spec, out_frames,
                          all_steps)

  def predict(self, out_frames: int | None = None):
    """A jitted (params, model_state, inputs) -> predictions; build it once."""
    return make_predict(self.graphdef, self.compute_dtype, out_frames)


def build_run(config, total_steps: int = 1, *, model: nnx.Module | None = None,
              pretrained: Pretrained | None = None) -> Run:
  """The run of `config` trained for `total_steps` steps (the schedules'
  length). `model` replaces the freshly built one (a parity check's model with
  imported weights); `pretrained` loads the finished runs a model starts from
  (stjax.train.pretrained.load_model)."""
  model = build_run_model(config, pretrained) if model is None else model
  kind = family(config.model.name)
  d, t = config.data, config.train
  reverse = bool(t.get("reverse_input", False))
  updates = 2 if reverse else 1
  tx, lr_schedule = build_optimizer(config.optim, total_steps * updates)
  graphdef, state = TrainState.create(model, tx, config.seed)
  sampling = (ScheduledSampling.from_config(
      config.sampling, d.pre_seq_length, d.aft_seq_length, total_steps,
      steps_per_epoch=max(1, total_steps // max(1, int(t.get("epochs", 1)))))
      if kind == "recurrent" else None)
  train_step = make_train_step(graphdef, tx, config.loss, t.compute_dtype,
                               sampling, reverse_input=reverse)
  return Run(config, model, kind, graphdef, state, tx, lr_schedule, sampling,
             total_steps, updates, train_step)
