"""Speed, memory and size of a config's model, measured the same way everywhere.

  python -m experiments.benchmark --config=experiments/configs/mmnist/tau.py \
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
table also shows FLOPs / 2 as "MACs" for comparison.
"""
from __future__ import annotations

import json
import time

from absl import app, flags
from ml_collections import config_flags

from stjax import cli

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


def _cost_flops(lowered) -> float | None:
  """XLA's count of the lowered program. Lowered for the CPU backend: on GPU
  the count missed the convolutions that became library calls (0.12 GMACs for
  a 34-GMAC ConvLSTM on an H100, and none at all before compiling)."""
  cost = lowered.cost_analysis()
  if isinstance(cost, (list, tuple)):
    cost = cost[0] if cost else None
  return float(cost["flops"]) if cost and "flops" in cost else None


def _peak_memory(compiled) -> tuple[float | None, str]:
  import jax  # pylint: disable=import-outside-toplevel
  stats = jax.devices()[0].memory_stats() or {}
  if "peak_bytes_in_use" in stats:
    return stats["peak_bytes_in_use"] / 2**20, "measured"
  mem = compiled.memory_analysis()
  if mem is None:
    return None, "n/a"
  total = (mem.argument_size_in_bytes + mem.output_size_in_bytes +
           mem.temp_size_in_bytes - mem.alias_size_in_bytes)
  return total / 2**20, "est."


def benchmark(config, batch_sizes, steps, count_flops=True):
  import jax  # pylint: disable=import-outside-toplevel
  import jax.numpy as jnp  # pylint: disable=import-outside-toplevel
  from flax import nnx  # pylint: disable=import-outside-toplevel
  from stjax import layers  # pylint: disable=import-outside-toplevel
  from stjax.data import frame_shape  # pylint: disable=import-outside-toplevel
  from stjax.models import is_recurrent  # pylint: disable=import-outside-toplevel
  from stjax.models.recurrent import set_scan_unroll  # pylint: disable=import-outside-toplevel
  from stjax.train import mesh as mesh_lib  # pylint: disable=import-outside-toplevel
  from stjax.train.optim import build_optimizer  # pylint: disable=import-outside-toplevel
  from stjax.train.pretrained import build_run_model  # pylint: disable=import-outside-toplevel
  from stjax.train.sampling import ScheduledSampling  # pylint: disable=import-outside-toplevel
  from stjax.train.step import TRAINABLE, TrainState, make_predict, make_train_step  # pylint: disable=import-outside-toplevel

  d = config.data
  in_shape = (d.pre_seq_length, *frame_shape(d))
  mesh = mesh_lib.make_mesh()
  rows = []
  for batch in batch_sizes:
    model = build_run_model(config)
    tx, _ = build_optimizer(config.optim, 1000)
    graphdef, state = TrainState.create(model, tx, config.seed)
    params = sum(x.size for x in jax.tree.leaves(state.params))
    # TMU's frozen sources: needed to train, not to predict.
    frozen = sum(x.size for x in jax.tree.leaves(
        nnx.state(model, nnx.All(nnx.Param, nnx.PathContains("sources")))))
    state = mesh_lib.put_replicated(state, mesh)
    key = jax.random.key(0)
    data = {"inputs": jax.random.uniform(key, (batch, *in_shape)),
            "targets": jax.random.uniform(key, (batch, d.aft_seq_length,
                                                *in_shape[1:]))}
    data = mesh_lib.put_batch(jax.device_get(data), mesh)
    sampling = (ScheduledSampling.from_config(
        config.sampling, d.pre_seq_length, d.aft_seq_length,
        total_steps=max(1, config.train.epochs) * 1000)  # the schedule's shape only
        if is_recurrent(model) else None)
    train_step = make_train_step(graphdef, tx, config.loss,
                                 config.train.compute_dtype, sampling)
    t0 = time.perf_counter()
    compiled = train_step.lower(state, data).compile()
    compile_s = time.perf_counter() - t0
    memory, memory_kind = _peak_memory(compiled)
    state, m = compiled(state, data)  # warm-up
    jax.block_until_ready(m)
    t0 = time.perf_counter()
    for _ in range(steps):
      state, m = compiled(state, data)
    jax.block_until_ready((state, m))
    train_rate = steps * batch / (time.perf_counter() - t0)

    predict = make_predict(graphdef, config.train.compute_dtype)
    t0 = time.perf_counter()
    infer = predict.lower(state.params, state.model_state, data["inputs"]).compile()
    infer_compile_s = time.perf_counter() - t0
    jax.block_until_ready(infer(state.params, state.model_state, data["inputs"]))
    t0 = time.perf_counter()
    for _ in range(steps):
      out = infer(state.params, state.model_state, data["inputs"])
    jax.block_until_ready(out)
    infer_rate = steps * batch / (time.perf_counter() - t0)
    if memory_kind == "measured":
      memory, memory_kind = _peak_memory(compiled)
    one = jax.tree.map(lambda x: x[:1], jax.device_get(data["inputs"]))
    # Counted on the CPU backend, the same on every machine: a GPU's count
    # misses the convolutions that became library calls.
    flops = None
    if count_flops:  # the same model, plain convolutions, rollout unrolled
      counted = set_scan_unroll(layers.set_cpu_lowering(model, False), True)
      counted_graphdef, _, _ = nnx.split(counted, TRAINABLE, ...)
      with jax.default_device(jax.devices("cpu")[0]):
        flops = _cost_flops(make_predict(counted_graphdef).lower(
            jax.device_get(state.params), jax.device_get(state.model_state),
            jnp.asarray(one)))
    rows.append({
        "model": config.model.name, "batch": batch,
        "device": f"{jax.device_count()}x {jax.devices()[0].device_kind}",
        "compute_dtype": config.train.compute_dtype,
        "train_compile_s": round(compile_s, 2),
        "infer_compile_s": round(infer_compile_s, 2),
        "train_seq_per_s": round(train_rate, 2),
        "infer_seq_per_s": round(infer_rate, 2),
        "peak_memory_mib": None if memory is None else round(memory, 1),
        "peak_memory_kind": memory_kind,
        "params_m": round(params / 1e6, 3),
        "frozen_params_m": round(frozen / 1e6, 3),
        "gflops_per_seq": None if flops is None else round(flops / 1e9, 2),
        "gmacs_per_seq": None if flops is None else round(flops / 2e9, 2),
    })
  return rows


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
