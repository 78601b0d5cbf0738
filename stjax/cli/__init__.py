"""The command-line entry points: the only place where an error becomes a
message and an exit code.

    stjax-train      (python -m experiments.main from a checkout)
    stjax-benchmark  (python -m experiments.benchmark)
    stjax-transfer   (python -m experiments.transfer)

Config files are Python files that may import their helpers from
`experiments.configs`; as with `python -m`, the current directory is on the
import path, so run the commands from the checkout.
"""
from __future__ import annotations

import os
import sys

from absl import logging


def prepare() -> None:
  """What every command does first: configs importable from the current
  directory, and orbax's per-file INFO logs silenced."""
  if os.getcwd() not in sys.path and "" not in sys.path:
    sys.path.insert(0, os.getcwd())
  if logging.get_verbosity() == logging.INFO:
    logging.set_verbosity(logging.WARNING)


def report(error: BaseException, prefix: str = "error") -> int:
  """Prints the one-line message of a failed run; returns its exit code."""
  print(f"{prefix}: {error}", file=sys.stderr, flush=True)
  return getattr(error, "exit_code", 1)


# What a run can fail with that the user can fix: stjax's own errors, and the
# ValueError / FileNotFoundError / ImportError that readers and optional
# extras raise with a message that says what to do.
USER_ERRORS = (ValueError, FileNotFoundError, ImportError)
