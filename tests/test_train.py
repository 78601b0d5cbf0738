"""The training system: end to end, resume, devices, bad input."""
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from conftest import ROOT, tiny_config
from stjax.errors import CheckpointError, WorkdirError
from stjax.train.build import build_run
from stjax.train.checkpoint import Checkpoints
from stjax.train.loop import train_and_evaluate


def _final_params(workdir):
  ckpt = Checkpoints(workdir)
  state, meta = ckpt.restore_latest(build_run(tiny_config()).state)
  ckpt.close()
  return state, meta


@pytest.mark.slow
def test_a_run_trains_evaluates_and_writes_everything(tmp_path, config):
  config.model.name = "tau"
  config.loss.terms.ddr = 0.1
  results = train_and_evaluate(config, str(tmp_path))
  test = results["test"]
  assert test["num_sequences"] == 8 and len(test["per_frame"]["mse"]) == 4
  assert 0 < test["mse"] < 1024 and -1 <= test["ssim"] <= 1
  written = json.loads((tmp_path / "results.json").read_text())
  assert written["test"]["mse"] == pytest.approx(test["mse"])
  for name in ("val_step0000004.png", "val_step0000008.gif", "test.png"):
    assert (tmp_path / "pictures" / name).stat().st_size > 0
  assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
  logged = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  losses = [r["train/loss"] for r in logged if "train/loss" in r]
  assert len(losses) == 4 and all(np.isfinite(losses))
  assert any("val/mse" in r for r in logged) and any("test/mse" in r for r in logged)


@pytest.mark.slow
def test_training_lowers_the_loss_on_moving_mnist(tmp_path, config):
  config.data.train_size, config.train.epochs = 96, 1
  config.optim.lr = 3e-3
  config.train.log_every_steps = 4
  train_and_evaluate(config, str(tmp_path))
  logged = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  losses = [r["train/loss"] for r in logged if "train/loss" in r]
  assert losses[-1] < 0.7 * losses[0], losses


@pytest.mark.slow
def test_an_interrupted_run_resumes_to_the_same_parameters(tmp_path, config):
  config.train.ckpt_every_steps = 3
  straight, resumed = tmp_path / "straight", tmp_path / "resumed"
  train_and_evaluate(config, str(straight))
  config.train.stop_after_step = 5   # stopped after step 5, as a preempted job
  assert train_and_evaluate(config, str(resumed)) == {}
  assert _final_params(resumed)[1]["step"] == 5  # saved where it stopped
  config.train.stop_after_step = 0
  train_and_evaluate(config, str(resumed))
  a, meta = _final_params(straight)
  b, _ = _final_params(resumed)
  assert meta["step"] == 8
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-6, atol=1e-7)


def test_a_workdir_of_another_run_is_refused_and_kept(tmp_path, config):
  config.train.stop_after_step = 1
  train_and_evaluate(config, str(tmp_path))
  before = sorted(p.name for p in (tmp_path).rglob("*"))
  config.model.hid_T = 8
  with pytest.raises(WorkdirError, match="different 'model' configuration"):
    train_and_evaluate(config, str(tmp_path))
  assert sorted(p.name for p in (tmp_path).rglob("*")) == before


def test_a_corrupt_checkpoint_is_reported_and_not_deleted(tmp_path, config):
  config.train.stop_after_step, config.train.ckpt_every_steps = 2, 2
  train_and_evaluate(config, str(tmp_path))
  step_dir = tmp_path / "checkpoints" / "2"
  for f in (step_dir / "weights").rglob("*"):
    if f.is_file() and f.stat().st_size > 1000:
      f.write_bytes(b"\0" * 10)
  config.train.stop_after_step = 0
  with pytest.raises(CheckpointError, match="cannot be read.*move that folder aside"):
    train_and_evaluate(config, str(tmp_path))
  assert step_dir.is_dir()


