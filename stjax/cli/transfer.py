"""The TMU study in one command: pretrain the sources, then on the target task
train from scratch, finetune one source, and train TMU with all sources;
print the comparison with TMU's average transfer gates.

  python -m experiments.transfer --config=experiments/configs/mmnist/tmu.py \
      --workdir=runs/tmu [--config.train.epochs=...]

(`stjax-transfer` once installed.)
Each run has its own workdir under --workdir (source_<k>digit, scratch,
finetune, tmu) and is an ordinary stjax run: running the command again
resumes whatever is unfinished and reuses what is done. The comparison is
written to <workdir>/comparison.json. A run that fails is reported and the
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
    "(experiments/configs/mmnist/tmu.py[:smoke]).", lock_config=False)
_WORKDIR = flags.DEFINE_string("workdir", None, "Where the runs go.")
flags.mark_flags_as_required(["config", "workdir"])


def plan(config, workdir: pathlib.Path) -> list[tuple[str, object]]:
  """(name, run config) for every run of the study, in order."""
  t = config.transfer

  def backbone_run(digits, epochs, train_size):
    """The TMU config's backbone alone: no sources, nothing to distill."""
    c = config.copy_and_resolve_references()
    del c["transfer"]
    c.model.name = c.model.backbone
    del c.model["backbone"], c.model["sources"]
    del c.loss.terms["distill"]
    c.data.num_digits, c.train.epochs, c.data.train_size = digits, epochs, train_size
    return c

  runs, sources = [], []
  for digits in t.source_digits:
    name = f"source_{digits}digit"
    runs.append((name, backbone_run(digits, t.pretrain_epochs,
                                    t.pretrain_train_size)))
    sources.append(str(workdir / name))
  target = (config.data.num_digits, config.train.epochs, config.data.train_size)
  runs.append(("scratch", backbone_run(*target)))
  finetune = backbone_run(*target)
  finetune.model.init_from = sources[t.finetune_source]
  runs.append(("finetune", finetune))
  tmu = config.copy_and_resolve_references()
  del tmu["transfer"]
  tmu.model.sources = tuple(sources)
  runs.append(("tmu", tmu))
  return runs


def _last_epoch_gates(run_dir: pathlib.Path) -> dict[str, float]:
  """Each source's transfer gate, averaged over the last epoch's train logs."""
  rows = [json.loads(line) for line in
          (run_dir / "metrics.jsonl").read_text().splitlines()]
  rows = [r for r in rows if any(k.startswith("train/gate_") for k in r)]
  if not rows:
    return {}
  last = rows[-max(1, len(rows) // 2):]  # the second half of the logs
  keys = sorted(k for k in rows[-1] if k.startswith("train/gate_"))
  return {k[len("train/"):]: sum(r[k] for r in last) / len(last) for k in keys}


def main(argv) -> int:
  del argv
  cli.prepare()
  from stjax.errors import ConfigError, StjaxError  # pylint: disable=import-outside-toplevel
  from stjax.train.loop import train_and_evaluate  # pylint: disable=import-outside-toplevel
  config = cli.config_value(_CONFIG)
  if "transfer" not in config:
    return cli.report(ConfigError("the config has no `transfer` section; use "
                                  "experiments/configs/mmnist/tmu.py."))
  workdir = pathlib.Path(_WORKDIR.value)
  rows, failed = [], 0
  for name, run in plan(config, workdir):
    print(f"== {name}: {run.model.name}, {run.data.num_digits}-digit Moving "
          f"MNIST, {run.train.epochs} epoch(s) of {run.data.train_size}",
          flush=True)
    run_dir = workdir / name
    try:
      done = json.loads((run_dir / "results.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
      try:
        done = train_and_evaluate(run, str(run_dir))
      except (StjaxError, *cli.USER_ERRORS) as e:
        failed += 1
        cli.report(e, prefix=f"error in run {name}")
        rows.append({"run": name, "digits": run.data.num_digits,
                     "error": type(e).__name__})
        continue
    rows.append({"run": name, "digits": run.data.num_digits,
                 **{k: done["test"][k] for k in ("mse", "mae", "ssim", "psnr")},
                 **_last_epoch_gates(run_dir)})
  (workdir / "comparison.json").write_text(json.dumps(rows, indent=1))
  cols = list(dict.fromkeys(k for r in rows for k in r))
  print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
  for r in rows:
    print("| " + " | ".join(
        f"{r[k]:.4f}" if isinstance(r.get(k), float) else str(r.get(k, ""))
        for k in cols) + " |")
  return 1 if failed else 0


def run() -> None:
  """The console script `stjax-transfer`."""
  cli.run(main)
