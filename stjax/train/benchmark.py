"""What `experiments.benchmark` and `experiments.compare_openstl` measure: a
config's model compiled for one batch (`prepare`), and a benchmark row per
batch size (`benchmark`). The command line is stjax.cli.benchmark; this
module defines no flags, so tests and other commands can import it.
"""
from __future__ import annotations

import time
from typing import NamedTuple


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


class Prepared(NamedTuple):
  """A config's model, compiled for one batch: what every timing starts from."""
  model: object
  graphdef: object
  state: object
  data: dict
  train: object  # compiled (state, data) -> (state, metrics)
  infer: object  # compiled (params, model_state, inputs) -> predictions
  train_compile_s: float
  infer_compile_s: float
  params: int
  frozen_params: int


def prepare(config, batch: int) -> Prepared:
  """Builds the model, optimizer and random data of a config and compiles its
  train step (the config's loss and scheduled sampling) and its prediction,
  ahead of time and timed apart. The benchmark and `experiments.compare_openstl`
  both time what this returns."""
  import jax  # pylint: disable=import-outside-toplevel
  from flax import nnx  # pylint: disable=import-outside-toplevel
  from stjax.data import frame_shape  # pylint: disable=import-outside-toplevel
  from stjax.train import mesh as mesh_lib  # pylint: disable=import-outside-toplevel
  from stjax.train.build import build_run  # pylint: disable=import-outside-toplevel
  from stjax.train.pretrained import load_model  # pylint: disable=import-outside-toplevel

  d = config.data
  in_shape = (d.pre_seq_length, *frame_shape(d))
  mesh = mesh_lib.make_mesh()
  # 1000 steps: the schedules' shape only
  run = build_run(config, total_steps=1000, pretrained=load_model)
  model, graphdef, train_step = run.model, run.graphdef, run.train_step
  params = run.num_params
  # TMU's frozen sources: needed to train, not to predict.
  frozen = sum(x.size for x in jax.tree.leaves(
      nnx.state(model, nnx.All(nnx.Param, nnx.PathContains("sources")))))
  state = mesh_lib.put_replicated(run.state, mesh)
  key = jax.random.key(0)
  data = {"inputs": jax.random.uniform(key, (batch, *in_shape)),
          "targets": jax.random.uniform(key, (batch, d.aft_seq_length,
                                              *in_shape[1:]))}
  data = mesh_lib.put_batch(jax.device_get(data), mesh)
  t0 = time.perf_counter()
  train = train_step.lower(state, data).compile()
  train_compile_s = time.perf_counter() - t0
  predict = run.predict()
  t0 = time.perf_counter()
  infer = predict.lower(state.params, state.model_state, data["inputs"]).compile()
  infer_compile_s = time.perf_counter() - t0
  return Prepared(model, graphdef, state, data, train, infer, train_compile_s,
                  infer_compile_s, params, frozen)


def _train_flops(compiled) -> float | None:
  """XLA's FLOP count of the compiled train step (forward, gradient and
  update), for the MFU column."""
  try:
    cost = compiled.cost_analysis()
  except Exception:  # pylint: disable=broad-except  (not every backend counts)
    return None
  if isinstance(cost, (list, tuple)):
    cost = cost[0] if cost else None
  return float(cost["flops"]) if cost and cost.get("flops", 0) > 0 else None


# Dense peak FLOP/s per chip by device kind and compute dtype (vendors' data
# sheets, no sparsity): the denominator of MFU. A device not listed gets no MFU.
PEAK_FLOPS = {
    "H200": {"bfloat16": 989e12, "float32": 67e12},
    "H100": {"bfloat16": 989e12, "float32": 67e12},
    "A100": {"bfloat16": 312e12, "float32": 19.5e12},
    "L4": {"bfloat16": 121e12, "float32": 30.3e12},
    "TPU v4": {"bfloat16": 275e12, "float32": 275e12},
    "TPU v5 lite": {"bfloat16": 197e12, "float32": 197e12},
    "TPU v5": {"bfloat16": 459e12, "float32": 459e12},
    "TPU v6 lite": {"bfloat16": 918e12, "float32": 918e12},
}


def peak_flops(device_kind: str, dtype: str) -> float | None:
  """The peak of the first PEAK_FLOPS key in the device kind (longest first,
  so "TPU v5 lite" is not read as "TPU v5")."""
  for name in sorted(PEAK_FLOPS, key=len, reverse=True):
    if name.lower() in device_kind.lower():
      return PEAK_FLOPS[name].get(dtype)
  return None


def benchmark(config, batch_sizes, steps, count_flops=True):
  import jax  # pylint: disable=import-outside-toplevel
  import jax.numpy as jnp  # pylint: disable=import-outside-toplevel
  from flax import nnx  # pylint: disable=import-outside-toplevel
  from stjax import layers  # pylint: disable=import-outside-toplevel
  from stjax.models.recurrent import set_scan_unroll  # pylint: disable=import-outside-toplevel
  from stjax.train.step import TRAINABLE, make_predict  # pylint: disable=import-outside-toplevel

  rows = []
  for batch in batch_sizes:
    p = prepare(config, batch)
    state, data, compiled, infer = p.state, p.data, p.train, p.infer
    memory, memory_kind = _peak_memory(compiled)
    state, m = compiled(state, data)  # warm-up
    jax.block_until_ready(m)
    t0 = time.perf_counter()
    for _ in range(steps):
      state, m = compiled(state, data)
    jax.block_until_ready((state, m))
    train_rate = steps * batch / (time.perf_counter() - t0)

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
      counted = set_scan_unroll(layers.set_cpu_lowering(p.model, False), True)
      counted_graphdef, _, _ = nnx.split(counted, TRAINABLE, ...)
      with jax.default_device(jax.devices("cpu")[0]):
        flops = _cost_flops(make_predict(counted_graphdef).lower(
            jax.device_get(state.params), jax.device_get(state.model_state),
            jnp.asarray(one)))
    # MFU: the train step's own FLOP count (on accelerators XLA counts the
    # compiled program, library convolutions included) at the measured rate,
    # over the chips' dense peak in the compute dtype.
    device = jax.devices()[0]
    mfu = None
    peak = peak_flops(device.device_kind, config.train.compute_dtype)
    step_flops = _train_flops(compiled) if device.platform != "cpu" else None
    if peak and step_flops:
      mfu = step_flops * (train_rate / batch) / (peak * jax.device_count())
    rows.append({
        "model": config.model.name, "batch": batch,
        "device": f"{jax.device_count()}x {device.device_kind}",
        "compute_dtype": config.train.compute_dtype,
        "train_compile_s": round(p.train_compile_s, 2),
        "infer_compile_s": round(p.infer_compile_s, 2),
        "train_seq_per_s": round(train_rate, 2),
        "infer_seq_per_s": round(infer_rate, 2),
        "peak_memory_mib": None if memory is None else round(memory, 1),
        "peak_memory_kind": memory_kind,
        "params_m": round(p.params / 1e6, 3),
        "frozen_params_m": round(p.frozen_params / 1e6, 3),
        "gflops_per_seq": None if flops is None else float(f"{flops / 1e9:.4g}"),
        "gmacs_per_seq": None if flops is None else float(f"{flops / 2e9:.4g}"),
        "train_mfu": None if mfu is None else round(mfu, 4),
    })
  return rows