@pytest.mark.parametrize("field,value,message", [
    ("model.name", "simvp_gst", "model.name='simvp_gst'"),
    ("train.batch_size", 0, "train.batch_size=0"),
    ("optim.schedule", "onecycl", "optim.schedule='onecycl'"),
])
def test_bad_config_values_get_a_clear_message(tmp_path, config, field, value, message):
  section, key = field.split(".")
  setattr(getattr(config, section), key, value)
  with pytest.raises(ValueError, match=message.replace("(", r"\(")):
    train_and_evaluate(config, str(tmp_path))


@pytest.mark.slow
def test_bfloat16_compute_keeps_float32_params_and_a_close_loss(config):
  x = jax.random.uniform(jax.random.key(0), (4, 4, 32, 32, 1))
  batch = {"inputs": x, "targets": x[:, ::-1]}
  losses = {}
  for dtype in ("float32", "bfloat16"):
    config.train.compute_dtype = dtype
    run = build_run(config, total_steps=8)
    new, m = run.train_step(run.state, batch)
    losses[dtype] = float(m["loss"])
    assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(new.params))
  assert losses["bfloat16"] == pytest.approx(losses["float32"], rel=0.05)


_MULTI_DEVICE = r"""
import jax, jax.numpy as jnp, numpy as np, sys
sys.path.insert(0, "tests")
from conftest import tiny_config
from stjax.train import mesh as mesh_lib
from stjax.train.build import build_run
assert jax.device_count() == 8, jax.devices()
c = tiny_config(); c.model.drop_path = 0.1   # exercise the rng under sharding
run = build_run(c, total_steps=8)
state0, step = run.state, run.train_step
rng = np.random.default_rng(0)
batches = [{k: rng.random((8, 4, 32, 32, 1), dtype=np.float32)
            for k in ("inputs", "targets")} for _ in range(2)]
finals = []
for devices in (jax.devices()[:1], jax.devices()):
  mesh = mesh_lib.make_mesh(devices)
  state = mesh_lib.put_replicated(jax.tree.map(jnp.copy, state0), mesh)
  for b in batches:
    state, m = step(state, mesh_lib.put_batch(b, mesh))
  assert len(m["loss"].sharding.device_set) == len(devices)
  finals.append(jax.device_get(state))
for a, b in zip(jax.tree.leaves(finals[0]), jax.tree.leaves(finals[1])):
  np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
print("MULTI_DEVICE_OK")
"""


@pytest.mark.slow
def test_eight_devices_give_the_single_device_result():
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
             JAX_PLATFORMS="cpu")
  out = subprocess.run([sys.executable, "-c", _MULTI_DEVICE], cwd=ROOT, env=env,
                       capture_output=True, text=True, check=False)
  assert "MULTI_DEVICE_OK" in out.stdout, out.stderr[-3000:]


@pytest.mark.slow
def test_the_main_command_runs_the_smoke_config(tmp_path):
  out = subprocess.run(
      [sys.executable, "-m", "experiments.main",
       "--config=experiments/configs/mmnist/simvp_incepu.py:smoke",
       f"--workdir={tmp_path}", "--config.train.epochs=1",
       "--config.data.train_size=16", "--config.data.val_size=8",
       "--config.data.test_size=8"],
      cwd=ROOT, capture_output=True, text=True, check=False)
  assert out.returncode == 0, out.stderr[-3000:]
  assert "epoch 1/1 step 2 | train loss" in out.stdout
  assert "test (8 sequences" in out.stdout
  assert (tmp_path / "results.json").exists()


@pytest.mark.slow
def test_a_config_typo_on_the_command_line_fails_before_training(tmp_path):
  out = subprocess.run(
      [sys.executable, "-m", "experiments.main",
       "--config=experiments/configs/mmnist/tau.py:smoke",
       f"--workdir={tmp_path}", "--config.train.epochz=1"],
      cwd=ROOT, capture_output=True, text=True, check=False)
  assert out.returncode != 0 and "epochz" in out.stderr
  assert not (tmp_path / "checkpoints").exists()


