"""Finished runs read back from their workdirs, and the model of a run.

The one place that turns a workdir into a model: a run's config.json says
how to build it, its best checkpoint (else its latest) holds the parameters.
Models that start from finished runs (model.init_from, TMU's model.sources)
get `load_model` injected into stjax.models.build_model, which itself never
reads a workdir.
"""
from __future__ import annotations

import json
import pathlib

import jax
import ml_collections
from flax import nnx

from stjax.data import frame_shape
from stjax.errors import CheckpointError, WorkdirError
from stjax.models import build_model
from stjax.train.checkpoint import Checkpoints
from stjax.train.optim import build_optimizer
from stjax.train.step import TrainState


def load_config(workdir) -> ml_collections.ConfigDict:
  path = pathlib.Path(workdir) / "config.json"
  if not path.is_file():
    raise WorkdirError(
        f"{path} not found: a trained model is read from the workdir of a "
        f"stjax run (python -m experiments.main --workdir=...).")
  try:
    return ml_collections.ConfigDict(json.loads(path.read_text()))
  except json.JSONDecodeError as e:
    raise WorkdirError(f"{path} is not valid JSON ({e}); it is not a stjax "
                       f"run's config.") from e


def build_run_model(config) -> nnx.Module:
  """The freshly initialised model of `config`, with the finished runs it
  starts from loaded (the model a run trains)."""
  d = config.data
  return build_model(config.model, in_shape=(d.pre_seq_length, *frame_shape(d)),
                     out_frames=d.aft_seq_length, seed=config.seed,
                     pretrained=load_model)


def load_model(workdir) -> nnx.Module:
  """The model of the run in `workdir`, with its best (else latest) parameters."""
  config = load_config(workdir)
  model = build_run_model(config)
  tx, _ = build_optimizer(config.optim, 1)
  _, template = TrainState.create(model, tx, config.seed)
  with Checkpoints(workdir) as ckpts:
    restored = ckpts.restore_best(template) or ckpts.restore_latest(template)
  if restored is None:
    raise CheckpointError(f"{workdir} holds no checkpoint yet; train it first.")
  state = jax.device_get(restored[0])
  nnx.update(model, state.params, state.model_state)
  return model
