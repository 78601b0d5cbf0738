"""The paper-protocol configs (experiments/configs/papers) and the switches
they added, by value: MIM's ablations, TAU's Conv Baseline and attention
initialisation, the Copying baseline, Human3.6M's centre crop, MSE before
or after clipping."""
import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from PIL import Image

from conftest import ROOT
from experiments.configs import benchmarks
from stjax import layers, metrics
from stjax.cells.mim import MIMBlock
from stjax.data import build_datasets, frame_shape
from stjax.models.copying import CopyLast
from stjax.models.recurrent import MIM, patchify
from stjax.models.simvp import SimVP
from stjax.models.translators import ConvBlock
from stjax.train.build import build_run

PAPERS = ROOT / "experiments" / "configs" / "papers"
ISSUE_CONFIGS = sorted(f"{p.parent.name}.{p.stem}" for folder in ("mim", "tau", "simvp")
                       for p in (PAPERS / folder).glob("*.py") if p.stem != "__init__")


# Horizon variants of a config that takes a real step above: their step is
# traced (every shape and the loss checked) but not compiled, which is what
# costs (20-30 s each for SimVP's four-chunk 10 -> 40 rollout on a CPU).
TRACED_ONLY = {"tau.table5_kth40", "simvp.table7_kth40", "simvp.table7_kth20"}


