"""Validates a run's config where it enters, with messages that say the fix."""
from __future__ import annotations

import jax

from stjax.data import DATASETS, frame_shape, radar
from stjax.models import MODELS, RECURRENT
from stjax.models.mslstm import CELLS, pyramid_scales
from stjax.models.tmu import BACKBONES
from stjax.train.optim import OPTIMIZERS, SCHEDULES
from stjax.train.step import COMPUTE_DTYPES


def _require(ok: bool, message: str) -> None:
  if not ok:
    raise ValueError(f"Invalid config: {message}")


def validate(config) -> None:
  d, m, t, o, e = (config.data, config.model, config.train, config.optim,
                   config.eval)
  _require(d.name in DATASETS, f"data.name={d.name!r}; choose one of {DATASETS}.")
  if d.name != "mmnist":
    _require("path" in d, f"data.name={d.name!r} needs its own data section; "
             f"build the config with its helper in experiments/configs "
             f"(base.taxibj_data, benchmarks.{d.name}_data).")
  if "val_fraction" in d:
    _require(0 < d.val_fraction < 1, f"data.val_fraction={d.val_fraction} must "
             f"lie in (0, 1).")
  _require(d.get("test_aft_seq_length", 0) >= 0,
           "data.test_aft_seq_length must be 0 (same as aft) or positive.")
  if d.name == "radar":
    _require(d.threshold_unit in radar.THRESHOLD_UNITS,
             f"data.threshold_unit={d.threshold_unit!r}; choose one of "
             f"{radar.THRESHOLD_UNITS}.")
    _require(len(d.thresholds) > 0, "data.thresholds is empty; give at least one.")
  if d.name == "weatherbench":
    _require(len(d.variables) > 0, "data.variables is empty; give e.g. ('t2m',).")
  _require(m.name in MODELS, f"model.name={m.name!r}; choose one of {MODELS}.")
  if m.name in RECURRENT or m.name == "tmu":
    _validate_recurrent(config)
  _require(o.name in OPTIMIZERS,
           f"optim.name={o.name!r}; choose one of {OPTIMIZERS}.")
  _require(o.schedule in SCHEDULES,
           f"optim.schedule={o.schedule!r}; choose one of {SCHEDULES}.")
  _require(t.compute_dtype in COMPUTE_DTYPES,
           f"train.compute_dtype={t.compute_dtype!r}; choose one of "
           f"{tuple(COMPUTE_DTYPES)}.")
  _require(d.pre_seq_length > 0 and d.aft_seq_length > 0,
           "data.pre_seq_length and data.aft_seq_length must be positive.")
  _require(o.lr > 0, f"optim.lr={o.lr} must be positive.")
  _require(t.epochs > 0, f"train.epochs={t.epochs} must be positive.")
  devices, processes = jax.device_count(), jax.process_count()
  for name, size in (("train.batch_size", t.batch_size),
                     ("eval.batch_size", e.batch_size)):
    _require(size > 0 and size % devices == 0 and size % processes == 0,
             f"{name}={size} must be a positive multiple of the {devices} "
             f"device(s) (and {processes} process(es)) it is split over.")
  _require(d.get("train_size", t.batch_size) >= t.batch_size,
           f"data.train_size={d.get('train_size')} is smaller than one batch "
           f"({t.batch_size}); an epoch would have no steps.")
  _require(t.log_every_steps > 0, "train.log_every_steps must be positive.")
  _require(t.eval_every_epochs > 0, "train.eval_every_epochs must be positive.")


def _validate_recurrent(config) -> None:
  m, d = config.model, config.data
  _require("num_hidden" in m and "sampling" in config,
           f"model.name={m.name!r} is recurrent; build its config with "
           f"base.recurrent_model(c, {m.name!r}) so it has num_hidden, "
           f"filter_size, patch_size and a sampling section.")
  p = m.patch_size
  h, w, _ = frame_shape(d)
  _require(p > 0 and h % p == 0 and w % p == 0,
           f"model.patch_size={p} must divide the {h}x{w} frames.")
  if m.name == "mslstm":
    _require("cell" in m, "model.name='mslstm' needs its own section; build "
             "the config with base.mslstm_model(c, cell=..., pyramid=...).")
    _require(m.cell in CELLS, f"model.cell={m.cell!r}; choose one of {CELLS}.")
    deepest = 2 ** max(pyramid_scales(len(m.num_hidden), m.pyramid))
    _require((h // p) % deepest == 0 and (w // p) % deepest == 0,
             f"the {len(m.num_hidden)}-layer pyramid halves the "
             f"{h // p}x{w // p} state {deepest.bit_length() - 1} "
             f"times; use an image_size / patch_size divisible by {deepest}.")
  elif m.name == "tmu":
    _require("backbone" in m and "sources" in m, "model.name='tmu' needs its "
             "section; build the config with base.tmu_model(c, backbone, sources).")
    _require(m.backbone in BACKBONES, f"model.backbone={m.backbone!r}; TMU "
             f"wraps one of {tuple(BACKBONES)}.")
    _require(not isinstance(m.sources, str), "model.sources is a list of "
             "workdirs, not one string; write ('path',) for a single source.")
    _require(config.loss.distill_beta >= 0, "loss.distill_beta must be >= 0.")
  if m.name != "mslstm":
    _require("filter_size" in m, f"model.name={m.name!r} needs the recurrent "
             f"section of base.recurrent_model(c, {m.name!r}).")
  s = config.sampling
  _require(0.0 <= s.sampling_start_value <= 1.0,
           f"sampling.sampling_start_value={s.sampling_start_value} must be a "
           f"probability in [0, 1].")
  _require(s.sampling_changing_rate >= 0,
           "sampling.sampling_changing_rate must be >= 0.")
  if s.reverse_scheduled_sampling:
    _require(s.r_sampling_step_2 > s.r_sampling_step_1 >= 0 and s.r_exp_alpha > 0,
             f"reverse scheduled sampling needs 0 <= r_sampling_step_1 "
             f"({s.r_sampling_step_1}) < r_sampling_step_2 "
             f"({s.r_sampling_step_2}) and r_exp_alpha > 0.")
