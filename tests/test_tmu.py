"""TMU transfer: Eq. 5 and the rest of each variant by value, the
distillation forms, frozen and untrained sources, sub-scaling, loading
sources and finetuning from runs, and parity with the authors' code."""
import contextlib
import io
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from conftest import ROOT, tiny_config
from stjax.cells.tmu import TMUCell
from stjax.config_check import validate
from stjax.errors import ConfigError, WorkdirError
from stjax.interop import check
from stjax.models import build_model
from stjax.models.recurrent import ConvLSTM, MIM, PredRNN, patchify
from stjax.models.tmu import TMU, TMUConvLSTM
from stjax.train.loop import train_and_evaluate
from stjax.train.build import build_run, build_run_model
from stjax.train.pretrained import load_model

KW = dict(in_shape=(3, 8, 8, 1), out_frames=3, filter_size=3, patch_size=2)
TMU_FIXTURES = ROOT / "tests" / "fixtures" / "tmu"
_rollout = jax.jit(lambda m, f, w: m.rollout(f, w))
_sig = lambda v: 1 / (1 + np.exp(-np.asarray(v)))


def _frames(t=6, size=8, seed=0):
  return jax.random.uniform(jax.random.key(seed), (2, t, size, size, 1))


def _ln(x, scale, bias):
  """LayerNorm over a whole (H, W, C) map per sample, eps 1e-5."""
  x = np.asarray(x, np.float64)
  m = x.mean(axis=(1, 2, 3), keepdims=True)
  v = ((x - m) ** 2).mean(axis=(1, 2, 3), keepdims=True)
  return (x - m) / np.sqrt(v + 1e-5) * np.asarray(scale) + np.asarray(bias)


def _perturb_norms(module, seed=0):
  """LayerNorm scales and biases away from 1 and 0, so dropping them fails."""
  for i, (path, var) in enumerate(nnx.to_flat_state(nnx.state(module, nnx.Param))):
    if "norm" in "/".join(map(str, path)):
      var.set_value(var[...] + 0.3 * jax.random.normal(jax.random.key(seed + i),
                                                       var.shape))


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


