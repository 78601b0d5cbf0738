"""The documentation site builds with warnings as errors, from the pages in
docs/, the committed notebooks and the library's docstrings."""
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_the_docs_site_builds_with_warnings_as_errors(tmp_path):
  out = subprocess.run(
      [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html",
       str(ROOT / "docs"), str(tmp_path / "html")],
      cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
  assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
  api = (tmp_path / "html" / "api.html").read_text()
  assert "build_run" in api and "register_model" in api  # autodoc ran
  assert (tmp_path / "html" / "notebooks" / "01_quickstart.html").is_file()
  for page in ("getting_started", "models/simvp", "datasets", "paper_protocols",
               "training", "multihost", "predict", "speed", "from_openstl",
               "extending", "design", "changelog"):
    assert (tmp_path / "html" / f"{page}.html").is_file(), page


def test_the_readme_is_a_front_door():
  readme = (ROOT / "README.md").read_text()
  assert len(readme.splitlines()) <= 200
  for heading in ("## Install", "## Train", "## Test"):
    assert heading in readme
