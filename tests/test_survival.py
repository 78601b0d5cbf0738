"""Runs that survive: multi-process resume, preemption, divergence, damaged
checkpoints, logs on resume, and one-line errors for what users get wrong."""
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from conftest import ROOT, tiny_config
from stjax.data.dataset import DatasetEntry, Datasets
from stjax.errors import ConfigError, DivergenceError
from stjax.metrics import MetricSpec
from stjax.registry import DATASETS
from stjax.train.checkpoint import Checkpoints
from stjax.train.loop import train_and_evaluate
from stjax.train.build import build_run
from stjax.train.pretrained import load_config

pytestmark = pytest.mark.slow  # every test here trains, replays or runs a command

_SMOKE = ["--config=experiments/configs/mmnist/simvp_gsta.py:smoke",
          "--config.data.image_size=32", "--config.data.pre_seq_length=4",
          "--config.data.aft_seq_length=4", "--config.data.train_size=64",
          "--config.data.val_size=8", "--config.data.test_size=8",
          "--config.data.num_threads=1", "--config.train.batch_size=8",
          "--config.eval.batch_size=8", "--config.train.epochs=2",
          "--config.train.log_every_steps=1", "--config.eval.num_pictures=0"]


def _latest_params(workdir):
  """The parameters of the newest checkpoint of a run, as numpy."""
  template = build_run(load_config(workdir)).state
  with Checkpoints(workdir) as ckpts:
    state, meta = ckpts.restore_latest(template)
  return [np.asarray(x) for x in jax.tree.leaves(state.params)], meta["step"]


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _launch(workdir, extra=()):
  """Two processes of one run over 127.0.0.1, two CPU devices each."""
  env = dict(os.environ, JAX_PLATFORMS="cpu",
             XLA_FLAGS="--xla_force_host_platform_device_count=2")
  port = _free_port()
  return [subprocess.Popen(
      [sys.executable, "-m", "experiments.main", *_SMOKE, *extra,
       f"--workdir={workdir}", "--distributed",
       f"--coordinator_address=127.0.0.1:{port}", "--num_processes=2",
       f"--process_id={i}"],
      cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      text=True) for i in range(2)]


def _finish(procs, timeout=240):
  outs = [p.communicate(timeout=timeout) for p in procs]
  return [p.returncode for p in procs], outs


def _logged_steps(workdir):
  path = workdir / "metrics.jsonl"
  if not path.exists():
    return 0
  rows = [json.loads(l) for l in path.read_text().splitlines() if l.endswith("}")]
  return max((r["step"] for r in rows if "train/loss" in r), default=0)


def test_two_processes_preempted_by_sigterm_resume_to_the_uninterrupted_result(tmp_path):
  straight, preempted = tmp_path / "straight", tmp_path / "preempted"
  codes, outs = _finish(_launch(straight))
  assert codes == [0, 0], outs[0][1][-2000:] + outs[1][1][-2000:]

  procs = _launch(preempted)
  deadline = time.time() + 180
  while (_logged_steps(preempted) < 5 and time.time() < deadline
         and all(p.poll() is None for p in procs)):
    time.sleep(0.05)
  procs[1].send_signal(signal.SIGTERM)  # the non-lead process is told to stop
  codes, outs = _finish(procs)
  assert codes == [0, 0], outs[0][1][-2000:] + outs[1][1][-2000:]
  assert "preempted: SIGTERM" in outs[0][0]
  stopped = _latest_params(preempted)[1]
  assert 5 <= stopped < 16  # saved at the step both processes agreed on

  codes, outs = _finish(_launch(preempted))  # relaunched: resumes, places the
  assert codes == [0, 0], outs[0][1][-2000:]  # state on both processes' devices
  assert f"Resuming at step {stopped}" in outs[0][0]
  a, step_a = _latest_params(straight)
  b, step_b = _latest_params(preempted)
  assert step_a == step_b == 16
  for x, y in zip(a, b):
    np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)

  # Every process checks the saved config: both refuse another run, in one line.
  codes, outs = _finish(_launch(preempted, ["--config.model.hid_T=8"]), 120)
  assert codes == [1, 1]
  for _, err in outs:
    assert err.strip().splitlines()[-1].startswith("error: ") and "'model'" in err


# -- Divergence: an overflowing batch at a chosen step -------------------------

