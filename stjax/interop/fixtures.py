"""Parity fixtures: NAME.npz with its NAME.json configuration beside it,
and how errors against them are measured."""
from __future__ import annotations

import json
import pathlib

import numpy as np

TOLERANCE = 1e-4


def read_fixture(path: str | pathlib.Path):
  """(config, arrays) of a fixture NAME.npz with its NAME.json beside it."""
  path = pathlib.Path(path)
  cfg_path = path.with_suffix(".json")
  if not path.is_file():
    raise FileNotFoundError(f"No fixture at {path}: expected NAME.npz with "
                            f"NAME.json beside it.")
  if not cfg_path.is_file():
    raise FileNotFoundError(f"Fixture {path} has no configuration {cfg_path}.")
  cfg = json.loads(cfg_path.read_text())
  with np.load(path) as data:
    arrays = {k: data[k] for k in data.files}
  return cfg, arrays


def nchw_to_nhwc(x):
  return np.asarray(x).transpose(0, 1, 3, 4, 2)


def relative_error(ours, ref) -> float:
  ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
  if ours.shape != ref.shape:
    raise ValueError(f"Output shape {ours.shape} differs from the reference "
                     f"{ref.shape}.")
  scale = np.max(np.abs(ref))
  err = np.max(np.abs(ours - ref))
  return float(err / scale) if scale > 0 else float(err)


def mask_weights(cfg: dict, arrays: dict, tag: str):
  """stjax's true-frame weights (B, T-1) from a recurrent forward fixture's
  `output/mask_<tag>` (B, n_mask, H, W, C), which must be constant within
  each frame."""
  from stjax.train.sampling import weights_from_mask  # pylint: disable=import-outside-toplevel
  mask = np.asarray(arrays[f"output/mask_{tag}"])
  per_step = mask[:, :, :1, :1, :1]
  if not np.all(mask == per_step):
    raise ValueError(f"mask_{tag} varies within a frame; stjax's true-frame "
                     f"weights are per sequence and step.")
  return weights_from_mask(per_step[:, :, 0, 0, 0], cfg["pre_seq_length"],
                           bool(cfg.get("reverse_scheduled_sampling", 0)))


def gradient_config(model_cfg, loss_cfg, pre: int, aft: int):
  """A run config (stjax.train.build.build_run) for checks that read one
  gradient of a fixture: its model and loss sections, the recurrent family's
  sampling section (the fixture's batch brings its own true-frame weights)
  and a constant SGD that no check compares."""
  import ml_collections  # pylint: disable=import-outside-toplevel
  from stjax.models import family  # pylint: disable=import-outside-toplevel
  from stjax.models.recurrent import sampling_defaults  # pylint: disable=import-outside-toplevel
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.data = ml_collections.ConfigDict({"pre_seq_length": pre,
                                      "aft_seq_length": aft})
  c.model, c.loss = model_cfg, loss_cfg
  c.optim = ml_collections.ConfigDict({
      "name": "sgd", "lr": 1.0, "schedule": "constant", "warmup_steps": 0,
      "momentum": 0.0, "weight_decay": 0.0, "grad_clip": 0.0})
  c.train = ml_collections.ConfigDict({"compute_dtype": "float32"})
  if family(model_cfg.name) == "recurrent":
    sampling_defaults(c)
  return c
