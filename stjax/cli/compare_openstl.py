"""stjax against OpenSTL (PyTorch) on the same machine, side by side:

  python -m experiments.compare_openstl --openstl=OPENSTL_DIR \\
      --cases=simvp_gsta_small_b8,predrnn_small_b8 [--rounds=3] [--target_s=8] \\
      [--torch_python=PY] [--torch_pythonpath=DIRS] [--torch_compile] \\
      [--out=results.jsonl] [--table]

Runs stjax's own benchmark preparation (stjax.train.benchmark.prepare) and
OpenSTL's model and training step (stjax/compare/openstl_reference.py) on
identical configs (stjax.compare.cases), one side at a time, refusing
measurements disturbed by other load, checking equal parameter counts, and
printing per-round ratios and medians (stjax.compare.driver). PyTorch is
needed only in the Python that runs the reference (`--torch_python`, default
this one: `pip install -e .[compare]`); OpenSTL's source is read from
`--openstl` (commit c74deb5 of github.com/chengtan9907/OpenSTL), never copied.
Run it before and after every change to a hot path.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile

from absl import flags

from stjax import cli

_OPENSTL = flags.DEFINE_string("openstl", None, "An OpenSTL source snapshot (its root).")
_CASES = flags.DEFINE_list("cases", ["simvp_gsta_small_b8"],
                           "Case names (stjax.compare.cases), or 'cpu' for every CPU case.")
_ROUNDS = flags.DEFINE_integer("rounds", 3, "Interleaved rounds per case.")
_TARGET = flags.DEFINE_float("target_s", 8.0, "Seconds the slower side runs per measurement.")
_QUIET = flags.DEFINE_float("quiet_cores", 0.3, "Other processes' load above which a "
                            "measurement is redone.")
_MAX_WAIT = flags.DEFINE_float("max_wait_s", 300.0, "Longest wait for a quiet machine.")
_PRIME = flags.DEFINE_integer("prime_steps", 1, "Untimed steps before each measurement.")
_PYTHON = flags.DEFINE_string("torch_python", sys.executable, "The Python that has torch.")
_PYTHONPATH = flags.DEFINE_string("torch_pythonpath", "", "Extra PYTHONPATH for the "
                                  "reference (e.g. stand-ins for timm/lightning).")
_COMPILE = flags.DEFINE_boolean("torch_compile", False, "torch.compile the reference.")
_CACHE = flags.DEFINE_boolean("compilation_cache", False, "stjax with its persistent "
                              "compilation cache (run twice for the warm compile).")
_OUT = flags.DEFINE_string("out", None, "Append one JSON line per case here.")
_LOGS = flags.DEFINE_string("worker_logs", None, "Workers' logs (default: a temporary folder).")
_TABLE = flags.DEFINE_boolean("table", True, "Print the markdown table at the end.")


def main(argv) -> int:
  del argv
  cli.prepare()
  from stjax.compare.driver import WorkerError  # pylint: disable=import-outside-toplevel
  from stjax.errors import StjaxError  # pylint: disable=import-outside-toplevel
  try:
    return _compare()
  except (StjaxError, WorkerError, *cli.USER_ERRORS) as e:
    return cli.report(e)


def _compare() -> int:
  from stjax.compare import cases, driver  # pylint: disable=import-outside-toplevel
  from stjax.errors import ConfigError  # pylint: disable=import-outside-toplevel
  names = list(cases.CPU_CASES) if _CASES.value == ["cpu"] else _CASES.value
  unknown = [n for n in names if n not in cases.CASES]
  if unknown:
    raise ConfigError(f"unknown case(s) {', '.join(unknown)}; choose from "
                      f"{', '.join(cases.CASES)} or 'cpu'")
  if not _OPENSTL.value or not os.path.isdir(os.path.join(_OPENSTL.value, "openstl")):
    raise ConfigError(f"--openstl={_OPENSTL.value!r} is not an OpenSTL checkout (no "
                      "openstl/ package in it); unpack commit c74deb5 of "
                      "github.com/chengtan9907/OpenSTL and pass its root")
  log_dir = _LOGS.value or tempfile.mkdtemp(prefix="compare_openstl_")
  results = []
  for name in names:
    r = driver.compare(
        cases.CASES[name], reference_python=_PYTHON.value,
        reference_kwargs={"ref": os.path.abspath(_OPENSTL.value)},
        reference_pythonpath=_PYTHONPATH.value, rounds=_ROUNDS.value,
        target_s=_TARGET.value, quiet_cores=_QUIET.value, max_wait_s=_MAX_WAIT.value,
        prime_steps=_PRIME.value,
        torch_compile=_COMPILE.value, compilation_cache=_CACHE.value, log_dir=log_dir,
        echo=lambda s: print(s, flush=True))
    results.append(r)
    if _OUT.value:
      with open(_OUT.value, "a", encoding="utf-8") as f:
        f.write(json.dumps(r) + "\n")
  if _TABLE.value:
    print(driver.markdown_table(results))
  print(f"workers' logs: {log_dir}")
  return 0


def run() -> None:
  """The console script `stjax-compare-openstl`."""
  cli.run(main)
