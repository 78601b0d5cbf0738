"""TMU transfer: the memory rewrite, the distillation loss and gates by value,
frozen sources, sub-scaling, and loading sources and finetuning from runs."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from conftest import tiny_config
from stjax.errors import ConfigError, WorkdirError
from stjax.models import build_model
from stjax.models.recurrent import ConvLSTM, MIM, PredRNN, patchify
from stjax.models.tmu import TMU
from stjax.train.loop import train_and_evaluate
from stjax.train.optim import build_optimizer
from stjax.train.pretrained import build_run_model, load_model
from stjax.train.sampling import ScheduledSampling
from stjax.train.step import TrainState, make_train_step

KW = dict(in_shape=(3, 8, 8, 1), out_frames=3, filter_size=3, patch_size=2)
_rollout = jax.jit(lambda m, f, w: m.rollout(f, w))


def _frames(t=6, size=8, seed=0):
  return jax.random.uniform(jax.random.key(seed), (2, t, size, size, 1))


@pytest.mark.parametrize("backbone", [ConvLSTM, PredRNN, MIM])
def test_a_target_without_sources_is_its_backbone(backbone):
  plain = backbone(num_hidden=(4, 4), rngs=nnx.Rngs(0), **KW)
  tmu = TMU(backbone(num_hidden=(4, 4), rngs=nnx.Rngs(0), **KW), [],
            rngs=nnx.Rngs(1))
  count = lambda m: sum(x.size for x in jax.tree.leaves(nnx.state(m, nnx.Param)))
  assert count(tmu) == count(plain)
  frames, w = _frames(), jnp.ones((2, 5)).at[:, 3:].set(0.0)
  np.testing.assert_array_equal(np.asarray(_rollout(tmu, frames, w)[0]),
                                np.asarray(_rollout(plain, frames, w)[0]))


def test_distillation_loss_gates_and_memory_by_value():
  """One step of a one-layer ConvLSTM target with two sources, by hand."""
  target = ConvLSTM(num_hidden=(4,), rngs=nnx.Rngs(0), **KW)
  sources = [PredRNN(num_hidden=(4,), rngs=nnx.Rngs(1), **KW),
             ConvLSTM(num_hidden=(4,), rngs=nnx.Rngs(2), **KW)]
  tmu = TMU(target, sources, rngs=nnx.Rngs(3))
  transfer = tmu.transfers[0]
  for j in range(2):  # make the gates and distillers differ from their init
    transfer.norm[j].scale.set_value(
        jax.random.uniform(jax.random.key(j), (4, 4, 4), minval=0.2, maxval=2))
  frames = _frames(t=2)
  _, aux = _rollout(tmu, frames, jnp.ones((2, 1)))
  x = patchify(frames, 2)[:, 0]
  zero = jnp.zeros((2, 4, 4, 4))
  (_, c_tilde), _ = target.cells[0]((zero, zero), x)  # the memory before TMU
  distilled = [np.asarray(n(d(c_tilde))) for d, n in zip(transfer.distill, transfer.norm)]
  gates_in = np.asarray(transfer.gate_x(x) + transfer.gate_h(zero))
  gates = np.split(1 / (1 + np.exp(-gates_in)), 2, axis=-1)
  memories = [np.asarray(s.memories(s.cell_step(s.init_carry(2, jnp.float32), x, 0)[0])[0])
              for s in sources]
  want = sum(np.mean((d - m) ** 2) for d, m in zip(distilled, memories))
  assert float(aux["distill"]) == pytest.approx(want, rel=1e-5)
  for j in range(2):
    assert float(aux[f"gate_{j}"]) == pytest.approx(np.mean(gates[j]), rel=1e-5)
  # Eq. 5: the memory the target keeps is C~ + sum_j a_j * C^_j.
  carry = tmu.init_carry(2, jnp.float32)
  (target_carry, _), _, _ = tmu.advance(carry, x, x, 0, True)
  c_want = np.asarray(c_tilde) + sum(g * d for g, d in zip(gates, distilled))
  np.testing.assert_allclose(np.asarray(target_carry[0][1]), c_want,
                             rtol=1e-5, atol=1e-6)


def test_training_leaves_the_sources_unchanged_and_trains_the_target():
  kw = dict(num_hidden=(4, 4), **KW)
  tmu = TMU(PredRNN(rngs=nnx.Rngs(0), **kw),
            [ConvLSTM(rngs=nnx.Rngs(1), **kw), MIM(rngs=nnx.Rngs(2), **kw)],
            rngs=nnx.Rngs(3))
  c = tiny_config("predrnn")
  c.optim.lr, c.optim.schedule = 1e-2, "constant"
  c.loss.terms.distill = 0.1
  tx, _ = build_optimizer(c.optim, 10)
  graphdef, state = TrainState.create(tmu, tx, 0)
  assert not any("sources" in str(path) for path, _ in
                 nnx.to_flat_state(state.params))
  before = jax.device_get(state)
  step = make_train_step(graphdef, tx, c.loss,
                         sampling=ScheduledSampling.from_config(c.sampling, 3, 3))
  frames = _frames()
  batch = {"inputs": frames[:, :3], "targets": frames[:, 3:]}
  for _ in range(2):
    state, metrics = step(state, batch)
  after = jax.device_get(state)
  for a, b in zip(jax.tree.leaves(before.model_state), jax.tree.leaves(after.model_state)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  changed = [not np.array_equal(a, b) for a, b in
             zip(jax.tree.leaves(before.params), jax.tree.leaves(after.params))]
  assert all(changed)  # target, distillers and gates all learn
  expected = metrics["mse"] + c.loss.terms.distill * metrics["distill"]
  assert float(metrics["loss"]) == pytest.approx(float(expected), rel=1e-6)
  assert 0 < float(metrics["gate_0"]) < 1 and 0 < float(metrics["gate_1"]) < 1


def test_sub_scaling_and_mismatched_sources():
  target = ConvLSTM(num_hidden=(4,), rngs=nnx.Rngs(0),
                    **{**KW, "in_shape": (3, 16, 16, 1), "patch_size": 4})
  small = ConvLSTM(num_hidden=(4,), rngs=nnx.Rngs(1), **KW)  # 8x8 frames, patch 2
  tmu = TMU(target, [small], rngs=nnx.Rngs(2))
  frames = _frames(size=16)
  x = patchify(frames, 4)[:, 0]
  got = tmu._source_input(x, small, 2)  # pylint: disable=protected-access
  pooled = np.asarray(frames[:, 0]).reshape(2, 8, 2, 8, 2, 1).mean(axis=(2, 4))
  np.testing.assert_allclose(np.asarray(got),
                             np.asarray(patchify(jnp.asarray(pooled)[:, None], 2)[:, 0]),
                             rtol=1e-6)
  assert np.isfinite(float(_rollout(tmu, frames, jnp.ones((2, 5)))[1]["distill"]))
  with pytest.raises(ValueError, match="model.patch_size=4"):
    TMU(ConvLSTM(num_hidden=(4,), rngs=nnx.Rngs(0),
                 **{**KW, "in_shape": (3, 16, 16, 1)}), [small], rngs=nnx.Rngs(2))
  with pytest.raises(ValueError, match="layer by layer"):
    TMU(ConvLSTM(num_hidden=(4, 4), rngs=nnx.Rngs(0), **KW), [small],
        rngs=nnx.Rngs(2))


def test_sources_and_finetuning_load_from_finished_runs(tmp_path):
  c = tiny_config("convlstm")
  c.train.epochs = 1
  train_and_evaluate(c, str(tmp_path / "source"))
  shape = dict(in_shape=(4, 32, 32, 1), out_frames=4)
  finetuned = _with(c, init_from=str(tmp_path / "source"))
  with pytest.raises(ConfigError, match="model.init_from names a trained run"):
    build_model(finetuned, **shape)  # the pure constructor reads no workdir
  trained = jax.tree.leaves(nnx.state(
      build_model(finetuned, pretrained=load_model, **shape), nnx.Param))
  fresh = jax.tree.leaves(nnx.state(build_model(c.model, **shape), nnx.Param))
  assert any(not np.array_equal(a, b) for a, b in zip(trained, fresh))

  t = tiny_config("tmu")
  t.model.backbone, t.model.sources = "convlstm", (str(tmp_path / "source"),)
  tmu = build_run_model(t)
  for a, b in zip(jax.tree.leaves(nnx.state(tmu.sources[0], nnx.Param)), trained):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  t.model.sources = (str(tmp_path / "missing"),)
  with pytest.raises(WorkdirError, match="config.json not found"):
    build_run_model(t)
  with pytest.raises(ValueError, match="differently shaped"):
    wide = _with(c, init_from=str(tmp_path / "source"))
    wide.num_hidden = (16, 16)
    build_model(wide, pretrained=load_model, **shape)


def _with(config, **fields):
  m = config.model.copy_and_resolve_references()
  for k, v in fields.items():
    m[k] = v
  return m
