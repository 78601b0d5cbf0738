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
RECURRENT_CASES = ["convlstm", "convlstm__ln", "predrnn", "predrnn__ln",
                   "predrnnpp", "predrnnv2", "mim"]
RECURRENT_OUTPUTS = {"frames_patched", "next_frames_zeros", "loss_zeros",
                     "next_frames_random", "loss_random"}


@pytest.mark.parametrize("name", CASES + RECURRENT_CASES)
def test_fixture_reproduced(name):
  errors = openstl.check_fixture(FIXTURES / f"{name}.npz")
  expected = RECURRENT_OUTPUTS if name in RECURRENT_CASES else {
      "pred_y", "mse_loss", "ddr_loss"}
  assert set(errors) == expected
  for output, err in errors.items():
    assert err < openstl.TOLERANCE, (name, output, err)


def test_recurrent_fixture_fails_on_a_wrong_weight(tmp_path):
  path = _copy_fixture(tmp_path, "mim")
  data = dict(np.load(path))
  key = "param/stlstm_layer_diff.1.conv_x_concat.0.weight"  # top MIM-N
  data[key] = data[key] * 2.0
  np.savez(path, **data)
  errors = openstl.check_fixture(path)
  assert errors["next_frames_random"] > openstl.TOLERANCE


def test_unused_reference_tensors_are_skipped_but_unknown_ones_refused(tmp_path):
  path = _copy_fixture(tmp_path, "convlstm")
  data = dict(np.load(path))
  data["param/cell_list.0.conv_z.0.weight"] = data["param/cell_list.0.conv_o.0.weight"]
  np.savez(path, **data)
  with pytest.raises(ValueError, match="cell_list.0.conv_z.0.weight"):
    openstl.check_fixture(path)


@pytest.mark.slow
def test_check_command_passes_and_prints_one_line_per_output():
  out = subprocess.run(
      [sys.executable, "-m", "stjax.interop.openstl", "check",
       *[str(FIXTURES / f"{n}.npz") for n in CASES + ["predrnnv2"]]],
      cwd=ROOT, capture_output=True, text=True, check=False)
  assert out.returncode == 0, out.stderr
  lines = out.stdout.strip().splitlines()
  assert len(lines) == 9 + 5 and all(l.endswith(" ok") for l in lines)


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
