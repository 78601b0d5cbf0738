"""The TMU paper's protocol: the reversed second step, the authors' SSIM,
fixed training sets, and the Table 1 study end to end at smoke size."""
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image
from skimage.metrics import structural_similarity

from conftest import tiny_config
from experiments.configs.papers.tmu import table1_mmnist
from stjax import metrics
from stjax.cli import transfer
from stjax.train.build import build_run


@pytest.mark.slow
def test_reverse_input_is_a_second_step_on_the_reversed_sequence():
  c = tiny_config("convlstm")
  c.optim.lr, c.optim.schedule = 1e-2, "constant"  # both updates at one rate
  frames = jax.random.uniform(jax.random.key(0), (2, 8, 32, 32, 1))
  weights = jnp.asarray([[1, 1, 1, 1, 0, 1, 0], [1, 1, 1, 1, 1, 0, 0]], jnp.float32)
  batch = {"inputs": frames[:, :4], "targets": frames[:, 4:], "true_weight": weights}
  rev = jnp.flip(frames, 1)
  reversed_batch = {"inputs": rev[:, :4], "targets": rev[:, 4:], "true_weight": weights}
  run = build_run(c, total_steps=4)
  state, once = run.state, run.train_step
  c.train.reverse_input = True
  twice = build_run(c, total_steps=4).train_step
  copy = lambda s: jax.tree.map(jnp.array, s)
  both, m = twice(copy(state), batch)
  first, m1 = once(copy(state), batch)
  first = first.replace(step=state.step)  # the second update sees the same step
  second, m2 = once(first, reversed_batch)
  for a, b in zip(jax.tree.leaves(both.params), jax.tree.leaves(second.params)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)
  counts = {int(x) for p, x in jax.tree_util.tree_leaves_with_path(both.opt_state)
            if "count" in jax.tree_util.keystr(p)}
  assert int(both.step) == 1 and counts == {2}  # two optimizer updates
  assert float(m["loss"]) == pytest.approx(float(m1["loss"]), rel=1e-6)
  assert float(m["loss_reversed"]) == pytest.approx(float(m2["loss"]), rel=1e-6)


def test_uint8_ssim_matches_scikit_image_on_uint8_frames():
  rng = np.random.default_rng(0)
  a = rng.random((2, 3, 20, 24, 1)).astype(np.float32)
  b = np.clip(a + 0.1 * rng.standard_normal(a.shape), 0, 1).astype(np.float32)
  ours = np.asarray(metrics.ssim_per_frame(jnp.asarray(a), jnp.asarray(b), "uint8"))
  u8 = lambda x: (x * 255).astype(np.uint8)  # the authors' np.uint8(x * 255)
  ref = np.array([[structural_similarity(u8(a[i, j]), u8(b[i, j]), channel_axis=-1)
                   for j in range(3)] for i in range(2)])
  np.testing.assert_allclose(ours, ref, atol=1e-5)
  # a different number from the float conventions
  assert not np.allclose(ours, metrics.ssim_per_frame(jnp.asarray(a), jnp.asarray(b),
                                                      "openstl"), atol=1e-3)


def test_table1_config_reads_the_paper_or_the_code():
  paper, code = table1_mmnist.get_config(), table1_mmnist.get_config("code")
  assert paper.model.tmu_variant == "paper" and code.model.tmu_variant == "code"
  assert (paper.optim.lr, code.optim.lr) == (1e-3, 3e-4)
  assert not paper.train.reverse_input and code.train.reverse_input
  assert (paper.loss.reduction, code.loss.reduction) == ("sequence_sum", "mean")
  for c in (paper, code):
    assert c.model.num_hidden == (64,) * 4 and c.model.patch_size == 4
    assert c.data.train_size == 10000 and c.data.fixed_train_set
    assert (c.data.val_size, c.data.test_size, c.data.num_digits) == (2000, 3000, 3)
    assert c.train.epochs * c.data.train_size // c.train.batch_size == 80000
  with pytest.raises(ValueError, match=":code_smoke"):
    table1_mmnist.get_config("cod")


def test_study_plan_scales_data_and_keeps_the_steps(tmp_path):
  c = table1_mmnist.get_config("code")
  c.transfer.target_fraction = 0.25
  runs = dict(transfer.plan(c, tmp_path))
  assert list(runs) == ["source_1digit", "source_2digit", "scratch", "finetune",
                        "tmu", "tmu_untrained"]
  assert runs["scratch"].data.train_size == 2500 and runs["scratch"].train.epochs == 256
  assert runs["source_1digit"].model.name == "convlstm"
  assert runs["source_1digit"].model.gate_bias and runs["source_1digit"].data.num_digits == 1
  assert runs["finetune"].model.init_from == str(tmp_path / "source_2digit")
  assert runs["tmu"].model.sources == (str(tmp_path / "source_1digit"),
                                       str(tmp_path / "source_2digit"))
  assert runs["tmu_untrained"].model.untrained_sources == 2
  assert not runs["tmu_untrained"].model.sources


@pytest.mark.slow
def test_the_table1_study_runs_end_to_end(tmp_path):
  c = table1_mmnist.get_config("smoke")
  c.data.train_size, c.data.val_size, c.data.test_size = 16, 8, 12
  c.data.pre_seq_length = c.data.aft_seq_length = 3
  c.data.num_threads, c.train.epochs, c.eval.batch_size = 1, 1, 8
  c.model.num_hidden, c.model.filter_size = (8, 8), 3
  c.transfer.pretrain_train_size = 16
  c.eval.num_pictures = 0
  assert transfer.study(c, tmp_path) == 0
  out = json.loads((tmp_path / "comparison.json").read_text())
  runs = {r["run"]: r for r in out["runs"]}
  assert list(runs) == ["source_1digit", "source_2digit", "scratch", "finetune",
                        "tmu", "tmu_untrained"]
  assert out["tmu_variant"] == "paper" and out["paper_mse"]["tmu"] == 94.7
  for name in ("tmu", "tmu_untrained"):  # gates over all 12 test sequences
    gates = [runs[name][f"test_gate_{m}"] for m in (0, 1)]
    assert all(0 < g < 1 for g in gates)
  assert "test_gate_0" not in runs["scratch"] and np.isfinite(runs["scratch"]["mse"])
  assert "ssim_uint8" in runs["tmu"]
  png = Image.open(tmp_path / "comparison_mse.png")
  colours = np.unique(np.asarray(png.convert("RGB")).reshape(-1, 3), axis=0)
  assert png.size == (640, 400) and len(colours) > 4  # curves drawn
