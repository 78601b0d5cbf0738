"""Training parity with OpenSTL: the replayed reference steps, and each
training behaviour they depend on pinned by value."""
import contextlib
import io
import json
import math
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from conftest import ROOT, tiny_config
from stjax import layers
from stjax.interop import openstl, openstl_train
from stjax.models.recurrent import MIM
from stjax.models.translators import MetaTranslator, drop_path_rates
from stjax.train.optim import build_optimizer, one_cycle

pytestmark = pytest.mark.slow  # every test here trains, replays or runs a command

TRAIN_FIXTURES = ROOT / "tests" / "fixtures" / "openstl_train"
# Shared fixtures, then ones made by fixtures/openstl_train/make_fixture.py:
# MIM-S detached, weight decay groups (TAU with DDR; PredRNN with layer norm).
# `tau` and `simvp_gsta_short` (a rising phase < 1) pass the same command;
# their pieces are covered here by tau_wd and the one-cycle unit test.
# The timm-built translators: Swin (weight decay groups with its 2-D
# relative-position tables) and ViT; ConvNeXt's passes the same command.
CASES = ["simvp_gsta", "convlstm", "predrnnv2", "mim", "tau_wd", "predrnn_wd",
         "simvp_swin_wd", "simvp_vit"]


def _run(*paths) -> tuple[int, list[str]]:
  out = io.StringIO()
  with contextlib.redirect_stdout(out):
    code = openstl.main(["check-train", *map(str, paths)])
  return code, out.getvalue().splitlines()


def test_every_fixture_trains_as_the_reference():
  code, lines = _run(*[TRAIN_FIXTURES / f"{n}.npz" for n in CASES])
  assert code == 0, "\n".join(l for l in lines if "FAIL" in l)
  assert lines[0].startswith("precision: float64")
  for name in CASES:  # groups, grad0, 4 x (loss, lr, beta1), after1, final
    rows = [l for l in lines if l.startswith(f"{name} ")]
    assert len(rows) == 1 + 1 + 4 * 3 + 2 and all(" ok" in l for l in rows), rows
    # float64 throughout: far below the 1e-4 the command requires
    errors = [float(l.split("rel_err=")[1].split()[0]) for l in rows]
    assert max(errors) < 1e-9, rows


def test_a_changed_reference_step_fails_the_check(tmp_path):
  for ext in ("npz", "json"):
    shutil.copy(TRAIN_FIXTURES / f"convlstm.{ext}", tmp_path / f"convlstm.{ext}")
  data = dict(np.load(tmp_path / "convlstm.npz"))
  data["train/lr"] = data["train/lr"] * np.array([1, 1, 1.001, 1])
  key = "final/cell_list.1.conv_h.0.weight"
  data[key] = data[key] + 1e-4 * np.sign(data[key])
  np.savez(tmp_path / "convlstm.npz", **data)
  code, lines = _run(tmp_path / "convlstm.npz")
  assert code == 1
  failed = [l.split(" rel_err")[0] for l in lines if "FAIL" in l]
  assert failed == ["convlstm step2 lr", "convlstm final change"], lines


def test_a_fixture_becomes_an_ordinary_stjax_config():
  """The check builds through the config sections a user's run has."""
  for name, model in (("simvp_gsta", "simvp_gsta"), ("convlstm", "convlstm"),
                      ("tau", "tau")):
    cfg = json.loads((TRAIN_FIXTURES / f"{name}.json").read_text())
    ours = openstl_train.openstl_config(cfg)
    user = tiny_config(model)
    for section in ("model", "optim", "loss"):
      assert set(ours[section]) <= set(user[section]), (name, section)
  assert dict(ours.loss.terms) == {"mse": 1.0, "ddr": 0.1}  # TAU's alpha


def _torch_one_cycle(step, total, pct, start, peak, end):
  """OneCycleLR's two phases as torch computes them (float phase ends)."""
  phases = [(float(pct * total) - 1, start, peak), (total - 1.0, peak, end)]
  begin = 0.0
  for i, (stop, a, b) in enumerate(phases):
    if step <= stop or i == len(phases) - 1:
      frac = (step - begin) / (stop - begin)
      return b + (a - b) / 2 * (1 + math.cos(math.pi * frac))
    begin = stop
  raise AssertionError


