"""What can go wrong in a run, as exceptions the caller can catch.

The library raises; only the command-line entry points (stjax.cli) turn an
error into a one-line message and an exit code, so one failed run of a study
(stjax.cli.transfer) does not end the others. Every message says what was
wrong and what to do.
"""
from __future__ import annotations


class StjaxError(Exception):
  """Base class; `exit_code` is what the command line exits with."""
  exit_code = 1


class ConfigError(StjaxError, ValueError):
  """A config value that no run can use (a typo, an unknown name, a bad range)."""
  exit_code = 2


class DataError(StjaxError, ValueError):
  """Data that cannot be read or does not fit the config."""


class CheckpointError(StjaxError, RuntimeError):
  """A checkpoint that cannot be read or written; it is left as it is."""


class WorkdirError(StjaxError):
  """The workdir holds another run, or no run where one is needed."""


class DivergenceError(StjaxError, FloatingPointError):
  """The training loss stopped being finite."""
