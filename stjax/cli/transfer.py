"""The TMU study in one command: pretrain the sources, then on the target task
train from scratch, finetune one source, train TMU with the sources and with
untrained ones; write the comparison, the test-set transfer gates and a plot.

  python -m experiments.transfer \\
      --config=experiments/configs/papers/tmu/table1_mmnist.py --workdir=runs/t1

(`stjax-transfer` once installed.)
Each run has its own workdir under --workdir (source_<k>digit, scratch,
finetune, tmu, tmu_untrained) and is an ordinary stjax run: running the
command again resumes whatever is unfinished and reuses what is done. It
writes <workdir>/comparison.json (every run's test metrics, each TMU run's
average transfer gate per source over the test set, the paper's Table 1
where the config has it) and <workdir>/comparison_mse.png (test MSE per
predicted frame, one curve per run). A run that fails is reported and the
study goes on with the others (the runs that need it then fail too); the
command exits non-zero if any did.
"""
from __future__ import annotations

import json
import pathlib

from absl import app, flags
from ml_collections import config_flags

from stjax import cli

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "A TMU config with a `transfer` section "
    "(experiments/configs/papers/tmu/table1_mmnist.py[:smoke]).",
    lock_config=False)
_WORKDIR = flags.DEFINE_string("workdir", None, "Where the runs go.")
flags.mark_flags_as_required(["config", "workdir"])

TARGET_RUNS = ("scratch", "finetune", "tmu", "tmu_untrained")
_TMU_KEYS = ("backbone", "sources", "untrained_sources", "tmu_variant",
             "tmu_distill")


def plan(config, workdir: pathlib.Path) -> list[tuple[str, object]]:
  """(name, run config) for every run of the study, in order."""
  t = config.transfer
  unknown = [r for r in t.runs if r not in TARGET_RUNS]
  if unknown:
    raise ValueError(f"transfer.runs has {unknown}; choose from {TARGET_RUNS}.")
  fraction = float(t.get("target_fraction", 1.0))
  if not fraction > 0:
    raise ValueError(f"transfer.target_fraction={fraction} must be positive.")

  def backbone_run(digits, epochs, train_size):
    """The TMU config's backbone alone: no sources, nothing to distill."""
    c = config.copy_and_resolve_references()
    del c["transfer"]
    c.model.name = c.model.backbone
    for key in _TMU_KEYS:
      del c.model[key]
    del c.loss.terms["distill"]
    c.data.num_digits, c.train.epochs, c.data.train_size = digits, epochs, train_size
    return c

  runs, sources = [], []
  for digits in t.source_digits:
    name = f"source_{digits}digit"
    runs.append((name, backbone_run(digits, t.pretrain_epochs,
                                    t.pretrain_train_size)))
    sources.append(str(workdir / name))
  # Fig. 7: less (or more) target data, the same number of steps.
  size = max(config.train.batch_size, round(config.data.train_size * fraction))
  epochs = max(1, round(config.train.epochs * config.data.train_size / size))
  target = {}
  target["scratch"] = backbone_run(config.data.num_digits, epochs, size)
  target["finetune"] = backbone_run(config.data.num_digits, epochs, size)
  target["finetune"].model.init_from = sources[t.finetune_source]
  for name, trained in (("tmu", True), ("tmu_untrained", False)):
    c = config.copy_and_resolve_references()
    del c["transfer"]
    c.data.train_size, c.train.epochs = size, epochs
    c.model.sources = tuple(sources) if trained else ()
    c.model.untrained_sources = 0 if trained else len(sources)
    target[name] = c
  return runs + [(name, target[name]) for name in t.runs]


