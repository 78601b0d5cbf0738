"""stjax's side of `experiments.compare_openstl`: a config's train step and
prediction, built and compiled by the benchmark's `prepare`
(stjax.train.benchmark), served to the driver (stjax.compare.protocol).

  python -m stjax.cli.compare_worker --config=mmnist/convlstm --batch=8 \\
      [--set=model.num_hidden=(32,32) ...] [--warmup=2]
"""
from __future__ import annotations

import argparse
import ast
import importlib
import os
import sys


def load_config(name: str, overrides: list[str]):
  """experiments/configs/<name>.py's get_config() (`name:arg`: get_config(arg)), with key=value overrides
  (Python literals)."""
  if os.getcwd() not in sys.path:
    sys.path.insert(0, os.getcwd())
  name, _, arg = name.partition(":")  # e.g. mmnist/simvp:swin
  config = importlib.import_module(
      "experiments.configs." + name.replace("/", ".")).get_config(arg or None)
  for item in overrides:
    key, value = item.split("=", 1)
    *path, last = key.split(".")
    node = config
    for part in path:
      node = node[part]
    if last not in node:
      raise KeyError(f"config {name} has no field {key!r}")
    node[last] = ast.literal_eval(value)
  return config


def main(argv=None) -> None:
  p = argparse.ArgumentParser()
  p.add_argument("--config", required=True, help="under experiments/configs, e.g. mmnist/tau")
  p.add_argument("--batch", type=int, required=True)
  p.add_argument("--set", action="append", default=[], help="key=value override")
  p.add_argument("--warmup", type=int, default=2)
  p.add_argument("--compilation_cache", action="store_true")
  a = p.parse_args(argv)

  import jax  # pylint: disable=import-outside-toplevel
  from stjax import cli  # pylint: disable=import-outside-toplevel
  from stjax.train.benchmark import prepare  # pylint: disable=import-outside-toplevel
  from stjax.compare import protocol  # pylint: disable=import-outside-toplevel

  if a.compilation_cache:
    cli.enable_compilation_cache()
  config = load_config(a.config, a.set)
  prep = prepare(config, a.batch)
  current = {"state": prep.state}

  def train_step():
    state, metrics = prep.train(current["state"], prep.data)
    jax.block_until_ready((state, metrics))
    current["state"] = state

  def infer_step():
    s = current["state"]
    jax.block_until_ready(prep.infer(s.params, s.model_state, prep.data["inputs"]))

  protocol.serve(train_step, infer_step, a.warmup, side="stjax",
                 params=int(prep.params), train_compile_s=prep.train_compile_s,
                 infer_compile_s=prep.infer_compile_s,
                 version=f"jax {jax.__version__}",
                 device=jax.devices()[0].device_kind, cpu_count=os.cpu_count())


if __name__ == "__main__":
  main()
