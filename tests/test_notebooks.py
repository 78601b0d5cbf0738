"""The notebooks: each .ipynb is built from its notebooks/src/*.py source
(outputs empty), and each runs top to bottom on this CPU at the size its
parameter cell sets."""
import importlib.util
import os
import re
import time

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT

pytestmark = pytest.mark.slow  # every test here trains, replays or runs a command

NOTEBOOKS = ROOT / "notebooks"
SOURCES = sorted((NOTEBOOKS / "src").glob("*.py"))
_spec = importlib.util.spec_from_file_location("build", NOTEBOOKS / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


def test_every_notebook_is_built_from_its_source():
  assert len(SOURCES) == 5 and {s.stem for s in SOURCES} == set(CHECKS)
  for src in SOURCES:
    committed = nbformat.read(NOTEBOOKS / f"{src.stem}.ipynb", as_version=4)
    fresh = build.build(src)
    assert [(c.cell_type, c.source) for c in committed.cells] == [
        (c.cell_type, c.source) for c in fresh.cells], (
            f"{src.stem}.ipynb is stale: run python notebooks/build.py")
    assert all(not c.get("outputs") for c in committed.cells)
    first = next(c for c in committed.cells if c.cell_type == "code")
    assert "STJAX_REPO" in first.source and "torch" not in first.source, (
        f"{src.stem}: the first code cell installs stjax, without PyTorch")
    tagged = [c for c in committed.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{src.stem}: one parameter cell"


@pytest.mark.parametrize("name", [s.stem for s in SOURCES])
def test_notebook_runs_top_to_bottom(name, tmp_path):
  nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
  env = dict(os.environ, TMPDIR=str(tmp_path))  # the notebooks' scratch space
  start = time.perf_counter()
  client = NotebookClient(nb, timeout=600, kernel_name="python3",
                          resources={"metadata": {"path": str(ROOT)}})
  old = dict(os.environ)
  os.environ.update(env)
  try:
    client.execute()
  finally:
    os.environ.clear()
    os.environ.update(old)
  errors = [o for c in nb.cells for o in c.get("outputs", [])
            if o.get("output_type") == "error"]
  assert not errors
  printed = "".join(o.get("text", "") for c in nb.cells
                    for o in c.get("outputs", []) if o.get("output_type") == "stream")
  # the install cell's own logic ran: in a checkout on a CPU it installs
  # nothing and picks no accelerator extra
  assert "JAX build for this runtime: CPU" in printed
  CHECKS[name](printed)
  print(f"{name}: {time.perf_counter() - start:.0f} s")


def _number_after(text: str, label: str) -> float:
  match = re.search(re.escape(label) + r"\s*([-+0-9.eE]+|nan|inf)", text)
  assert match, f"the notebook did not print {label!r}"
  return float(match.group(1))


def _quickstart(text):
  """The reloaded run scores new clips near its own test MSE (asserted in
  the notebook) and predicts 10 frames of each of the 4 clips."""
  assert "predicted (4, 10, 64, 64, 1)" in text
  assert 0 < _number_after(text, "'mse':") < 1e4


def _from_openstl(text):
  assert _number_after(text, "relative error against OpenSTL:") < 1e-4


def _own_data(text):
  assert "predicted (2, 6, " in text  # 6 observed -> 6 predicted frames
  assert 0 < _number_after(text, "mean squared error per frame:") < 1e4


def _tmu(text):
  runs = re.findall(r"^\s*(\w+)  MSE\s+([0-9.]+)", text, re.M)
  assert [r for r, _ in runs] == ["source_1digit", "source_2digit", "scratch",
                                   "finetune", "tmu", "tmu_untrained"], runs
  assert all(0 < float(m) < 1e4 for _, m in runs)


def _multi_device(text):
  assert _number_after(text, "largest relative difference:") < 1e-4


CHECKS = {"01_quickstart": _quickstart, "02_from_openstl": _from_openstl,
          "03_your_own_data": _own_data, "04_tmu_transfer": _tmu,
          "05_multi_device": _multi_device}
