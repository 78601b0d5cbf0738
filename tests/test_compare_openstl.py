"""experiments.compare_openstl's method, driven against a numpy stand-in for
the reference (tests/compare_stand_in.py), so that neither OpenSTL nor
PyTorch is needed."""
import json
import os
import sys

import pytest

from stjax.compare import cases, driver
from stjax.errors import ConfigError

pytestmark = pytest.mark.slow  # every test here trains, replays or runs a command

STAND_IN = os.path.join(os.path.dirname(__file__), "compare_stand_in.py") + ":build"
TINY = cases.Case(
    "tiny_convlstm", "mmnist/convlstm",
    ("model.num_hidden=(8,)", "data.image_size=16", "data.pre_seq_length=4",
     "data.aft_seq_length=4"), {}, batch=2)


def _compare(case, tmp_path, **kw):
  lines = []
  result = driver.compare(case, reference_builder=STAND_IN, rounds=2, target_s=0.05,
                          quiet_cores=2.5, max_wait_s=5, quiet_window_s=0.1, log_dir=str(tmp_path),
                          echo=lines.append, **kw)
  return result, lines


def test_a_comparison_times_both_sides_in_rounds_and_reports_medians(tmp_path):
  result, lines = _compare(TINY, tmp_path)
  assert result["params_stjax"] == result["params_reference"] == 19328
  assert len(result["rounds"]) == 2
  for mode in ("train", "infer"):
    ratios = sorted(r[f"ratio_{mode}"] for r in result["rounds"])
    assert result[f"median_ratio_{mode}"] == pytest.approx(sum(ratios) / 2)
    for r in result["rounds"]:
      # each ratio is stjax's rate over the reference's, both positive
      assert r[f"ratio_{mode}"] == pytest.approx(r[f"stjax_{mode}"] / r[f"reference_{mode}"])
      assert r[f"stjax_{mode}"] > 0 and r[f"reference_{mode}"] > 0
  assert result["stjax_train_compile_s"] > 0
  assert result["peak_rss_mib_stjax"] > 100 and result["peak_rss_mib_reference"] > 10
  assert result["reference_version"].startswith("numpy ")
  assert any("round 2" in l for l in lines) and "median ratio" in lines[-1]
  table = driver.markdown_table([result])
  assert f"x{result['median_ratio_train']:.2f}" in table and "19,328" in table
  json.dumps(result)  # one JSON line per case


def test_unequal_parameter_counts_are_refused(tmp_path):
  case = cases.Case(TINY.name, TINY.config, TINY.overrides, {"extra": 5}, batch=2)
  with pytest.raises(ConfigError, match=r"19,328 parameters and the reference 19,333"):
    _compare(case, tmp_path)
  # a difference the case declares (tensors the reference never uses) passes
  declared = cases.Case(TINY.name, TINY.config, TINY.overrides, {"extra": 5}, batch=2,
                        unused_reference_params=5)
  result, _ = _compare(declared, tmp_path)
  assert result["params_reference"] - result["params_stjax"] == 5


def test_a_worker_that_fails_is_a_one_line_error(tmp_path):
  case = cases.Case("typo", TINY.config, ("model.num_hiden=(8,)",), {}, batch=2)
  with pytest.raises(driver.WorkerError, match="num_hiden"):
    _compare(case, tmp_path)


def test_the_cases_pair_equal_models():
  # ConvLSTM's unused tensors: conv_o (2n -> n, 5x5) and conv_last (2n -> n, 1x1)
  assert cases.CASES["convlstm_b1"].unused_reference_params == 15_083_520 - 11_675_648
  assert cases.CASES["predrnn_b1"].unused_reference_params == 0
  for case in cases.CASES.values():
    assert case.config.startswith("mmnist/") and case.batch in (1, 4, 8, 16)


def test_every_case_config_takes_its_overrides_and_translator():
  import ast
  from stjax.cli import compare_worker
  from stjax.models.simvp import translator_name
  for case in cases.CASES.values():
    config = compare_worker.load_config(case.config, list(case.overrides))
    for item in case.overrides:
      key, value = item.split("=", 1)
      node = config
      for part in key.split("."):
        node = node[part]
      got = tuple(node) if isinstance(node, (list, tuple)) else node
      assert got == ast.literal_eval(value), (case.name, key, got)
    if "model_type" in case.reference:  # mmnist/simvp:<translator>
      assert config.model.name == "simvp_" + translator_name(case.reference["model_type"])
    if case.reference.get("model") == "predformer":
      assert config.model.layout == case.reference["variant"].lower()
      assert {k: config.model[k] for k in case.reference["model_config"]} == \
          case.reference["model_config"], case.name


def test_the_command_refuses_a_missing_openstl_checkout(tmp_path):
  import subprocess
  out = subprocess.run([sys.executable, "-m", "experiments.compare_openstl",
                        f"--openstl={tmp_path}", "--cases=tau_b1"],
                       capture_output=True, text=True, cwd=driver.REPO, check=False)
  assert out.returncode == 2
  assert out.stderr.strip().splitlines()[-1].startswith("error: --openstl=")


def test_the_worker_protocol_runs_untimed_steps_before_the_timed_ones(monkeypatch, capsys):
  import io
  from stjax.compare import protocol
  calls = {"train": 0, "infer": 0}
  monkeypatch.setattr(sys, "stdin", io.StringIO("train 2 3\ninfer 1\nfly 2\nquit\n"))
  protocol.serve(lambda: calls.__setitem__("train", calls["train"] + 1),
                 lambda: calls.__setitem__("infer", calls["infer"] + 1), 1, side="x")
  replies = [json.loads(l[3:]) for l in capsys.readouterr().out.splitlines()]
  assert [r["event"] for r in replies] == ["ready", "train", "infer", "error", "bye"]
  assert len(replies[1]["step_s"]) == 2 and len(replies[2]["step_s"]) == 1
  assert calls == {"train": 1 + 3 + 2, "infer": 1 + 1}  # warm-up, untimed, timed
