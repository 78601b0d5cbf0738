"""Speed, memory and size of a config's model, measured the same way everywhere.

  python -m experiments.benchmark --config=experiments/configs/mmnist/tau.py \\
      --batch_sizes=1,16 --steps=10 [--json=bench.json]

(`stjax-benchmark` once installed.)
For each batch size: compile time of the train step (separate from running
it), steady-state training and inference throughput (sequences/s, after one
warm-up call, timed to block_until_ready), peak device memory (the
allocator's peak where the backend reports it, else XLA's compile-time
estimate of the train step, marked "est."), parameters (trained, and
frozen: TMU's sources, needed to train but not to predict), and FLOPs per
sequence from XLA's cost analysis of inference at batch 1 (lowered for the
CPU backend, so every machine reports the same count), traced with plain
grouped convolutions (the CPU rewrites would count zero blocks) and, for
recurrent models, the rollout unrolled (XLA counts a loop body once). XLA counts a
multiply-add as 2 FLOPs; the field's tables (fvcore) count it as 1, so the
table also shows FLOPs / 2 as "MACs" for comparison. On a GPU or TPU of a
kind in PEAK_FLOPS, `train_mfu` is the model FLOP utilisation of training:
XLA's count of the compiled train step times steps per second, over the
chips' dense peak in the compute dtype (`--config.train.compute_dtype=bfloat16`
for the bf16 peak). On the CPU it stays empty.
"""
from __future__ import annotations

import json

from absl import flags
from ml_collections import config_flags

from stjax import cli
from stjax.train.benchmark import benchmark

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file.",
                                          lock_config=True)
_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["1", "16"], "Global batch sizes.")
_STEPS = flags.DEFINE_integer("steps", 10, "Timed steps per measurement.")
_JSON = flags.DEFINE_string("json", None, "Also write the results here.")
_FLOPS = flags.DEFINE_boolean(
    "count_flops", True, "Count FLOPs (on the CPU backend; slow for large "
    "recurrent rollouts). --nocount_flops leaves the column empty.")
_CACHE = flags.DEFINE_boolean(
    "compilation_cache", False, "Use the persistent compilation cache (as "
    "training does): run twice to see the warm compile time; off, every "
    "compile is cold.")
flags.mark_flags_as_required(["config"])


def format_table(rows) -> str:
  cols = list(rows[0])
  lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
  lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
  return "\n".join(lines)


def main(argv) -> int:
  del argv
  cli.prepare()
  if _CACHE.value:
    cli.enable_compilation_cache()
  rows = benchmark(cli.config_value(_CONFIG), [int(b) for b in _BATCH_SIZES.value],
                   _STEPS.value, _FLOPS.value)
  print(format_table(rows))
  if _JSON.value:
    with open(_JSON.value, "w", encoding="utf-8") as f:
      json.dump(rows, f, indent=1)
  return 0


def run() -> None:
  """The console script `stjax-benchmark`."""
  cli.run(main)