class _Frames:
  """Constant sequences; record `nan_at` holds finite values so large that the
  loss overflows (NaN data itself is refused by the pipeline)."""

  def __init__(self, n, length, nan_at=-1):
    self.n, self.length, self.nan_at = n, length, nan_at

  def __len__(self):
    return self.n

  def __getitem__(self, i):
    value = 3e38 if i == self.nan_at else (i % 5) / 5
    return np.full((self.length, 16, 16, 1), value, np.float32)


def _nan_config(nan_step, batch=4, steps_per_epoch=4):
  """A toy dataset whose batch of step `nan_step` (1-based) overflows."""
  def load(cfg):
    total = cfg.pre_seq_length + cfg.aft_seq_length
    train = _Frames(cfg.size, total, nan_at=(nan_step - 1) * batch)
    return Datasets(train, _Frames(4, total), _Frames(4, total), (16, 16, 1),
                    generated_train=True, test_description="toy",
                    metrics=MetricSpec(names=("mse",)))
  DATASETS.register("nan_frames", DatasetEntry(lambda cfg: (16, 16, 1), load),
                    replace=True)
  c = tiny_config()
  c.model.N_S = 2
  c.data = ml_collections.ConfigDict({
      "name": "nan_frames", "pre_seq_length": 2, "aft_seq_length": 2,
      "size": batch * steps_per_epoch, "seed": 0, "num_threads": 1})
  c.train.batch_size, c.eval.batch_size, c.eval.num_pictures = batch, 4, 0
  return c


def test_divergence_on_an_epochs_last_step_fails_and_saves_nothing_non_finite(tmp_path):
  c = _nan_config(nan_step=8)  # the last step of epoch 2
  c.train.log_every_steps = 100
  with pytest.raises(DivergenceError, match="non-finite at step 8; the last good "
                     "checkpoint is step 4"):
    train_and_evaluate(c, str(tmp_path))
  assert not (tmp_path / "results.json").exists()
  with Checkpoints(tmp_path) as ckpts:
    assert ckpts.latest.all_steps() == [4] and ckpts.best.all_steps() == [4]


def test_no_checkpoint_holds_a_non_finite_state(tmp_path):
  c = _nan_config(nan_step=5, steps_per_epoch=8)
  c.train.ckpt_every_steps, c.train.log_every_steps, c.train.epochs = 1, 8, 1
  with pytest.raises(DivergenceError, match="at step 5; the last good checkpoint "
                     "is step 4"):
    train_and_evaluate(c, str(tmp_path))
  with Checkpoints(tmp_path) as ckpts:  # the kept ones hold finite parameters
    assert ckpts.latest.all_steps() == [3, 4]
    state, _ = ckpts.restore_latest(build_run(c).state)
  assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(state.params))


def test_the_best_checkpoint_skips_a_non_finite_validation(tmp_path):
  state = build_run(tiny_config()).state
  with Checkpoints(tmp_path, keep=5) as ckpts:
    for step, mse in ((1, 4.0), (2, float("nan")), (3, 5.0)):
      ckpts.save(state.replace(step=jnp.asarray(step, jnp.int32)), {"step": step},
                 val_mse=mse)
    ckpts.wait()
    assert ckpts.best.best_step() == 1


# -- Resume: validation, logs, damaged checkpoints ----------------------------

def _run_dir_config():
  c = tiny_config()
  c.train.log_every_steps, c.eval.num_pictures = 2, 0
  return c


def test_a_stop_between_checkpoint_and_validation_validates_on_resume(tmp_path):
  c = _run_dir_config()
  c.train.stop_after_step = 4  # the end of epoch 1
  train_and_evaluate(c, str(tmp_path))
  (tmp_path / "eval" / "val_step0000004.json").unlink()  # stopped before it
  c.train.stop_after_step = 0
  train_and_evaluate(c, str(tmp_path))
  assert (tmp_path / "eval" / "val_step0000004.json").exists()
  rows = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert sum("val/mse" in r and r["step"] == 4 for r in rows) == 1


