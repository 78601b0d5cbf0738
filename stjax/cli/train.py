"""Train, evaluate and write everything into the workdir.

  python -m experiments.main --config=experiments/configs/mmnist/simvp_gsta.py \\
      --workdir=/tmp/run [--config.train.epochs=2]
  stjax-train --config=mmnist/simvp_gsta:smoke --workdir=/tmp/run   (a name)
  stjax-train --config=mmnist/tau --config.optim.lr=5e-4 --print_config

(`stjax-train` is the same command once installed.) Running the same command
again resumes the run from its last checkpoint.
"""
from __future__ import annotations

import sys

from absl import app, flags
from ml_collections import config_flags

from stjax import cli

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "A config file, experiments/configs/<dataset>/<model>.py"
    "[:smoke], or its name, <dataset>/<model>[:smoke].", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Output directory (resumed if it "
                               "holds a run).")
_DISTRIBUTED = flags.DEFINE_bool(
    "distributed", False, "Join a multi-process run (jax.distributed."
    "initialize): on a TPU pod, Slurm or another supported cluster the "
    "settings are found; elsewhere give the three flags below.")
_COORDINATOR = flags.DEFINE_string(
    "coordinator_address", None, "host:port of process 0 (with --distributed).")
_NUM_PROCESSES = flags.DEFINE_integer(
    "num_processes", None, "How many processes the run has (with --distributed).")
_PROCESS_ID = flags.DEFINE_integer(
    "process_id", None, "This process's index, 0 .. num_processes-1.")
_CACHE = flags.DEFINE_bool(
    "compilation_cache", True, "Keep compiled programs between runs "
    "(JAX_COMPILATION_CACHE_DIR, else ~/.cache/stjax/xla).")
flags.mark_flags_as_required(["config"])
_PRINT_CONFIG = flags.DEFINE_bool(
    "print_config", False, "Print the resolved config (file, variant and "
    "overrides) and exit without training; --workdir is not needed.")


def _initialize_distributed() -> None:
  import jax  # pylint: disable=import-outside-toplevel
  from stjax.errors import ConfigError  # pylint: disable=import-outside-toplevel
  if jax.config.jax_platforms in (None, "", "cpu"):
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
  try:
    jax.distributed.initialize(coordinator_address=_COORDINATOR.value,
                               num_processes=_NUM_PROCESSES.value,
                               process_id=_PROCESS_ID.value)
  except Exception as e:  # pylint: disable=broad-except  (no cluster, bad address)
    raise ConfigError(
        f"--distributed could not join a run ({cli.one_line(e)}); outside a "
        f"TPU pod or Slurm give every process --coordinator_address=HOST:PORT "
        f"--num_processes=N --process_id=I.") from None


def main(argv) -> int:
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  cli.prepare()
  from stjax.errors import ConfigError, StjaxError  # pylint: disable=import-outside-toplevel
  try:
    if _CACHE.value:
      cli.enable_compilation_cache()
    if _DISTRIBUTED.value:
      _initialize_distributed()
    config = cli.config_value(_CONFIG)
    if _PRINT_CONFIG.value:
      print(config)
      return 0
    if not _WORKDIR.value:
      raise ConfigError("--workdir is required: where the run writes its "
                        "checkpoints and results (resumed if it holds a run).")
    from stjax.train.loop import train_and_evaluate  # pylint: disable=import-outside-toplevel
    train_and_evaluate(config, _WORKDIR.value)
  except (StjaxError, *cli.USER_ERRORS) as e:
    return cli.report(e)
  except KeyboardInterrupt:
    print(f"interrupted: {cli.resume_note(_WORKDIR.value)}", file=sys.stderr)
    return 130
  return 0


def run() -> None:
  """The console script `stjax-train`."""
  cli.run(main)
