"""Sphinx configuration of the stjax documentation.

  python -m sphinx -W -b html docs docs/_build/html   (tests/test_docs.py)

Pages are MyST markdown; the notebooks are pages too, shown as committed
(outputs empty: the tests execute them, the site does not).
"""
import pathlib
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

project = "stjax"
author = "the stjax authors"
copyright = "the stjax authors; Apache-2.0"  # pylint: disable=redefined-builtin

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.viewcode"]
nb_execution_mode = "off"
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
exclude_patterns = ["_build"]
html_theme = "sphinx_book_theme"
html_title = "stjax"
html_static_path = ["_static"]
html_theme_options = {"show_toc_level": 2}
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": False}


def _copy_notebooks(app):
  """The committed notebooks (notebooks/*.ipynb) become docs/notebooks/."""
  out = pathlib.Path(app.srcdir) / "notebooks"
  out.mkdir(exist_ok=True)
  for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
    shutil.copy(nb, out / nb.name)


def _docstring_as_written(app, what, name, obj, options, lines):
  """stjax's docstrings are plain text (they cite equations, shapes and
  paths, not reST markup): shown as written, in a literal block."""
  del app, what, name, obj, options
  if any(line.strip() for line in lines):
    lines[:] = ["::", ""] + ["   " + line for line in lines] + [""]


def setup(app):
  app.connect("builder-inited", _copy_notebooks)
  app.connect("autodoc-process-docstring", _docstring_as_written)