def test_logs_are_not_repeated_after_a_resume_or_a_rerun(tmp_path):
  c = _run_dir_config()
  c.train.stop_after_step = 5
  train_and_evaluate(c, str(tmp_path))
  with open(tmp_path / "metrics.jsonl", "a") as f:  # logged after the save,
    f.write(json.dumps({"step": 6, "train/loss": 1.0}) + "\n")  # then killed
  c.train.stop_after_step = 0
  train_and_evaluate(c, str(tmp_path))
  train_and_evaluate(c, str(tmp_path))  # a finished run run again
  rows = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  keys = [(r["step"], k) for r in rows for k in r if k != "step"]
  assert len(keys) == len(set(keys))
  assert sum("test/mse" in r for r in rows) == 1
  assert sorted(r["step"] for r in rows if "train/loss" in r) == [2, 4, 6, 8]


def _flip_a_byte(step_dir: pathlib.Path):
  victim = max((f for f in step_dir.rglob("*") if f.is_file()
                and f.name != "stjax_checksums.json"), key=lambda f: f.stat().st_size)
  data = bytearray(victim.read_bytes())
  data[len(data) // 2] ^= 0xFF
  victim.write_bytes(bytes(data))


def test_a_flipped_byte_falls_back_to_the_previous_checkpoint(tmp_path, capsys):
  c = _run_dir_config()
  c.train.ckpt_every_steps = 2
  straight, damaged = tmp_path / "straight", tmp_path / "damaged"
  train_and_evaluate(c, str(straight))
  c.train.stop_after_step = 6
  train_and_evaluate(c, str(damaged))
  _flip_a_byte(damaged / "checkpoints" / "6")
  c.train.stop_after_step = 0
  train_and_evaluate(c, str(damaged))
  err = capsys.readouterr().err
  assert "checkpoint" in err and "is damaged" in err and "using step 4" in err
  a, _ = _latest_params(straight)
  b, _ = _latest_params(damaged)
  for x, y in zip(a, b):
    np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)


def test_a_damaged_best_checkpoint_is_a_warning_and_the_final_state_is_tested(tmp_path, capsys):
  c = _run_dir_config()
  train_and_evaluate(c, str(tmp_path))
  (best_step,) = [p for p in (tmp_path / "best").iterdir() if p.name.isdigit()]
  _flip_a_byte(best_step)
  results = train_and_evaluate(c, str(tmp_path))
  assert "Testing the final state instead" in capsys.readouterr().err
  assert results["checkpoint_step"] == 8 and np.isfinite(results["test"]["mse"])


# -- Config and data errors: before anything is written, in one line ----------

def test_keep_checkpoints_below_one_is_refused(tmp_path):
  c = _run_dir_config()
  c.train.keep_checkpoints = 0
  with pytest.raises(ConfigError, match="keep_checkpoints=0"):
    train_and_evaluate(c, str(tmp_path))
  assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_a_data_error_writes_nothing_and_the_fixed_command_runs(tmp_path):
  c = _run_dir_config()
  c.data.digits_path = str(tmp_path / "missing.npz")
  with pytest.raises(FileNotFoundError):
    train_and_evaluate(c, str(tmp_path / "run"))
  assert not (tmp_path / "run" / "config.json").exists()
  c.data.digits_path = ""
  c.train.stop_after_step = 1
  assert train_and_evaluate(c, str(tmp_path / "run")) == {}


def _bad_files(d):
  d.mkdir()
  (d / "empty.npz").write_bytes(b"")
  np.savez(d / "digits.npz", images=np.zeros((10, 28, 28), np.uint8))
  (d / "truncated.npz").write_bytes((d / "digits.npz").read_bytes()[:100])
  import gzip  # pylint: disable=import-outside-toplevel
  (d / "truncated.gz").write_bytes(gzip.compress(b"\0" * 1000)[:20])
  np.save(d / "seq.npy", np.zeros((20, 2, 32, 32), np.uint8))
  (d / "truncated.npy").write_bytes((d / "seq.npy").read_bytes()[:60])
  np.savez(d / "seq.npz", a=np.zeros((20, 2, 32, 32), np.uint8))
  return d


@pytest.mark.parametrize("field,name,message", [
    ("digits_path", "empty.npz", "not a readable .npz"),
    ("digits_path", "truncated.npz", "not a readable .npz"),
    ("digits_path", "truncated.gz", "cannot be read"),
    ("test_path", "truncated.npy", "not a readable .npy"),
    ("test_path", "seq.npz", "is an .npz archive"),
    ("val_size", 0, "val_size=0 leaves nothing"),
    ("test_size", 0, "test_size=0 leaves nothing"),
])
def test_bad_data_is_a_one_line_error_before_training(tmp_path, field, name, message):
  files = _bad_files(tmp_path / "files")
  c = _run_dir_config()
  c.data[field] = str(files / name) if isinstance(name, str) else name
  with pytest.raises((ValueError, FileNotFoundError)) as e:
    train_and_evaluate(c, str(tmp_path / "run"))
  assert message in str(e.value) and "\n" not in str(e.value)
  assert not (tmp_path / "run" / "checkpoints").exists()


