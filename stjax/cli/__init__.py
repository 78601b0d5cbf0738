"""The command-line entry points: the only place where an error becomes a
message and an exit code (the library below raises stjax.errors).

    stjax-train      (python -m experiments.main from a checkout)
    stjax-benchmark  (python -m experiments.benchmark)
    stjax-transfer   (python -m experiments.transfer)
    stjax-predict    (python -m experiments.predict)

Config files are Python files that may import their helpers from
`experiments.configs`; as with `python -m`, the current directory is on the
import path, so run the commands from the checkout. The config file's own
folder is on it too, so a config can import a module beside it (a model,
dataset or metric of your own: README, "Extending stjax").
"""
from __future__ import annotations

import os
import pathlib
import sys

from absl import app, flags, logging

# Where compiled programs are kept between runs (a resumed or repeated run
# skips the 20-50 s compile); JAX_COMPILATION_CACHE_DIR chooses another place.
DEFAULT_CACHE = pathlib.Path.home() / ".cache" / "stjax" / "xla"


def prepare() -> None:
  """What every command does first: configs importable from the current
  directory, and orbax's per-file INFO logs silenced."""
  if os.getcwd() not in sys.path and "" not in sys.path:
    sys.path.insert(0, os.getcwd())
  if logging.get_verbosity() == logging.INFO:
    logging.set_verbosity(logging.WARNING)


def enable_compilation_cache() -> str:
  """Turns on JAX's persistent compilation cache; returns its folder."""
  import jax  # pylint: disable=import-outside-toplevel
  path = os.environ.get("JAX_COMPILATION_CACHE_DIR") or str(DEFAULT_CACHE)
  jax.config.update("jax_compilation_cache_dir", path)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
  return path


def one_line(error: BaseException) -> str:
  """An exception's message on one line (config loaders write several, and
  ml_collections embeds the config file's traceback: its last line says it)."""
  text = str(error)
  if "Traceback (most recent call last)" in text:
    text = [l for l in text.splitlines() if l.strip()][-1]
  text = " ".join(text.replace("\\n", " ").split())
  return text[:400] if text else type(error).__name__


def parse_flags(argv):
  """absl's flag parsing, with a config file that does not load or an
  override that names no field reported in one line (exit 2)."""
  try:
    return flags.FLAGS(argv)
  except Exception as e:  # pylint: disable=broad-except  (absl, ml_collections, the config file)
    text = one_line(e).replace("\\'", "'").strip("'\" ")
    if isinstance(e, (AttributeError, KeyError)):
      text = ("a --config override names no field of the config: "
              + text.replace("'", ""))
    print(f"error: {text}", file=sys.stderr, flush=True)
    sys.exit(2)


def config_value(config_flag):
  """A config flag's value; a config that failed to load is a ConfigError."""
  from stjax.errors import ConfigError  # pylint: disable=import-outside-toplevel
  try:
    value = config_flag.value
    value.to_json  # pylint: disable=pointless-statement  (a failed load raises here)
    return value
  except Exception as e:  # pylint: disable=broad-except
    raise ConfigError(f"the config did not load: {one_line(e)}") from None


def config_folder_on_path(argv) -> None:
  """Puts the folder of `--config=FILE[:variant]` on the import path."""
  for i, arg in enumerate(argv):
    value = None
    if arg.startswith("--config="):
      value = arg.split("=", 1)[1]
    elif arg == "--config" and i + 1 < len(argv):
      value = argv[i + 1]
    if value:
      folder = str(pathlib.Path(value.split(":", 1)[0]).resolve().parent)
      if folder not in sys.path:  # last: never shadows an installed module
        sys.path.append(folder)


def run(main) -> None:
  """app.run with the one-line flag errors (the console scripts)."""
  prepare()  # before the flags load the config file
  config_folder_on_path(sys.argv)
  app.run(main, flags_parser=parse_flags)


def report(error: BaseException, prefix: str = "error") -> int:
  """Prints the one-line message of a failed run; returns its exit code."""
  print(f"{prefix}: {error}", file=sys.stderr, flush=True)
  return getattr(error, "exit_code", 1)


# What a run can fail with that the user can fix: stjax's own errors, and the
# ValueError / FileNotFoundError / ImportError that readers and optional
# extras raise with a message that says what to do.
USER_ERRORS = (ValueError, FileNotFoundError, ImportError)