@pytest.mark.slow
def test_a_recurrent_run_trains_evaluates_and_tests(tmp_path):
  c = tiny_config("predrnnv2")
  c.data.train_size, c.train.epochs = 8, 1
  results = train_and_evaluate(c, str(tmp_path))
  test = results["test"]
  assert test["num_sequences"] == 8 and len(test["per_frame"]["mse"]) == 4
  assert 0 < test["mse"] < 1024
  logged = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert any("val/mse" in r for r in logged)
  assert (tmp_path / "pictures" / "test.png").stat().st_size > 0


def test_a_checkpoint_of_stjax_0_1_still_resumes_and_predicts(tmp_path, config):
  """stjax 0.1 saved the whole TrainState as one `state` item; a resume
  restores it whole and prediction reads its weights."""
  import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel
  import stjax  # pylint: disable=import-outside-toplevel
  from stjax import metrics  # pylint: disable=import-outside-toplevel
  run = build_run(config)
  old = run.state.replace(step=jnp.asarray(3, jnp.int32), params=jax.tree.map(
      lambda x: x + 0.5, run.state.params))
  (tmp_path / "config.json").write_text(config.to_json())
  metrics.save_metric_spec(metrics.MetricSpec(), tmp_path)
  with ocp.CheckpointManager(tmp_path / "checkpoints") as manager:  # as 0.1 wrote it
    manager.save(3, args=ocp.args.Composite(state=ocp.args.StandardSave(old),
                                            meta=ocp.args.JsonSave({"step": 3})))
  with Checkpoints(tmp_path) as ckpts:
    resumed, meta = ckpts.restore_latest(run.state)
    with pytest.raises(CheckpointError, match="stjax 0.1.*load_run"):
      ckpts.restore_latest({"params": run.state.params,
                            "model_state": run.state.model_state})
  assert int(resumed.step) == 3 and meta["step"] == 3
  for a, b in zip(jax.tree.leaves(resumed), jax.tree.leaves(old)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  predictor = stjax.load_run(tmp_path)
  loaded = jax.tree.leaves(nnx.state(predictor.model, nnx.Param))
  for a, b in zip(loaded, jax.tree.leaves(old.params)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  assert predictor.step == 3


def test_prediction_reads_the_weights_alone(tmp_path, config, monkeypatch):
  """A checkpoint keeps the weights as their own item: loading a run for
  prediction never builds an optimizer."""
  import stjax  # pylint: disable=import-outside-toplevel
  from stjax.train import build  # pylint: disable=import-outside-toplevel
  config.train.epochs, config.eval.num_pictures = 1, 0
  train_and_evaluate(config, str(tmp_path))
  step_dir = next((tmp_path / "best").iterdir())
  assert {p.name for p in step_dir.iterdir()} >= {"weights", "train", "meta"}
  monkeypatch.setattr(build, "build_optimizer", None)  # any call would fail
  predictor = stjax.load_run(tmp_path)
  clips = np.random.default_rng(0).random((2, 4, 32, 32, 1), np.float32)
  assert np.isfinite(predictor.predict(clips)).all()


def test_a_workdir_of_stjax_0_1_resumes(tmp_path, config):
  """stjax 0.1 wrote DDR's constants into every config's loss section; a
  run of a model without DDR still resumes."""
  config.train.stop_after_step = 1
  train_and_evaluate(config, str(tmp_path))
  saved = json.loads((tmp_path / "config.json").read_text())
  assert "ddr" not in saved["loss"]["terms"] and "ddr_tau" not in saved["loss"]
  saved["loss"].update(ddr_tau=0.1, ddr_eps=1e-12)  # as 0.1 wrote it
  (tmp_path / "config.json").write_text(json.dumps(saved))
  config.train.stop_after_step = 2
  assert train_and_evaluate(config, str(tmp_path)) == {}  # resumed, stopped at 2
  assert Checkpoints(tmp_path).latest_step() == 2