def test_gates(run_config, run_dir: pathlib.Path) -> dict[str, float]:
  """Each source's transfer gate of a trained TMU run, averaged over its test
  sequences, steps and TMU layers (the paper's Table 5), with the model
  predicting alone as at test time."""
  import jax  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  from stjax.data import (Split, build_datasets, eval_batches,  # pylint: disable=import-outside-toplevel
                          test_horizon)
  from stjax.models.recurrent import inference_weights  # pylint: disable=import-outside-toplevel
  from stjax.train.pretrained import load_model  # pylint: disable=import-outside-toplevel
  model = load_model(run_dir)
  d = run_config.data
  split = Split(d.pre_seq_length, test_horizon(d))
  gates = jax.jit(lambda m, f, w: m.rollout(f, w, train=False)[1])
  sums, count = {}, 0
  for batch in eval_batches(build_datasets(d).test, split,
                            batch_size=run_config.eval.batch_size,
                            limit=run_config.eval.test_limit or None,
                            num_threads=1):
    real = int(batch["mask"].sum())  # the padded tail is left out
    frames = np.concatenate([batch["inputs"], batch["targets"]], 1)[:real]
    aux = gates(model, frames, inference_weights(real, split.pre_seq_length,
                                                 split.aft_seq_length))
    for k, v in aux.items():
      if k.startswith("gate_"):
        sums[k] = sums.get(k, 0.0) + float(v) * real
    count += real
  return {k: v / count for k, v in sorted(sums.items())}


def _row(name, run, run_dir, done) -> dict:
  test = done["test"]
  row = {"run": name, "digits": run.data.num_digits,
         "train_size": run.data.train_size,
         **{k: v for k, v in test.items() if isinstance(v, float)}}
  if run.model.name == "tmu":
    row.update({f"test_{k}": v for k, v in test_gates(run, run_dir).items()})
  return row


def main(argv) -> int:
  del argv
  cli.prepare()
  return study(cli.config_value(_CONFIG), pathlib.Path(_WORKDIR.value))


def study(config, workdir: pathlib.Path) -> int:
  """Runs (or resumes) every run of the study and writes the comparison;
  0 if every run succeeded."""
  from stjax import viz  # pylint: disable=import-outside-toplevel
  from stjax.errors import ConfigError, StjaxError  # pylint: disable=import-outside-toplevel
  from stjax.train.loop import train_and_evaluate  # pylint: disable=import-outside-toplevel
  if "transfer" not in config:
    return cli.report(ConfigError(
        "the config has no `transfer` section; use experiments/configs/"
        "papers/tmu/table1_mmnist.py or experiments/configs/mmnist/tmu.py."))
  workdir = pathlib.Path(workdir)
  try:
    runs = plan(config, workdir)
  except ValueError as e:
    return cli.report(ConfigError(str(e)))
  rows, curves, failed = [], {}, 0
  for name, run in runs:
    print(f"== {name}: {run.model.name}, {run.data.num_digits}-digit Moving "
          f"MNIST, {run.train.epochs} epoch(s) of {run.data.train_size}",
          flush=True)
    run_dir = workdir / name
    try:
      try:
        done = json.loads((run_dir / "results.json").read_text())
      except (FileNotFoundError, json.JSONDecodeError):
        done = train_and_evaluate(run, str(run_dir))
      rows.append(_row(name, run, run_dir, done))
      if not name.startswith("source_"):
        curves[name] = done["test"]["per_frame"]["mse"]
    except (StjaxError, *cli.USER_ERRORS) as e:
      failed += 1
      cli.report(e, prefix=f"error in run {name}")
      rows.append({"run": name, "digits": run.data.num_digits,
                   "error": type(e).__name__})
  model = config.model
  summary = {"tmu_variant": model.get("tmu_variant", "paper"),
             "backbone": model.backbone,
             "target_fraction": config.transfer.target_fraction,
             "runs": rows}
  for key in ("paper_mse", "paper_ssim"):
    if key in config.transfer:
      summary[key] = dict(config.transfer[key])
  workdir.mkdir(parents=True, exist_ok=True)
  (workdir / "comparison.json").write_text(json.dumps(summary, indent=1))
  if curves:
    viz.line_plot(workdir / "comparison_mse.png", curves, ylabel="test MSE",
                  title=f"TMU study ({summary['tmu_variant']} variant): test "
                        f"MSE per frame")
  cols = list(dict.fromkeys(k for r in rows for k in r))
  print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
  for r in rows:
    print("| " + " | ".join(
        f"{r[k]:.4g}" if isinstance(r.get(k), float) else str(r.get(k, ""))
        for k in cols) + " |")
  print(f"written: {workdir / 'comparison.json'}"
        + (f", {workdir / 'comparison_mse.png'}" if curves else ""))
  return 1 if failed else 0


def run() -> None:
  """The console script `stjax-transfer`."""
  cli.run(main)
