"""The benchmark command's measurements: what it counts, on a tiny config."""
import pytest

from stjax.train import benchmark
from stjax.cli.compare_worker import load_config


def test_peak_flops_reads_the_device_kind_longest_name_first():
  assert benchmark.peak_flops("NVIDIA H200", "bfloat16") == 989e12
  assert benchmark.peak_flops("NVIDIA H100 80GB HBM3", "float32") == 67e12
  assert benchmark.peak_flops("TPU v5 lite", "bfloat16") == 197e12  # not v5p's
  assert benchmark.peak_flops("cpu", "float32") is None


def test_a_benchmark_row_counts_the_models_parameters_and_times_both_steps():
  config = load_config("mmnist/convlstm", [
      "model.num_hidden=(8,)", "data.image_size=16", "data.pre_seq_length=4",
      "data.aft_seq_length=4"])
  (row,) = benchmark.benchmark(config, [2], steps=2, count_flops=True)
  # conv_x 16 -> 32 and conv_h 8 -> 32 (5x5, no bias), the 1x1 readout 8 -> 16
  assert row["params_m"] == pytest.approx((16 * 32 + 8 * 32) * 25 / 1e6 + 128 / 1e6, abs=1e-3)
  assert row["train_compile_s"] > 0 and row["train_seq_per_s"] > 0
  assert row["infer_seq_per_s"] > row["train_seq_per_s"]
  # FLOPs of one sequence's inference: 7 steps of both gate convolutions on
  # 4x4 patches (2 FLOPs per multiply-add, in-frame taps only) and more
  convs = 7 * 2 * (16 + 8) * 32 * sum(
      min(i + 3, 4) - max(i - 2, 0) for i in range(4)) ** 2
  assert convs <= row["gflops_per_seq"] * 1e9 < 1.5 * convs + 1e5
  assert row["train_mfu"] is None  # no peak for a CPU
