"""Recurrent models: rollout semantics, scheduled sampling, losses, training."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from conftest import tiny_config
from stjax import losses
from stjax.cells import ConvLSTMCell, MIMCell
from stjax.data import Split, build_datasets, train_batches
from stjax.errors import ConfigError
from stjax.models import MODELS, family
from stjax.models.recurrent import (STACKS, PredRNN, inference_weights,
                                    patchify, unpatchify)
from stjax.train.build import build_run
from stjax.train.sampling import ScheduledSampling, weights_from_mask


def _model(name="predrnn", remat=False, hidden=(4, 4)):
  return STACKS[name](in_shape=(3, 8, 8, 1), out_frames=3, num_hidden=hidden,
                         filter_size=3, patch_size=2, remat=remat,
                         rngs=nnx.Rngs(0))


_rollout = jax.jit(lambda model, frames, w: model.rollout(frames, w))
_predict = jax.jit(lambda model, x: model(x))


def _frames(b=2, t=6, seed=0):
  return jax.random.uniform(jax.random.key(seed), (b, t, 8, 8, 1))


def test_patchify_matches_the_reference_order_and_inverts():
  x = jnp.arange(4 * 4 * 3, dtype=jnp.float32).reshape(1, 1, 4, 4, 3)
  p = patchify(x, 2)
  # patch (0, 1) holds pixels rows 0-1, cols 2-3, row-major then channel
  expected = np.asarray(x[0, 0, 0:2, 2:4, :]).reshape(-1)
  np.testing.assert_array_equal(np.asarray(p[0, 0, 0, 1]), expected)
  np.testing.assert_array_equal(np.asarray(unpatchify(p, 2)), np.asarray(x))


def test_inference_feeds_back_its_own_predictions_only():
  model = _model()
  frames = _frames()
  pred = _predict(model, frames[:, :3])
  # The future frames handed to rollout must not matter at inference.
  other = frames.at[:, 3:].set(jax.random.uniform(jax.random.key(9), (2, 3, 8, 8, 1)))
  full, _ = _rollout(model, other, inference_weights(2, 3, 3))
  np.testing.assert_allclose(np.asarray(pred), np.asarray(full[:, 2:]), atol=1e-6)
  # Teacher forcing (all true frames) is a different computation.
  forced, _ = _rollout(model, frames, jnp.ones((2, 5)))
  assert float(jnp.max(jnp.abs(forced[:, 2:] - pred))) > 1e-4


def test_true_frame_weight_mixes_per_sequence():
  model = _model("convlstm")
  frames = _frames()
  ones, _ = _rollout(model, frames, jnp.ones((2, 5)))
  zeros, _ = _rollout(model, frames, inference_weights(2, 3, 3))
  mixed_w = jnp.stack([jnp.ones(5), inference_weights(1, 3, 3)[0]])
  mixed, _ = _rollout(model, frames, mixed_w)
  np.testing.assert_allclose(np.asarray(mixed[0]), np.asarray(ones[0]), atol=1e-6)
  np.testing.assert_allclose(np.asarray(mixed[1]), np.asarray(zeros[1]), atol=1e-6)


def test_scheduled_sampling_probabilities_follow_the_reference_schedule():
  s = ScheduledSampling(10, 10)
  for step, eta in [(0, 1 - 2e-5), (999, 1 - 2e-5 * 1000), (49998, 2e-5),
                    (50000, 0.0), (80000, 0.0)]:
    p_obs, p_fut = s.probabilities(step)
    assert float(p_obs) == 1.0
    assert float(p_fut) == pytest.approx(eta, abs=1e-6)
  off = ScheduledSampling(10, 10, scheduled_sampling=False)
  assert float(off.probabilities(0)[1]) == 0.0
  r = ScheduledSampling(10, 10, reverse_scheduled_sampling=True)
  for step, p_obs, p_fut in [(0, 0.5, 0.5), (25000, 0.5, 0.5),
                             (30000, 1 - 0.5 * np.exp(-1.0), 0.4),
                             (50000, 1.0, 0.0)]:
    got = r.probabilities(step)
    assert float(got[0]) == pytest.approx(p_obs, abs=1e-6)
    assert float(got[1]) == pytest.approx(p_fut, abs=1e-6)


def test_sampling_masks_have_the_right_layout_and_frequency():
  s = ScheduledSampling(4, 5, sampling_start_value=0.3, sampling_changing_rate=0.0)
  w = np.asarray(s(0, jax.random.key(0), 4000))
  assert w.shape == (4000, 8)
  assert np.all(w[:, :4] == 1)                       # observed steps: truth
  assert abs(w[:, 4:].mean() - 0.3) < 0.02
  np.testing.assert_array_equal(w, np.asarray(s(0, jax.random.key(0), 4000)))
  r = ScheduledSampling(4, 5, reverse_scheduled_sampling=True,
                        r_sampling_step_1=0, r_sampling_step_2=10, r_exp_alpha=1.0)
  w = np.asarray(r(5, jax.random.key(1), 4000))
  assert np.all(w[:, 0] == 1)
  assert abs(w[:, 1:4].mean() - (1 - 0.5 * np.exp(-5))) < 0.02
  assert abs(w[:, 4:].mean() - 0.25) < 0.02


def test_teacher_forcing_is_one_coin_per_iteration_falling_per_epoch():
  """PhyDNet in OpenSTL: every future step teacher forced or none, with
  chance max(0, 1 - 0.003 epoch)."""
  s = ScheduledSampling(4, 5, schedule="teacher_forcing", sampling_start_value=1.0,
                        sampling_changing_rate=0.003, steps_per_epoch=100)
  for step, chance in [(0, 1.0), (99, 1.0), (100, 0.997), (250, 0.994), (40000, 0.0)]:
    assert float(s.probabilities(step)[1]) == pytest.approx(chance, abs=1e-6)
  half = ScheduledSampling(4, 5, schedule="teacher_forcing", sampling_start_value=0.5,
                           sampling_changing_rate=0.0, steps_per_epoch=1)
  coins = np.stack([np.asarray(half(k, jax.random.key(k), 3)) for k in range(400)])
  assert np.all(coins[:, :, :4] == 1)
  future = coins[:, :, 4:]
  assert np.all(future == future[:, :1, :1])  # one coin for all sequences and steps
  assert abs(future[:, 0, 0].mean() - 0.5) < 0.08
  with pytest.raises(ConfigError, match="steps per epoch"):
    ScheduledSampling(4, 5, schedule="teacher_forcing")


def test_weights_from_openstl_masks():
  mask = np.array([[0.0, 1.0]])
  np.testing.assert_array_equal(np.asarray(weights_from_mask(mask, 3, False)),
                                [[1, 1, 1, 0, 1]])
  np.testing.assert_array_equal(np.asarray(weights_from_mask(mask, 3, True)),
                                [[1, 0, 1]])


def test_decoupling_loss_values():
  a = jax.random.normal(jax.random.key(0), (2, 4, 4, 3))
  assert float(losses.decoupling(a, 2 * a)) == pytest.approx(1.0, abs=1e-6)
  assert float(losses.decoupling(a, -a)) == pytest.approx(1.0, abs=1e-6)
  b = jax.random.normal(jax.random.key(1), (2, 4, 4, 3))
  x, y = np.asarray(a).reshape(2, 16, 3), np.asarray(b).reshape(2, 16, 3)
  cos = (x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)
  assert float(losses.decoupling(a, b)) == pytest.approx(np.abs(cos).mean(), rel=1e-5)


@pytest.mark.slow
def test_remat_gives_the_same_gradients():
  frames = _frames()

  def grads(remat):
    model = _model("predrnnv2", remat=remat)
    graphdef, params = nnx.split(model, nnx.Param)

    def loss(p):
      pred, aux = nnx.merge(graphdef, p).rollout(frames, jnp.ones((2, 5)))
      return losses.mse(pred, frames[:, 1:]) + 0.1 * aux["decouple"]
    return jax.jit(jax.grad(loss))(params)

  for a, b in zip(jax.tree.leaves(grads(False)), jax.tree.leaves(grads(True))):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-7)


def test_mim_peepholes_match_a_numpy_reference():
  """The fixtures start MIM's peephole weights at zero; check them here."""
  cell = MIMCell(3, 3, spatial=(2, 2), filter_size=1, layer_norm=False,
                 rngs=nnx.Rngs(0))
  key = jax.random.split(jax.random.key(3), 5)
  cell.ct_weight.set_value(jax.random.normal(key[0], (2, 2, 6)))
  cell.oc_weight.set_value(jax.random.normal(key[1], (2, 2, 3)))
  h, c, x = (jax.random.normal(k, (1, 2, 2, 3)) for k in key[2:])
  (h_new, c_new), _ = cell((h, c), x)
  sig = lambda v: 1 / (1 + np.exp(-v))
  wh = np.asarray(cell.conv_h_concat.conv.kernel[0, 0])
  wx = np.asarray(cell.conv_x_concat.conv.kernel[0, 0])
  gates = np.asarray(h) @ wh + np.asarray(x) @ wx
  i, g, f, o = np.split(gates, 4, axis=-1)
  ct = np.asarray(cell.ct_weight[...])
  cn = np.asarray(c)
  c_ref = sig(f + cn * ct[..., 3:] + 1) * cn + sig(i + cn * ct[..., :3]) * np.tanh(g)
  h_ref = sig(o + c_ref * np.asarray(cell.oc_weight[...])) * np.tanh(c_ref)
  np.testing.assert_allclose(np.asarray(c_new), c_ref, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(np.asarray(h_new), h_ref, rtol=1e-5, atol=1e-6)


def test_legacy_convlstm_uses_the_candidate_instead_of_the_cell():
  kw = dict(spatial=(4, 4), filter_size=3, layer_norm=False)
  new = ConvLSTMCell(2, 3, rngs=nnx.Rngs(0), **kw)
  old = ConvLSTMCell(2, 3, rngs=nnx.Rngs(0), legacy=True, **kw)
  x = jax.random.normal(jax.random.key(0), (1, 4, 4, 2))
  z = jnp.zeros((1, 4, 4, 3))
  step = jax.jit(lambda cell, x: cell((z, z), x))
  (h_new, c_new), _ = step(new, x)
  (h_old, c_old), _ = step(old, x)
  np.testing.assert_allclose(np.asarray(c_new), np.asarray(c_old), atol=1e-7)
  i, f, g, o = np.split(np.asarray(new.conv_x(x)), 4, axis=-1)
  np.testing.assert_allclose(np.asarray(h_old), 1 / (1 + np.exp(-o)) * np.tanh(g),
                             rtol=1e-5, atol=1e-6)
  assert float(jnp.max(jnp.abs(h_new - h_old))) > 1e-3


def test_bad_configurations_are_clear_errors():
  with pytest.raises(ValueError, match="all widths must be equal"):
    _model("predrnn", hidden=(4, 8))
  with pytest.raises(ValueError, match="patch"):
    PredRNN(in_shape=(3, 10, 10, 1), out_frames=3, num_hidden=(4,),
            patch_size=4, rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="at least 2 layers"):
    _model("mim", hidden=(4,))
  model = _model()
  with pytest.raises(ValueError, match="input frames"):
    model(_frames()[:, :2])


@pytest.mark.slow
def test_train_step_uses_the_sampling_schedule():
  """With the truth always fed (eta stays 1), the step's loss is the
  teacher-forced rollout's MSE; with eta 0 it is the free-running one's."""
  frames = _frames()
  batch = {"inputs": frames[:, :3], "targets": frames[:, 3:]}
  c = tiny_config("predrnn")
  c.data.pre_seq_length = c.data.aft_seq_length = 3
  for start, weights in [(1.0, jnp.ones((2, 5))),
                         (0.0, inference_weights(2, 3, 3))]:
    model = _model()
    expected = losses.mse(_rollout(model, frames, weights)[0], frames[:, 1:])
    c.sampling.sampling_start_value = start
    c.sampling.sampling_changing_rate = 0.0
    run = build_run(c, total_steps=10, model=model)
    _, metrics = run.train_step(run.state, batch)
    assert float(metrics["loss"]) == pytest.approx(float(expected), rel=1e-5)


# Every recurrent model but TMU (which needs trained sources: test_tmu.py).
RECURRENT = sorted(n for n in MODELS if family(n) == "recurrent" and n != "tmu")


@pytest.mark.slow
@pytest.mark.parametrize("name", RECURRENT)
def test_each_model_lowers_its_loss_on_moving_mnist(name):
  c = tiny_config(name)
  c.data.image_size, c.data.train_size = 32, 320
  c.train.batch_size = 8
  c.optim.lr = 3e-3
  c.optim.schedule = "constant"
  data = build_datasets(c.data)
  split = Split(c.data.pre_seq_length, c.data.aft_seq_length)
  steps = 40
  run = build_run(c, total_steps=steps)
  state, step = run.state, run.train_step
  batches = train_batches(data.train, split, batch_size=8, start_step=0,
                          num_steps=steps, seed=0, num_threads=1,
                          generated=data.generated_train)
  found = []
  for batch in batches:
    state, m = step(state, batch)
    found.append(float(m["mse"]))
  first, last = np.mean(found[:5]), np.mean(found[-5:])
  assert np.all(np.isfinite(found)) and last < 0.75 * first, (name, found)