@pytest.mark.parametrize("total", [3, 4, 8, 1000])
def test_one_cycle_phases_end_at_a_float_step(total):
  """pct_start * N - 1 may be below 1 (N=4: 0.2) or 0 (N=3: -0.1)."""
  with jax.enable_x64(True):
    lr = one_cycle(total, 0.0002, 0.005, 2e-8, 0.3)
    for step in sorted({0, 1, 2, total // 2, total - 1}):
      want = _torch_one_cycle(step, total, 0.3, 0.0002, 0.005, 2e-8)
      assert float(lr(step)) == pytest.approx(want, rel=1e-12, abs=1e-18), step


def test_weight_decay_is_l2_before_the_moments_and_spares_biases():
  c = tiny_config().optim
  c.lr, c.schedule, c.weight_decay, c.filter_bias_and_bn = 0.1, "constant", 0.5, True
  tx, _ = build_optimizer(c, 10)
  params = {"kernel": jnp.array([[1.0, -1.0], [2.0, 0.5]]),
            "bias": jnp.array([1.0, 1.0]), "scale": jnp.array([1.0, 2.0, 3.0])}
  grads = {"kernel": jnp.array([[-0.2, 0.1], [0.3, -0.4]]),
           "bias": jnp.zeros(2), "scale": jnp.array([0.5, -0.5, 0.0])}
  updates, _ = tx.update(grads, tx.init(params), params)
  # Step 1 of Adam: m / (1 - b1) = g', sqrt(v / (1 - b2)) = |g'|.
  g = np.asarray(grads["kernel"]) + 0.5 * np.asarray(params["kernel"])
  np.testing.assert_allclose(updates["kernel"], -0.1 * g / (np.abs(g) + c.eps),
                             rtol=1e-5)
  assert not np.any(np.asarray(updates["bias"]))     # no gradient, no decay
  np.testing.assert_allclose(updates["scale"], [-0.1, 0.1, 0.0], rtol=1e-5)


def test_batch_norm_tracks_the_unbiased_variance_and_normalises_with_the_biased():
  bn = layers.BatchNorm(1)
  x = jnp.arange(8.0).reshape(2, 2, 2, 1)
  y = bn(x, use_running_average=False)
  mean, var = 3.5, np.var(np.arange(8.0))  # biased: 5.25
  np.testing.assert_allclose(np.asarray(y).ravel(),
                             (np.arange(8.0) - mean) / np.sqrt(var + 1e-5), rtol=1e-6)
  np.testing.assert_allclose(bn.mean[...], [0.1 * mean], rtol=1e-6)
  np.testing.assert_allclose(bn.var[...], [0.9 + 0.1 * var * 8 / 7], rtol=1e-6)
  np.testing.assert_allclose(bn(x, use_running_average=True),
                             (x - bn.mean[...]) / np.sqrt(bn.var[...] + 1e-5),
                             rtol=1e-5)


def test_mim_s_gradient_cut_changes_the_gradient_not_the_forward_pass():
  kw = dict(in_shape=(3, 8, 8, 1), out_frames=3, num_hidden=(4, 4, 4),
            filter_size=3, patch_size=2)
  frames = jax.random.uniform(jax.random.key(0), (2, 6, 8, 8, 1))
  weights = jnp.ones((2, 5))

  def loss(model):
    preds, _ = model.rollout(frames, weights)
    return jnp.mean(jnp.square(preds - frames[:, 1:])), preds

  out = {}
  for cut in (True, False):
    model = MIM(stop_mim_s_gradient=cut, rngs=nnx.Rngs(0), **kw)
    (_, preds), grads = nnx.value_and_grad(loss, has_aux=True)(model)
    out[cut] = preds, jax.tree.leaves(grads)
  np.testing.assert_array_equal(out[True][0], out[False][0])
  diffs = [float(jnp.max(jnp.abs(a - b))) for a, b in zip(out[True][1], out[False][1])]
  assert max(diffs) > 1e-4 * max(float(jnp.max(jnp.abs(g))) for g in out[False][1])


def test_stochastic_depth_can_be_switched_off():
  on = MetaTranslator(8, 16, 3, "gsta", rngs=nnx.Rngs(0))
  off = MetaTranslator(8, 16, 3, "gsta", stochastic_depth=False, rngs=nnx.Rngs(0))
  assert [b.drop_path for b in on.blocks] == drop_path_rates(0.0, 3) == [0.01, 0.005, 0.0]
  assert [b.drop_path for b in off.blocks] == [0.0, 0.0, 0.0]
