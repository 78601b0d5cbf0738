"""MS-LSTM against its authors' code (MS-RNN): every fixture through the one
`python -m stjax.interop check` command, and the check's own failure modes."""
import contextlib
import io
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from stjax.interop import check

pytestmark = pytest.mark.slow  # every test here trains, replays or runs a command

MSLSTM_FIXTURES = ROOT / "tests" / "fixtures" / "mslstm"
# shared: the cell, the MS-LSTM and SMS-LSTM pyramids; made here from the
# authors' code: the flat ConvLSTM and MK stacks and a pyramid, non-square.
CASES = ["mk_lstm_cell", "mslstm", "mslstm_sms", "mslstm_convlstm_nonsquare",
         "mslstm_mk_nonsquare", "mslstm_nonsquare"]
NETWORK_ROWS = ["output/pred_train", "output/loss_train", "output/mse_train",
                "output/mae_train", "output/pred_infer", "output/loss_infer",
                "output/mse_infer", "output/mae_infer"]


def _main(*paths):
  out = io.StringIO()
  with contextlib.redirect_stdout(out):
    code = check.main(["check", *map(str, paths)])
  return code, out.getvalue().splitlines()


def test_every_mslstm_fixture_matches_the_authors_code():
  code, lines = _main(*[MSLSTM_FIXTURES / f"{n}.npz" for n in CASES])
  assert code == 0, "\n".join(l for l in lines if "FAIL" in l)
  for name in CASES:
    rows = {l.split(" rel_err")[0].split(" ", 1)[1]: float(
        l.split("rel_err=")[1].split()[0]) for l in lines
            if l.startswith(f"{name} ")}
    if name == "mk_lstm_cell":
      assert set(rows) >= {"output/h", "output/c3", "output/c5",
                           "grad_input/x", "grad_input/h", "grad_input/c3",
                           "grad_input/c5"}
    else:
      assert set(NETWORK_ROWS) <= set(rows), rows
    assert any(k.startswith("grad (") for k in rows)
    assert max(rows.values()) < 1e-5, (name, rows)  # float32 rounding only


def test_a_changed_gradient_or_prediction_fails(tmp_path):
  for ext in ("npz", "json"):
    shutil.copy(MSLSTM_FIXTURES / f"mslstm_sms.{ext}", tmp_path / f"mslstm_sms.{ext}")
  data = dict(np.load(tmp_path / "mslstm_sms.npz"))
  key = "grad/rnns.lstm.0._conv_h2h.weight"  # the first layer: deepest in time
  data[key] = data[key] * 1.001
  data["output/pred_infer"] = data["output/pred_infer"] + 1e-3
  np.savez(tmp_path / "mslstm_sms.npz", **data)
  code, lines = _main(tmp_path / "mslstm_sms.npz")
  assert code == 1
  failed = [l for l in lines if "FAIL" in l]
  assert len(failed) == 2, lines
  assert "pred_infer" in failed[0] and "rnns.lstm.0._conv_h2h.weight" in failed[1]


def test_one_command_dispatches_every_fixture_kind():
  out = subprocess.run(
      [sys.executable, "-m", "stjax.interop", "check",
       str(MSLSTM_FIXTURES / "mk_lstm_cell.npz"),
       str(ROOT / "tests" / "fixtures" / "openstl" / "simvp_gsta.npz")],
      cwd=ROOT, capture_output=True, text=True, check=False)
  assert out.returncode == 0, out.stderr
  headers = [l for l in out.stdout.splitlines() if l.startswith("# ")]
  assert headers == [
      "# mk_lstm_cell: mslstm fixture, compared in float32, tolerance 0.0001 relative",
      "# simvp_gsta: openstl fixture, compared in float32, tolerance 0.0001 relative"]
  assert sum(l.startswith("simvp_gsta ") for l in out.stdout.splitlines()) == 3
