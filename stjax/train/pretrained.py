"""A trained run's model, read back from its workdir (TMU sources, finetuning).

The workdir's config.json says how to build the model; its best checkpoint
(else its latest) holds the parameters.
"""
from __future__ import annotations

import json
import pathlib

import jax
import ml_collections
from flax import nnx

from stjax.data import frame_shape
from stjax.train.checkpoint import CheckpointError, Checkpoints
from stjax.train.optim import build_optimizer
from stjax.train.step import TrainState


def load_config(workdir) -> ml_collections.ConfigDict:
  path = pathlib.Path(workdir) / "config.json"
  if not path.is_file():
    raise FileNotFoundError(
        f"{path} not found: a pretrained model is read from the workdir of a "
        f"finished stjax run (python -m experiments.main --workdir=...).")
  try:
    return ml_collections.ConfigDict(json.loads(path.read_text()))
  except json.JSONDecodeError as e:
    raise ValueError(f"{path} is not valid JSON ({e}); it is not a stjax "
                     f"run's config.") from e


def load_model(workdir) -> nnx.Module:
  """The model of the run in `workdir`, with its best (else latest) parameters."""
  from stjax.models import build_model  # pylint: disable=import-outside-toplevel
  config = load_config(workdir)
  d = config.data
  model = build_model(config.model, in_shape=(d.pre_seq_length, *frame_shape(d)),
                      out_frames=d.aft_seq_length, seed=config.seed)
  tx, _ = build_optimizer(config.optim, 1)
  _, template = TrainState.create(model, tx, config.seed)
  ckpts = Checkpoints(workdir)
  try:
    restored = ckpts.restore_best(template) or ckpts.restore_latest(template)
  finally:
    ckpts.close()
  if restored is None:
    raise CheckpointError(f"{workdir} holds no checkpoint yet; train it first.")
  state = jax.device_get(restored[0])
  nnx.update(model, state.params, state.model_state)
  return model
