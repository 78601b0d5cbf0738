"""Train, evaluate and write everything into the workdir.

  python -m experiments.main --config=experiments/configs/mmnist/simvp_gsta.py \
      --workdir=/tmp/run [--config.train.epochs=2]

Running the same command again resumes the run from its last checkpoint.
"""
from absl import app, flags, logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "A config file: experiments/configs/<dataset>/<model>.py"
    "[:smoke].", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Output directory (resumed if it "
                               "holds a run).")
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Call "
                                 "jax.distributed.initialize() (multi-host).")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  if logging.get_verbosity() == logging.INFO:  # orbax logs every file at INFO
    logging.set_verbosity(logging.WARNING)
  import jax  # pylint: disable=import-outside-toplevel
  if _DISTRIBUTED.value:
    jax.distributed.initialize()
  from stjax.train.checkpoint import CheckpointError  # pylint: disable=import-outside-toplevel
  from stjax.train.loop import train_and_evaluate  # pylint: disable=import-outside-toplevel
  try:
    train_and_evaluate(_CONFIG.value, _WORKDIR.value)
  except (ValueError, FileNotFoundError, ImportError, CheckpointError) as e:
    raise SystemExit(f"error: {e}") from None


if __name__ == "__main__":
  app.run(main)