def test_paper_variant_step_by_value():
  """One step of a one-layer ConvLSTM target with two sources: Eq. 3, the
  gates of Eq. 5, Eq. 5's memory, H = o * tanh(C), Eq. 4's distillation
  (sources reading the target's input)."""
  target = ConvLSTM(num_hidden=(4,), rngs=nnx.Rngs(0), **KW)
  sources = [PredRNN(num_hidden=(4,), rngs=nnx.Rngs(1), **KW),
             ConvLSTM(num_hidden=(4,), rngs=nnx.Rngs(2), **KW)]
  tmu = TMU(target, sources, rngs=nnx.Rngs(3))
  _perturb_norms(tmu.transfers[0])
  t = tmu.transfers[0]
  frames = _frames(t=2)
  x = patchify(frames, 2)[:, 0]
  zero = jnp.zeros((2, 4, 4, 4))
  gates_all = np.asarray(target.cells[0].conv_x(x) + target.cells[0].conv_h(zero))
  i, f, g, o = np.split(gates_all, 4, axis=-1)
  c_tilde = _sig(i) * np.tanh(g)  # C_t-1 = 0
  distilled = [_ln(np.asarray(t.distill.conv[m](jnp.asarray(c_tilde, jnp.float32))),
                   t.distill.norm[m].scale[...], t.distill.norm[m].bias[...])
               for m in range(2)]
  a = np.split(_sig(t.gate_x(x) + t.gate_h(zero)), 2, axis=-1)
  c = c_tilde + sum(a[m] * distilled[m] + (1 - a[m]) * c_tilde for m in range(2))
  h = _sig(o) * np.tanh(c)
  carry = tmu.init_carry(2, jnp.float32)
  (target_carry, _), pred, aux = tmu.advance(carry, x, x, jnp.ones((2, 1, 1, 1)),
                                             0, True)
  np.testing.assert_allclose(np.asarray(target_carry[0][1]), c, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(np.asarray(target_carry[0][0]), h, rtol=1e-4, atol=1e-5)
  memories = [np.asarray(s.memories(s.cell_step(s.init_carry(2, jnp.float32), x, 0)[0])[0])
              for s in sources]
  eq4 = sum(np.sum((distilled[m] - memories[m]) ** 2) / 2 for m in range(2))
  assert float(aux["distill"]) == pytest.approx(eq4, rel=1e-4)
  for m in range(2):
    assert float(aux[f"gate_{m}"]) == pytest.approx(np.mean(a[m]), rel=1e-5)
  np.testing.assert_allclose(np.asarray(pred), np.asarray(target.conv_last(jnp.asarray(h, jnp.float32))),
                             rtol=1e-4, atol=1e-5)


def test_code_variant_cell_by_value():
  """The authors' TMU layer: one conv and one LayerNorm for i, f, o, g, s1,
  s2; H reads C~; the carried memory is Eq. 5's."""
  cell = TMUCell(3, 4, 2, spatial=(5, 5), filter_size=3, rngs=nnx.Rngs(0))
  _perturb_norms(cell)
  keys = jax.random.split(jax.random.key(1), 3)
  x, h, c = (jax.random.normal(k, (2, 5, 5, n)) for k, n in zip(keys, (3, 4, 4)))
  (h_new, c_new), out, distilled, gates = cell((h, c), x)
  z = _ln(cell.conv_x(x) + cell.conv_h(h), cell.norm.scale[...], cell.norm.bias[...])
  i, f, o, g, s1, s2 = np.split(z, 6, axis=-1)
  c_tilde = _sig(f) * np.asarray(c) + _sig(i) * np.tanh(g)
  d = [_ln(np.asarray(cell.distill.conv[m](jnp.asarray(c_tilde, jnp.float32))),
           cell.distill.norm[m].scale[...], cell.distill.norm[m].bias[...])
       for m in range(2)]
  a = [_sig(s1), _sig(s2)]
  c_want = c_tilde + sum(a[m] * d[m] + (1 - a[m]) * c_tilde for m in range(2))
  np.testing.assert_allclose(np.asarray(c_new), c_want, rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(np.asarray(h_new), _sig(o) * np.tanh(c_tilde),
                             rtol=1e-4, atol=1e-5)
  np.testing.assert_array_equal(np.asarray(out), np.asarray(h_new))
  for m in range(2):
    np.testing.assert_allclose(np.asarray(distilled[m]), d[m], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(gates[m]), a[m], rtol=1e-5, atol=1e-6)


def _code_tmu(seed=0, sources=2, form=""):
  target = TMUConvLSTM(num_sources=sources, num_hidden=(4, 4), rngs=nnx.Rngs(seed), **KW)
  srcs = [ConvLSTM(num_hidden=(4, 4), gate_bias=True, rngs=nnx.Rngs(seed + 1 + k), **KW)
          for k in range(sources)]
  return TMU(target, srcs, variant="code", distill_form=form, rngs=nnx.Rngs(9))


def test_distillation_forms_differ_only_by_their_normalisation():
  frames, w = _frames(), jnp.ones((2, 5)).at[:, 3:].set(0.0)
  got = {form: float(_rollout(_code_tmu(form=form), frames, w)[1]["distill_code"])
         for form in ("eq6", "code", "mean")}
  steps, batch, elements = 5, 2, 4 * 4 * 4  # per sample: H' x W' x n
  assert got["eq6"] == pytest.approx(got["mean"] * steps * elements, rel=1e-5)
  assert got["code"] == pytest.approx(got["mean"] * steps / (batch * (steps + 1)),
                                      rel=1e-5)
  # the code variant reports it and adds nothing to the objective
  assert float(_rollout(_code_tmu(), frames, w)[1]["distill"]) == 0.0


def test_code_variant_sources_roll_out_on_their_own_predictions():
  """Where the mask is 0 a source reads its own last prediction, so its
  memories differ from a run fed the target's input."""
  tmu = _code_tmu()
  frames = _frames()
  w_true, w_own = jnp.ones((2, 5)), jnp.ones((2, 5)).at[:, 3:].set(0.0)
  d_true = float(_rollout(tmu, frames, w_true)[1]["distill_code"])
  d_own = float(_rollout(tmu, frames, w_own)[1]["distill_code"])
  assert d_true != pytest.approx(d_own, rel=1e-6)
  # stepping one source by hand on its own predictions reproduces its carry
  src = tmu.sources[0]
  patches = patchify(frames, 2)
  carry, prev = src.init_carry(2, jnp.float32), jnp.zeros_like(patches[:, 0])
  for t in range(5):
    wt = w_own[:, t][:, None, None, None]
    carry, top, _ = src.cell_step(carry, wt * patches[:, t] + (1 - wt) * prev, t)
    prev = src.conv_last(top)
  full = tmu.init_carry(2, jnp.float32)
  x_prev = jnp.zeros_like(patches[:, 0])
  for t in range(5):
    wt = w_own[:, t][:, None, None, None]
    full, x_prev, _ = tmu.advance(full, wt * patches[:, t] + (1 - wt) * x_prev,
                                  patches[:, t], wt, t, True)
  np.testing.assert_allclose(np.asarray(full[1][0][1]), np.asarray(prev),
                             rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_training_leaves_the_sources_unchanged_and_trains_the_target():
  kw = dict(num_hidden=(4, 4), **KW)
  tmu = TMU(PredRNN(rngs=nnx.Rngs(0), **kw),
            [ConvLSTM(rngs=nnx.Rngs(1), **kw), MIM(rngs=nnx.Rngs(2), **kw)],
            rngs=nnx.Rngs(3))
  c = tiny_config("predrnn")
  c.optim.lr, c.optim.schedule = 1e-2, "constant"
  c.loss.terms.distill = 0.1
  c.data.pre_seq_length = c.data.aft_seq_length = 3
  run = build_run(c, total_steps=10, model=tmu)
  state, step = run.state, run.train_step
  assert not any("sources" in str(path) for path, _ in
                 nnx.to_flat_state(state.params))
  before = jax.device_get(state)
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
  with pytest.raises(ValueError, match="own patches"):  # the code variant
    TMU(TMUConvLSTM(num_sources=1, num_hidden=(4,), rngs=nnx.Rngs(0),
                    **{**KW, "in_shape": (3, 16, 16, 1), "patch_size": 4}),
        [small], variant="code", rngs=nnx.Rngs(2))


def test_untrained_sources_and_the_variant_switch_through_the_registry():
  c = tiny_config("tmu")
  c.model.backbone, c.model.untrained_sources = "convlstm", 2
  tmu = build_run_model(c, load_model)
  assert len(tmu.sources) == 2 and tmu.variant == "paper"
  a, b = (jax.tree.leaves(nnx.state(s, nnx.Param)) for s in tmu.sources)
  assert any(not np.array_equal(x, y) for x, y in zip(a, b))  # two different draws
  assert len(tmu.transfers) == len(c.model.num_hidden)       # TMU at every layer
  c.model.tmu_variant, c.model.gate_bias = "code", True
  code = build_run_model(c, load_model)
  assert isinstance(code.target, TMUConvLSTM) and not code.transfers
  assert code.target.tmu.num_sources == 2
  c.model.backbone = "predrnn"
  with pytest.raises(ConfigError, match="ConvLSTM target only"):
    build_run_model(c, load_model)
  c.model.backbone, c.model.tmu_variant = "convlstm", "authors"
  with pytest.raises(ConfigError, match="model.tmu_variant='authors'"):
    build_run_model(c, load_model)


def test_eq6_distillation_needs_summed_frame_errors():
  c = tiny_config("tmu")
  c.loss.reduction = "mean"  # the mmnist/tmu config uses "sequence_sum"
  with pytest.raises(ConfigError, match="loss.reduction='sequence_sum'"):
    validate(c)
  c.model.tmu_distill = "mean"
  validate(c)


@pytest.mark.slow
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
  tmu = build_run_model(t, load_model)
  for a, b in zip(jax.tree.leaves(nnx.state(tmu.sources[0], nnx.Param)), trained):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  t.model.sources = (str(tmp_path / "missing"),)
  with pytest.raises(WorkdirError, match="config.json not found"):
    build_run_model(t, load_model)
  with pytest.raises(ValueError, match="differently shaped"):
    wide = _with(c, init_from=str(tmp_path / "source"))
    wide.num_hidden = (16, 16)
    build_model(wide, pretrained=load_model, **shape)


def _with(config, **fields):
  m = config.model.copy_and_resolve_references()
  for k, v in fields.items():
    m[k] = v
  return m


def _check(*paths):
  out = io.StringIO()
  with contextlib.redirect_stdout(out):
    code = check.main(["check", *map(str, paths)])
  return code, out.getvalue().splitlines()


@pytest.mark.slow
def test_the_authors_tmu_is_reproduced():
  """The shared fixture and a deeper one made here from the authors' code
  (three layers of unequal widths, patch 4, filter 5)."""
  code, lines = _check(TMU_FIXTURES / "tmu_code.npz", TMU_FIXTURES / "tmu_code_deep.npz")
  assert code == 0, "\n".join(l for l in lines if "FAIL" in l)
  for name in ("tmu_code", "tmu_code_deep"):
    rows = [l for l in lines if l.startswith(f"{name} ")]
    # predictions, 2 losses, grads, 8 internals, 2 x 2 teacher arrays, inference
    assert len(rows) == 1 + 2 + 1 + 8 + 4 + 1, rows
    assert max(float(l.split("rel_err=")[1].split()[0]) for l in rows) < 1e-10


def test_a_changed_tmu_fixture_fails(tmp_path):
  for ext in ("npz", "json"):
    shutil.copy(TMU_FIXTURES / f"tmu_code.{ext}", tmp_path / f"tmu_code.{ext}")
  data = dict(np.load(tmp_path / "tmu_code.npz"))
  data["output/loss_distill"] = data["output/loss_distill"] * (20 / 19)  # B (T-1)
  data["output/student/h0"] = np.tanh(np.arctanh(np.clip(
      data["output/student/h0"], -0.999, 0.999)) * 1.01)
  np.savez(tmp_path / "tmu_code.npz", **data)
  code, lines = _check(tmp_path / "tmu_code.npz")
  assert code == 1
  failed = sorted(l.split(" rel_err")[0] for l in lines if "FAIL" in l)
  assert failed == ["tmu_code output/loss_distill", "tmu_code output/student/h0"]
