"""Train, evaluate and write everything into the workdir.

  python -m experiments.main --config=experiments/configs/mmnist/simvp_gsta.py \
      --workdir=/tmp/run [--config.train.epochs=2]

(`stjax-train` is the same command once installed.) Running the same command
again resumes the run from its last checkpoint.
"""
from __future__ import annotations

from absl import app, flags
from ml_collections import config_flags

from stjax import cli

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "A config file: experiments/configs/<dataset>/<model>.py"
    "[:smoke].", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Output directory (resumed if it "
                               "holds a run).")
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Call "
                                 "jax.distributed.initialize() (multi-host).")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv) -> int:
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  cli.prepare()
  import jax  # pylint: disable=import-outside-toplevel
  if _DISTRIBUTED.value:
    jax.distributed.initialize()
  from stjax.errors import StjaxError  # pylint: disable=import-outside-toplevel
  from stjax.train.loop import train_and_evaluate  # pylint: disable=import-outside-toplevel
  try:
    train_and_evaluate(_CONFIG.value, _WORKDIR.value)
  except (StjaxError, *cli.USER_ERRORS) as e:
    return cli.report(e)
  return 0


def run() -> None:
  """The console script `stjax-train`."""
  cli.prepare()  # before the flags load the config file
  app.run(main)
