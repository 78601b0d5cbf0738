"""Parity with the reference PyTorch implementation (OpenSTL)."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import FIXTURES, ROOT
from stjax.interop import openstl

# OpenSTL's other translators, every weight randomised (make_translator_fixture.py).
TRANSLATOR_CASES = [f"simvp_{t}_random" for t in (
    "convmixer", "convnext", "hornet", "mlpmixer", "moganet", "poolformer",
    "swin", "uniformer", "van", "vit")]
CASES = ["simvp_gsta", "simvp_incepu", "tau"] + TRANSLATOR_CASES
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


@pytest.mark.parametrize("name, key", [
    ("simvp_convnext_random", "param/hid.enc.1.block.mlp.fc1.weight"),
    ("simvp_uniformer_random", "param/hid.enc.1.block.attn.qkv.weight"),
    ("simvp_swin_random", "param/hid.enc.1.block.attn.relative_position_bias_table"),
])
def test_translator_fixture_fails_on_a_wrong_inner_weight(tmp_path, name, key):
  """The randomised fixtures see inside each block (OpenSTL's initial layer
  scales of 1e-6 would hide a wrong MLP or attention)."""
  path = _copy_fixture(tmp_path, name)
  data = dict(np.load(path))
  data[key] = data[key] * 1.5
  np.savez(path, **data)
  err = openstl.check_fixture(path)["pred_y"]
  assert err > 10 * openstl.TOLERANCE, err


def test_swin_shift_mask_switch_changes_only_the_shifted_layers():
  """OpenSTL's Swin translator attends without the shifted-window mask (its
  forward passes mask=None); swin_shift_mask=True is the Swin paper's SW-MSA.
  They differ where the second layer shifts its windows (an 8 x 8 latent
  map, windows of 4) and agree where one window covers the map (4 x 4: timm
  then shifts nothing)."""
  import jax.numpy as jnp
  from flax import nnx
  from stjax.models.simvp import SimVP

  def out(size, mask):
    m = SimVP(in_shape=(2, size, size, 1), out_frames=2, hid_S=8, hid_T=16,
              N_S=2, N_T=2, translator="swin", swin_shift_mask=mask,
              rngs=nnx.Rngs(0))
    x = jnp.linspace(0, 1, 2 * 2 * size * size).reshape(2, 2, size, size, 1)
    return np.asarray(m(x))

  assert np.abs(out(16, True) - out(16, False)).max() > 1e-5
  np.testing.assert_array_equal(out(8, True), out(8, False))


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
       *[str(FIXTURES / f"{n}.npz") for n in CASES[:3] + ["predrnnv2"]]],
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
