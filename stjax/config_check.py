"""Checks a run's config where it enters, for what no constructor can see.

Each model, dataset, metric, loss term, optimizer and sampling schedule
validates its own section when it is built (stjax.registry names the unknown
ones). What is left here spans sections or the machine: batch sizes against
the device count, a model family's sections, the loop's own counts.
"""
from __future__ import annotations

import jax

# Importing stjax.data and stjax.models registers the built-in names.
from stjax.data import DATASETS
from stjax.errors import ConfigError
from stjax.models import family


def _require(ok: bool, message: str) -> None:
  if not ok:
    raise ConfigError(f"Invalid config: {message}")


def validate(config) -> None:
  """Raises ConfigError naming the first value no run can use."""
  d, m, t, e = config.data, config.model, config.train, config.eval
  DATASETS.get(d.name)
  if family(m.name) == "recurrent":  # its rollout needs scheduled sampling
    _require("sampling" in config,
             f"model.name={m.name!r} is recurrent; build its config with "
             f"base.model(c, {m.name!r}) so it has a sampling section.")
  else:
    _require("sampling" not in config,
             f"model.name={m.name!r} is a parallel model, which has no "
             f"scheduled sampling; remove the config's sampling section.")
  _require(e.get("test_checkpoint", "best") in ("best", "last"),
           f"eval.test_checkpoint={e.get('test_checkpoint')!r}; choose 'best' "
           f"(lowest validation mse) or 'last'.")
  _require(not e.get("all_steps", False) or family(m.name) == "recurrent",
           f"eval.all_steps scores the reconstructions of the observed "
           f"frames, which only recurrent models make; {m.name} predicts the "
           f"future frames only.")
  _require(d.pre_seq_length > 0 and d.aft_seq_length > 0,
           "data.pre_seq_length and data.aft_seq_length must be positive.")
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
  for key in ("val_size", "test_size"):  # generated splits (Moving MNIST)
    if key in d:
      _require(d[key] > 0, f"data.{key}={d[key]} leaves nothing to evaluate; "
               f"give at least 1 sequence.")
  _require(t.log_every_steps > 0, "train.log_every_steps must be positive.")
  _require(t.eval_every_epochs > 0, "train.eval_every_epochs must be positive.")
  _require(t.keep_checkpoints > 0, f"train.keep_checkpoints="
           f"{t.keep_checkpoints} would delete every checkpoint; keep at "
           f"least 1.")
  if m.name == "tmu":
    variant = m.get("tmu_variant", "paper")
    form = m.get("tmu_distill", "") or ("eq6" if variant == "paper" else "code")
    reduction = config.loss.get("reduction", "mean")
    weight = dict(config.loss.terms).get("distill", 0.0)
    _require(not (variant == "paper" and form == "eq6" and weight > 0
                  and reduction != "sequence_sum"),
             f"TMU's Eq. 6 sums the distillation over layers, sources, steps "
             f"and elements, and the frame errors over steps and pixels; with "
             f"loss.reduction={reduction!r} the frame term is a mean and the "
             f"distillation would outweigh it by orders of magnitude. Set "
             f"loss.reduction='sequence_sum' (Eq. 6) or model.tmu_distill="
             f"'mean' (a normalised distillation).")
