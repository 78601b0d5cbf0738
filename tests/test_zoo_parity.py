"""Parity of OpenSTL's further methods (E3D-LSTM, MAU, PhyDNet) with
OpenSTL's code: every fixture below goes through the dispatch of
`python -m stjax.interop check` (stjax.interop.check), forward and training
fixtures alike, in one parametrised test. Each entry is a path under
tests/fixtures/ (without .npz); the fixtures' READMEs say how they were made."""
import pytest

from conftest import ROOT
from stjax.interop import check
from stjax.interop.fixtures import TOLERANCE

def _slow(name):
  """Training replays take seconds each: the slow tier (forward checks are in both)."""
  return pytest.param(name, marks=pytest.mark.slow)


FIXTURES = [
    "openstl/mau",                         # the shared forward fixture (copied)
    _slow("openstl_train/mau"),            # four Adam + one-cycle steps, c74deb5's eta
    _slow("openstl_train/mau_recall_wd"),  # residual cells, recall decoder, wd groups
    "openstl/e3dlstm",                     # the shared forward fixture (copied)
    _slow("openstl_train/e3dlstm"),        # PredRNN's method, MSE + L1
    _slow("openstl_train/e3dlstm_ln_wd"),  # layer norm, reverse sampling, weight decay
    _slow("openstl_train/e3dlstm_stride2"),  # strided gate convs (OpenSTL's KTH)
    "openstl/phydnet_p4",                  # made here: inference, both objectives
    "openstl/phydnet_p2",                  # encoder stride 2, two channels, 12 x 16
]


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_reproduces_the_reference(name):
  kind, rows = check.check(ROOT / "tests" / "fixtures" / f"{name}.npz")
  assert rows, name
  worst = max(rows, key=lambda r: r[1])
  assert worst[1] <= TOLERANCE, (name, kind, worst)


@pytest.mark.parametrize("model, override, message", [
    ("mau", dict(sr_size=3), "power of 2"),
    ("mau", dict(num_hidden=(8, 16)), "share one width"),
    ("mau", dict(sr_size=16), "must divide"),
    ("mau", dict(cell_mode="resid"), "cell_mode"),
    ("phydnet", dict(patch_size=3), "by 2 or 4"),
    ("phydnet", dict(phydnet_objective="mse"), "phydnet_objective"),
    ("phydnet", dict(encoder_width=20), "16 groups"),
    ("phydnet", dict(num_hidden=(16, 32)), "last ConvLSTM width must be 64"),
    ("e3dlstm", dict(e3d_memory="paper"), "e3d_memory"),
])
def test_a_bad_config_is_refused_in_one_line(model, override, message):
  import importlib
  from stjax.errors import ConfigError
  from stjax.models import build_model
  cfg = importlib.import_module(f"experiments.configs.mmnist.{model}").get_config(
      "smoke").model
  cfg.update(override)
  with pytest.raises(ConfigError, match=message) as error:
    build_model(cfg, in_shape=(4, 16, 24, 1), out_frames=4)
  assert "\n" not in str(error.value)


def test_e3dlstm_memory_stays_zero_as_openstl_unless_updated():
  """OpenSTL's cell hands back the global memory it was given, so conv_gm
  only ever sees zeros (zero gradient); "updated" passes the new one on."""
  import jax
  import jax.numpy as jnp
  import numpy as np
  from flax import nnx
  from stjax.models import build_model
  from experiments.configs.mmnist import e3dlstm
  frames = jnp.asarray(np.random.default_rng(0).random((1, 5, 8, 8, 1)), jnp.float32)
  weights = jnp.ones((1, 4))
  grads = {}
  for form in ("openstl", "updated"):
    cfg = e3dlstm.get_config("smoke").model
    cfg.update(patch_size=2, num_hidden=(4, 4), e3d_memory=form)
    model = build_model(cfg, in_shape=(3, 8, 8, 1), out_frames=2)
    graph, params = nnx.split(model)
    loss = lambda p: jnp.sum(nnx.merge(graph, p).rollout(frames, weights)[0] ** 2)
    g = jax.grad(loss)(params)
    grads[form] = float(jnp.abs(g["cells"][1]["conv_gm"]["conv"]["kernel"][...]).max())
  assert grads["openstl"] == 0.0 and grads["updated"] > 0.0


def test_e3dlstm_forecasts_further_than_it_was_built_for():
  """A longer test horizon (KTH: trained 10 -> 20, tested 10 -> 40) needs a
  longer history: the same weights built for that horizon predict the same."""
  import jax.numpy as jnp
  import numpy as np
  from stjax.models import build_model
  from experiments.configs.mmnist import e3dlstm
  cfg = e3dlstm.get_config("smoke").model
  cfg.update(patch_size=2, num_hidden=(4, 4))
  short = build_model(cfg, in_shape=(3, 8, 8, 1), out_frames=2)
  long = build_model(cfg, in_shape=(3, 8, 8, 1), out_frames=5)
  x = jnp.asarray(np.random.default_rng(0).random((1, 3, 8, 8, 1)), jnp.float32)
  np.testing.assert_allclose(short(x, out_frames=5), long(x), rtol=1e-5, atol=1e-6)
