"""The notebooks: each .ipynb is built from its notebooks/src/*.py source
(outputs empty), and each runs top to bottom on this CPU at the size its
parameter cell sets."""
import importlib.util
import os
import time

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
SOURCES = sorted((NOTEBOOKS / "src").glob("*.py"))
_spec = importlib.util.spec_from_file_location("build", NOTEBOOKS / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


def test_every_notebook_is_built_from_its_source():
  assert len(SOURCES) == 5
  for src in SOURCES:
    committed = nbformat.read(NOTEBOOKS / f"{src.stem}.ipynb", as_version=4)
    fresh = build.build(src)
    assert [(c.cell_type, c.source) for c in committed.cells] == [
        (c.cell_type, c.source) for c in fresh.cells], (
            f"{src.stem}.ipynb is stale: run python notebooks/build.py")
    assert all(not c.get("outputs") for c in committed.cells)
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
  print(f"{name}: {time.perf_counter() - start:.0f} s")
