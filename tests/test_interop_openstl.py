"""Parity with the reference PyTorch implementation (OpenSTL)."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import FIXTURES, ROOT
from stjax.interop import openstl

CASES = ["simvp_gsta", "simvp_incepu", "tau"]


@pytest.mark.parametrize("name", CASES)
def test_fixture_reproduced(name):
  errors = openstl.check_fixture(FIXTURES / f"{name}.npz")
  assert set(errors) == {"pred_y", "mse_loss", "ddr_loss"}
  for output, err in errors.items():
    assert err < openstl.TOLERANCE, (name, output, err)


def test_check_command_passes_and_prints_one_line_per_output():
  out = subprocess.run(
      [sys.executable, "-m", "stjax.interop.openstl", "check",
       *[str(FIXTURES / f"{n}.npz") for n in CASES]],
      cwd=ROOT, capture_output=True, text=True, check=False)
  assert out.returncode == 0, out.stderr
  lines = out.stdout.strip().splitlines()
  assert len(lines) == 9 and all(l.endswith(" ok") for l in lines)


def _copy_fixture(tmp_path, name="simvp_gsta"):
  for ext in ("npz", "json"):
    shutil.copy(FIXTURES / f"{name}.{ext}", tmp_path / f"{name}.{ext}")
  return tmp_path / f"{name}.npz"


def test_check_fails_on_a_wrong_weight(tmp_path):
  path = _copy_fixture(tmp_path)
  data = dict(np.load(path))
  key = "param/dec.readout.bias"
  data[key] = data[key] + 0.01
  np.savez(path, **data)
  assert openstl.main(["check", str(path)]) == 1


def test_mismatched_configuration_is_reported_by_tensor(tmp_path):
  path = _copy_fixture(tmp_path)
  cfg_path = path.with_suffix(".json")
  cfg = json.loads(cfg_path.read_text())
  cfg["hid_S"] = 16
  cfg_path.write_text(json.dumps(cfg))
  with pytest.raises(ValueError, match="enc.enc.0.conv.conv.weight"):
    openstl.check_fixture(path)


def test_missing_fixture_is_a_clear_error(tmp_path):
  with pytest.raises(FileNotFoundError, match="NAME.json"):
    openstl.check_fixture(tmp_path / "nothing.npz")