def test_taxibj_names_a_folder_as_a_folder(tmp_path):
  from experiments.configs.taxibj import tau  # pylint: disable=import-outside-toplevel
  c = tau.get_config("smoke")
  c.data.path = str(tmp_path)
  with pytest.raises(FileNotFoundError, match="is a folder; it should be TaxiBJ"):
    train_and_evaluate(c, str(tmp_path / "run"))


def _main(*args, timeout=120):
  return subprocess.run([sys.executable, "-m", "experiments.main", *args],
                        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                        env=dict(os.environ, JAX_PLATFORMS="cpu"), check=False)


def test_command_line_mistakes_are_one_line(tmp_path):
  cases = [
      (["--config=experiments/configs/mmnist/tau.py:smok"], "unknown config variant ':smok'"),
      (["--config=experiments/configs/mmnist/tau.py:smoke", "--config.train.epochz=1"],
       "names no field of the config: epochz"),
      (["--config=experiments/configs/mmnist/nope.py"], "No such file or directory"),
      (["--config=experiments/configs/mmnist/tau.py:smoke", "--distributed"],
       "--distributed could not join a run"),
  ]
  for args, message in cases:
    out = _main(*args, f"--workdir={tmp_path / 'run'}")
    assert out.returncode != 0, args
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], (
        args, out.stderr[-1500:])
  assert not (tmp_path / "run").exists()


def test_ctrl_c_is_one_line_and_the_run_resumes(tmp_path):
  proc = subprocess.Popen(
      [sys.executable, "-m", "experiments.main", *_SMOKE, f"--workdir={tmp_path}"],
      cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
      env=dict(os.environ, JAX_PLATFORMS="cpu"))
  deadline = time.time() + 120
  while (_logged_steps(tmp_path) < 2 and time.time() < deadline
         and proc.poll() is None):
    time.sleep(0.05)
  proc.send_signal(signal.SIGINT)
  _, err = proc.communicate(timeout=120)
  assert proc.returncode == 130, err[-2000:]
  last = [l for l in err.splitlines() if l.strip() and "\r" not in l][-1]
  saved = sorted(p.name for p in (tmp_path / "checkpoints").glob("[0-9]*"))
  # the line tells the truth about what running the command again will do
  want = (f"interrupted: running the same command again resumes from step {saved[-1]}"
          if saved else "interrupted: no checkpoint was written yet; running the "
          "same command again starts the run afresh.")
  assert last.startswith(want), err[-2000:]
  assert "Traceback" not in err and "Exception ignored" not in err


def test_a_swallowed_ctrl_c_is_raised_again_at_the_next_step():
  """A Ctrl-C that lands in a callback whose exceptions Python ignores (JAX's
  garbage-collection hook did, once) must still stop the run."""
  from stjax.train.loop import _Preemption  # pylint: disable=import-outside-toplevel
  with _Preemption() as preemption:
    try:
      signal.raise_signal(signal.SIGINT)
    except KeyboardInterrupt:
      pass  # swallowed, as "Exception ignored in: _xla_gc_callback"
    with pytest.raises(KeyboardInterrupt):
      preemption.check_interrupt()
  assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_ctrl_c_in_a_callback_prints_no_traceback(capsys):
  """Python reports an exception raised in a callback through
  sys.unraisablehook ("Exception ignored in ..." and a traceback); during a
  run a KeyboardInterrupt there is remembered instead, other errors still
  reported."""
  import types  # pylint: disable=import-outside-toplevel
  from stjax.train.loop import _Preemption  # pylint: disable=import-outside-toplevel
  before = sys.unraisablehook
  with _Preemption() as preemption:
    sys.unraisablehook(types.SimpleNamespace(
        exc_type=KeyboardInterrupt, exc_value=KeyboardInterrupt(),
        exc_traceback=None, err_msg="Exception ignored in", object=None))
    assert preemption.interrupted
  assert sys.unraisablehook is before and capsys.readouterr().err == ""