@pytest.mark.slow
@pytest.mark.parametrize("name", ISSUE_CONFIGS)
def test_every_paper_config_starts_and_trains_a_step(name):
  module = importlib.import_module(f"experiments.configs.papers.{name}")
  c = module.get_config("smoke")
  d = c.data
  if d.name in ("kth", "human36m", "radar"):
    d.image_size = 16  # the step, not the size, is under test
  ratio = max(1, d.aft_seq_length // d.pre_seq_length)  # KTH 10 -> 40 keeps 1:4
  d.pre_seq_length = min(d.pre_seq_length, 2)
  d.aft_seq_length = d.pre_seq_length * ratio
  shape = (d.pre_seq_length, *frame_shape(d))
  run = build_run(c, total_steps=10)
  state, step = run.state, run.train_step
  rng = np.random.default_rng(0)
  batch = {"inputs": rng.random((1, *shape), np.float32),
           "targets": rng.random((1, d.aft_seq_length, *shape[1:]), np.float32)}
  if name in TRACED_ONLY:
    _, m = jax.eval_shape(step, state, batch)
    assert m["loss"].shape == () and m["loss"].dtype == jnp.float32, name
  else:
    _, m = step(state, batch)
    assert np.isfinite(float(m["loss"])), name
  assert c.cites, f"{name} says where its settings come from"


def _mim(ablation):
  return MIM(ablation=ablation, in_shape=(3, 8, 8, 1), out_frames=3,
             num_hidden=(4, 4, 4), filter_size=3, patch_size=2, rngs=nnx.Rngs(0))


def test_mim_without_mim_n_feeds_the_raw_difference():
  model = _mim("no_mim_n")
  assert not model.mim_n
  x = patchify(jax.random.uniform(jax.random.key(0), (2, 2, 8, 8, 1)), 2)
  carry0 = model.init_carry(2, jnp.float32)
  carry1, _, _ = model.cell_step(carry0, x[:, 0], 0)
  carry2, _, _ = model.cell_step(carry1, x[:, 1], 1)
  # block 1 at step 1 reads d = h0(step 1) - h0(step 0)
  (h0_prev, _), blocks1, _, m1 = carry1
  (h, c0, m), _, _ = model.cells[0].step((h0_prev, carry1[0][1], m1), x[:, 1])
  hb, cb, sb = blocks1[0]
  (hb2, cb2, _, _), _ = model.cells[1]((hb, cb, m, sb), (h, h - h0_prev))
  np.testing.assert_allclose(np.asarray(carry2[1][0][0]), np.asarray(hb2),
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(np.asarray(carry2[1][0][1]), np.asarray(cb2),
                             rtol=1e-5, atol=1e-6)


def test_mim_without_mim_s_gates_the_memory_from_d():
  block = MIMBlock(4, 4, spatial=(4, 4), filter_size=3, layer_norm=False,
                   rngs=nnx.Rngs(0), stationary=False)
  assert not hasattr(block, "mim_s")
  keys = jax.random.split(jax.random.key(1), 6)
  h, c, m, s, x, d = (jax.random.normal(k, (2, 4, 4, 4)) for k in keys)
  (_, c_new, _, _), _ = block((h, c, m, s), (x, d))
  i_t, g_t, _ = np.split(np.asarray(block.conv_t_cc(h)), 3, -1)
  i_x, g_x, _, _ = np.split(np.asarray(block.conv_x_cc(x)), 4, -1)
  sig = lambda v: 1 / (1 + np.exp(-v))
  want = (sig(np.asarray(block.forget_d(d)) + 1.0) * np.asarray(c)
          + sig(i_x + i_t) * np.tanh(g_x + g_t))
  np.testing.assert_allclose(np.asarray(c_new), want, rtol=1e-5, atol=1e-5)
  outs = {a: float(jnp.mean(_mim(a).rollout(
      jax.random.uniform(jax.random.key(2), (2, 6, 8, 8, 1)), jnp.ones((2, 5)))[0]))
          for a in ("", "no_mim_n", "no_mim_s")}
  assert len(set(outs.values())) == 3


def test_conv_baseline_block_and_tau_initialisation():
  block = ConvBlock(8, 8, rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.key(0), (2, 5, 5, 8))
  y = block(x, train=False, key=None)
  want = x + layers.gelu(block.norm(block.conv(x), True))
  np.testing.assert_allclose(np.asarray(y), np.asarray(want), rtol=1e-6, atol=1e-6)
  kw = dict(in_shape=(4, 16, 16, 1), out_frames=4, hid_S=8, hid_T=64, N_S=2, N_T=2,
            rngs=nnx.Rngs(0))
  tau, gsta = SimVP(translator="tau", **kw), SimVP(translator="gsta", **kw)
  a = tau.hid.blocks[1].attn
  bound = 1 / np.sqrt(64)  # PyTorch's default: U(+-1/sqrt(fan_in)), fan_in 64
  for w in (a.proj_1.kernel[...], a.proj_2.kernel[...], a.gate.conv1.kernel[...],
            a.gate.fc1.kernel[...]):
    w = np.asarray(w)
    assert np.abs(w).max() <= bound and np.std(w) == pytest.approx(bound / np.sqrt(3), rel=0.1)
  assert np.abs(np.asarray(a.proj_1.bias[...])).max() > 0  # biases drawn too
  g = np.asarray(gsta.hid.blocks[1].attn.proj_1.kernel[...])  # fan-out normal
  assert np.std(g) == pytest.approx(np.sqrt(2 / 64), rel=0.1)
  # the MLP keeps OpenSTL's _init_weights in both
  assert np.std(np.asarray(tau.hid.blocks[1].mlp.fc1.kernel[...])) == pytest.approx(
      np.std(np.asarray(gsta.hid.blocks[1].mlp.fc1.kernel[...])), rel=0.1)


def test_copying_repeats_the_last_frame():
  x = jax.random.uniform(jax.random.key(0), (2, 3, 4, 4, 1))
  y = CopyLast(in_shape=(3, 4, 4, 1), out_frames=5)(x)
  assert y.shape == (2, 5, 4, 4, 1)
  np.testing.assert_array_equal(np.asarray(y), np.repeat(np.asarray(x[:, -1:]), 5, 1))


def test_mse_before_or_after_clipping():
  pred = jnp.full((1, 1, 2, 2, 1), 1.5)
  target = jnp.ones((1, 1, 2, 2, 1))
  raw = metrics.eval_metrics(pred, target, metrics.MetricSpec(names=("mse", "mae")))
  clipped = metrics.eval_metrics(pred, target, metrics.MetricSpec(
      names=("mse", "mae"), clip_errors=True))
  assert float(raw["mse"][0, 0]) == pytest.approx(4 * 0.25)  # OpenSTL: before
  assert float(raw["mae"][0, 0]) == pytest.approx(4 * 0.5)
  assert float(clipped["mse"][0, 0]) == 0.0                  # PredRNN/TMU code
  assert "before clipping" in metrics.MetricSpec().note
  assert "psnr: per frame, data range 1" in metrics.MetricSpec().note


def test_human36m_mim_protocol_crops_the_centre(tmp_path):
  images = tmp_path / "images"
  images.mkdir()
  rng = np.random.default_rng(0)
  for subject in ("S1", "S9"):
    for n in range(0, 80):
      img = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
      Image.fromarray(img).save(images / f"{subject}_Walking.55011271_{n:06d}.jpg",
                                quality=100)
  c = benchmarks.human36m_mim_protocol(benchmarks.base.get_base_config())
  c.data.path, c.data.image_size, c.data.num_threads = str(tmp_path), 16, 1
  data = build_datasets(c.data)
  assert (c.data.frame_step, c.data.pre_seq_length, c.data.aft_seq_length) == (10, 4, 4)
  assert data.val is not None and len(data.test) == len(data.val) == 1
  first = np.asarray(Image.open(images / "S9_Walking.55011271_000000.jpg"))
  np.testing.assert_array_equal(data.test[0][0], first[:, 4:20])  # the central 16 x 16
  second = np.asarray(Image.open(images / "S9_Walking.55011271_000010.jpg"))
  np.testing.assert_array_equal(data.test[0][1], second[:, 4:20])  # every 10th frame
