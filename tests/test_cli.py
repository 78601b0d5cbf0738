"""The commands explain themselves: their own --help, the catalog of what is
registered and configured, configs by name from any directory, the resolved
config printed without a run, and what an interrupted run will do."""
import subprocess
import sys

from conftest import ROOT
from stjax import cli
from stjax.cli import catalog


def _command(module, *args, cwd):
  """A console script (stjax.cli.MODULE:run) in a fresh process; its flags
  cannot share this one with the other commands' (absl's global flags)."""
  return subprocess.run(
      [sys.executable, "-c", f"from stjax.cli.{module} import run; run()", *args],
      cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_help_lists_the_commands_own_flags_only(tmp_path):
  out = _command("train", "--help", cwd=tmp_path)
  assert out.returncode == 0, out.stderr[-1000:]
  for flag in ("--config", "--workdir", "--print_config", "--distributed"):
    assert f"  {flag}:" in out.stdout
  assert "--xla_" not in out.stdout and "--jax_" not in out.stdout  # in --helpfull
  assert out.stdout.startswith("Train, evaluate and write everything")
  assert "  --input:" in _command("predict", "-h", cwd=tmp_path).stdout


def test_the_catalog_lists_models_by_family_and_configs_with_variants():
  text = catalog.catalog(ROOT)
  assert "  tau              parallel   stjax.models.simvp" in text
  assert "  mslstm           recurrent  stjax.models.mslstm" in text
  lines = {l.split()[0]: l for l in text.splitlines() if l.startswith("  papers/")}
  assert "[:adam_tf, :smoke]" in lines["papers/mim/table1_mmnist"]
  assert "TAU paper, Table 2" in lines["papers/tau/table2_mmnist"]
  assert "ssim" in text.split("metrics (eval.metrics): ")[1].splitlines()[0]
  assert "configs: no experiments/configs" in catalog.catalog(None)


def test_a_config_is_found_by_path_or_by_name_from_any_directory(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  full = ROOT / "experiments" / "configs" / "mmnist" / "tau.py"
  assert cli.find_config("mmnist/tau:smoke") == f"{full}:smoke"
  assert cli.find_config(str(full)) == str(full)
  assert str(ROOT) in sys.path  # `from experiments.configs import base` works
  assert cli.find_config("mmnist/nope") == "mmnist/nope"  # the loader's error
  assert cli.resolve_config_flag(["x", "--config", "mmnist/tau"]) == ["x", "--config", str(full)]


def test_print_config_resolves_overrides_without_a_run(tmp_path):
  out = _command("train", "--config=mmnist/tau:smoke", "--config.optim.lr=0.0005",
                 "--print_config", cwd=tmp_path)
  assert out.returncode == 0, out.stderr[-1000:]
  assert "lr: 0.0005" in out.stdout and "hid_S: 8" in out.stdout
  assert not list(tmp_path.iterdir())  # nothing written


def test_an_interrupted_run_says_what_running_again_will_do(tmp_path):
  assert "starts the run afresh" in cli.resume_note(str(tmp_path))
  (tmp_path / "checkpoints" / "12").mkdir(parents=True)
  (tmp_path / "checkpoints" / "12.orbax-checkpoint-tmp").mkdir()
  assert "resumes from step 12" in cli.resume_note(str(tmp_path))
