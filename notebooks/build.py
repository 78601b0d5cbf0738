"""Builds notebooks/NN_name.ipynb from notebooks/src/NN_name.py.

The .py files are the source (jupytext's "percent" format: `# %%` starts a
code cell, `# %% [markdown]` a markdown one whose lines drop their leading
"# "; a cell whose marker line ends in `tags=["parameters"]` is the
parameter cell papermill and the tests read; `# %% setup` is the shared
install cell, notebooks/setup_cell.py). The .ipynb files are built
from them, outputs empty, so the repository's diffs stay readable and
"Open in Colab" has a notebook to open. Run after editing a source:

    python notebooks/build.py            (tests/test_notebooks.py checks it)
"""
from __future__ import annotations

import pathlib
import re

import nbformat

HERE = pathlib.Path(__file__).parent
SETUP = HERE / "setup_cell.py"
_MARKER = re.compile(r"^# %%( \[markdown\])?(.*)$")


def cells_of(source: str) -> list:
  cells, kind, tags, lines = [], None, [], []

  def flush():
    if kind is None:
      return
    text = "\n".join(lines).strip("\n")
    if kind == "markdown":
      text = "\n".join(l[2:] if l.startswith("# ") else l.lstrip("#")
                       for l in text.splitlines())
      cell = nbformat.v4.new_markdown_cell(text)
    else:
      cell = nbformat.v4.new_code_cell(text)
    if tags:
      cell.metadata["tags"] = tags
    cells.append(cell)

  for line in source.splitlines():
    m = _MARKER.match(line)
    if m:
      flush()
      kind = "markdown" if m.group(1) else "code"
      tags = ["parameters"] if 'tags=["parameters"]' in m.group(2) else []
      lines = []
      if m.group(2).strip() == "setup":  # the shared install cell
        lines = [l for l in SETUP.read_text().splitlines()
                 if not l.startswith("# ")]
    elif kind is not None:
      lines.append(line)
  flush()
  return cells


def build(src: pathlib.Path):
  nb = nbformat.v4.new_notebook()
  nb.cells = cells_of(src.read_text())
  for i, cell in enumerate(nb.cells):  # stable ids: no churn between builds
    cell["id"] = f"{src.stem[:2]}-{i:02d}"
  nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"},
                 "language_info": {"name": "python"},
                 "colab": {"provenance": []}, "accelerator": "GPU"}
  return nb


def main():
  for src in sorted((HERE / "src").glob("*.py")):
    nbformat.write(build(src), HERE / f"{src.stem}.ipynb")
    print("wrote", HERE / f"{src.stem}.ipynb")


if __name__ == "__main__":
  main()
