"""The command-line entry points: the only place where an error becomes a
message and an exit code (the library below raises stjax.errors).

    stjax-train      (python -m experiments.main from a checkout)
    stjax-benchmark  (python -m experiments.benchmark)
    stjax-transfer   (python -m experiments.transfer)
    stjax-predict    (python -m experiments.predict)
    stjax-list       (python -m experiments.list)
    stjax-compare-openstl (python -m experiments.compare_openstl)

Config files are Python files that may import their helpers from
`experiments.configs`. --config takes a file (from any directory: the
checkout that holds it goes on the import path) or a name under
experiments/configs (mmnist/tau:smoke), and the config file's own folder is
on the path, so a config can import a module beside it (a model, dataset or
metric of your own: docs, "Extending stjax").
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


def checkout_root() -> pathlib.Path | None:
  """The checkout stjax runs from (an editable install), if it has configs."""
  root = pathlib.Path(__file__).resolve().parents[2]
  return root if (root / "experiments" / "configs").is_dir() else None


def find_config(value: str) -> str:
  """A --config value (FILE.py or a name like mmnist/tau, each with an
  optional :variant) as an absolute path, with the folders its imports need
  on the path: the checkout holding `experiments/` (so `from
  experiments.configs import base` works from any directory) and the config's
  own folder (a module beside it imports by name). An unknown value is
  returned as it is, for the config loader's one-line error."""
  name, sep, variant = value.partition(":")
  path = pathlib.Path(name).expanduser()
  if not path.is_file():
    stem = name if name.endswith(".py") else name + ".py"
    roots = [pathlib.Path.cwd(), checkout_root()]
    found = [r / "experiments" / "configs" / stem for r in roots if r]
    found = [f for f in found if f.is_file()]
    if not found:
      return value
    path = found[0]
  path = path.resolve()
  for parent in path.parents:
    if parent.name == "configs" and parent.parent.name == "experiments":
      if str(parent.parent.parent) not in sys.path:
        sys.path.append(str(parent.parent.parent))
      break
  if str(path.parent) not in sys.path:  # last: never shadows an installed module
    sys.path.append(str(path.parent))
  return f"{path}{sep}{variant}"


def resolve_config_flag(argv: list[str]) -> list[str]:
  """argv with every --config value resolved by find_config."""
  out, i = [], 0
  while i < len(argv):
    arg = argv[i]
    if arg.startswith("--config="):
      arg = "--config=" + find_config(arg.split("=", 1)[1])
    elif arg == "--config" and i + 1 < len(argv):
      out.append(arg)
      i += 1
      arg = find_config(argv[i])
    out.append(arg)
    i += 1
  return out


_HELP = ("-h", "--help", "-help", "--helpshort")


def command_help(main) -> str:
  """The command's docstring and its own flags (absl's --help lists those
  of the main module, which for these commands is a shim; --helpfull has
  absl's and JAX's too)."""
  module = sys.modules[main.__module__]
  lines = [(module.__doc__ or "").strip(), "", "flags:"]
  for flag in flags.FLAGS.flags_by_module_dict().get(module.__name__, []):
    default = "" if flag.default is None else f" (default: {flag.default})"
    lines.append(f"  --{flag.name}: {flag.help}{default}")
    if flag.name == "config":
      lines.append("      --config.SECTION.KEY=VALUE overrides one field; "
                   "--config takes a file or a name under experiments/configs "
                   "(python -m experiments.list shows them)")
  lines.append("  --helpfull: every flag, absl's and JAX's included")
  return "\n".join(lines)


def run(main) -> None:
  """app.run with the command's own --help and one-line flag errors (the
  console scripts)."""
  prepare()  # before the flags load the config file
  sys.argv = resolve_config_flag(sys.argv)
  if any(a in _HELP for a in sys.argv[1:]):
    print(command_help(main))
    sys.exit(0)
  app.run(main, flags_parser=parse_flags)


def resume_note(workdir: str) -> str:
  """What running a training command again will do, from what is on disk
  (said when a run is interrupted)."""
  if not workdir:
    return "nothing was written (no --workdir)."
  folder = pathlib.Path(workdir) / "checkpoints"
  steps = sorted(int(p.name) for p in folder.glob("*")
                 if p.is_dir() and p.name.isdigit()) if folder.is_dir() else []
  if (pathlib.Path(workdir) / "results.json").exists():
    return "the run had finished; its results.json is kept."
  if not steps:
    return ("no checkpoint was written yet; running the same command again "
            "starts the run afresh.")
  return (f"running the same command again resumes from step {steps[-1]} "
          f"(the last checkpoint in {folder}).")


def report(error: BaseException, prefix: str = "error") -> int:
  """Prints the one-line message of a failed run; returns its exit code."""
  print(f"{prefix}: {error}", file=sys.stderr, flush=True)
  return getattr(error, "exit_code", 1)


# What a run can fail with that the user can fix: stjax's own errors, and the
# ValueError / FileNotFoundError / ImportError that readers and optional
# extras raise with a message that says what to do.
USER_ERRORS = (ValueError, FileNotFoundError, ImportError)
