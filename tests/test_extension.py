"""The docs' "Extending stjax" (docs/extending.md), followed to the letter: a model, a dataset
and a metric of one's own (tests/extension, four new files) train through
the command line, predict through stjax-predict from another folder and
reload with stjax.load_run."""
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow  # every test here trains, replays or runs a command

EXTENSION = ROOT / "tests" / "extension"
# stjax-predict, as its console script runs it (stjax.cli.predict:run)
PREDICT = ("import sys; from stjax.cli.predict import run; "
           "sys.argv[0] = 'stjax-predict'; run()")


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("toy") / "run"
  done = subprocess.run(
      [sys.executable, "-m", "experiments.main",
       f"--config={EXTENSION / 'toy_config.py'}:smoke", f"--workdir={workdir}",
       "--nocompilation_cache"],
      cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
  assert done.returncode == 0, done.stderr[-2000:]
  return workdir


def test_the_toy_run_trains_its_own_model_on_its_own_data(toy_run):
  results = json.loads((toy_run / "results.json").read_text())
  assert results["test"]["num_sequences"] == 8
  assert set(results["test"]["per_frame"]) == {"mse", "toy_peak"}
  logged = [json.loads(l) for l in (toy_run / "metrics.jsonl").read_text().splitlines()]
  losses = [r["train/loss"] for r in logged if "train/loss" in r]
  assert len(losses) == 4 and losses[-1] < losses[0]  # 8 steps, logged every 2
  recorded = json.loads((toy_run / "registered_by.json").read_text())["modules"]
  assert {m["name"] for m in recorded} == {"toy_blend", "toy_frames", "toy_peak"}


def test_stjax_predict_finds_the_modules_and_load_run_reloads_the_run(
    toy_run, tmp_path):
  clips = np.random.default_rng(0).random((3, 3, 8, 8, 1)).astype(np.float32)
  np.save(tmp_path / "clips.npy", clips)
  # From another folder: the modules are imported from the recorded files.
  done = subprocess.run(
      [sys.executable, "-c", PREDICT, f"--workdir={toy_run}",
       f"--input={tmp_path / 'clips.npy'}", f"--output={tmp_path / 'pred.npy'}"],
      cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
  assert done.returncode == 0, done.stderr[-2000:]
  predicted = np.load(tmp_path / "pred.npy")

  import stjax  # pylint: disable=import-outside-toplevel
  sys.path.append(str(EXTENSION))  # as the config's folder is for a command
  run = stjax.load_run(toy_run)
  a, b = float(run.model.a[...]), float(run.model.b[...])
  assert (a, b) != (0.25, 0.0)  # trained away from the smoke start
  expected = a * clips[:, -1:] + b * clips.mean(axis=1, keepdims=True)
  np.testing.assert_allclose(predicted, np.repeat(expected, 2, axis=1),
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(run.predict(clips), predicted, rtol=1e-6)
  assert run.step == 8 and run.spec.names == ("mse", "toy_peak")
