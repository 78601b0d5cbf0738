"""The PyTorch side of a comparison, run as a script by any Python with torch:

  python stjax/compare/torch_worker.py --builder=openstl_reference.py:build \
      --kwargs='{"ref": "OPENSTL_DIR", "model": "simvp", ...}' --batch=8

`--builder FILE.py:FUNCTION` (a path, or a module on PYTHONPATH) is called as
FUNCTION(batch=..., **kwargs) and returns an object with `module` (the
torch.nn.Module, for its parameter count and train/eval mode), `train_step()`
(one optimizer step as the reference trains) and `infer_step()` (one
prediction). Steps run eagerly on the CPU, so each has finished when it
returns; on a GPU the worker synchronises after each. A builder without
torch (the test's numpy stand-in) gives `num_params()` and `framework`
instead of `module`.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402  pylint: disable=wrong-import-position


def load_builder(spec: str):
  where, _, name = spec.rpartition(":")
  if where.endswith(".py"):
    path = where
    if not os.path.isabs(path) and not os.path.exists(path):  # beside this file
      path = os.path.join(os.path.dirname(os.path.abspath(__file__)), path)
    spec_ = importlib.util.spec_from_file_location(
        os.path.splitext(os.path.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(module)
  else:
    module = importlib.import_module(where)
  return getattr(module, name)


def main(argv=None) -> None:
  p = argparse.ArgumentParser()
  p.add_argument("--builder", required=True, help="FILE.py:FUNCTION or module:FUNCTION")
  p.add_argument("--kwargs", default="{}", help="JSON keyword arguments of the builder")
  p.add_argument("--batch", type=int, required=True)
  p.add_argument("--warmup", type=int, default=2)
  p.add_argument("--compile", action="store_true", help="torch.compile the model")
  a = p.parse_args(argv)

  build = load_builder(a.builder)
  try:
    import torch  # pylint: disable=import-outside-toplevel
    torch.manual_seed(0)
  except ImportError:  # a builder that needs no torch
    torch = None
  ref = build(batch=a.batch, compile=a.compile, **json.loads(a.kwargs))
  if not hasattr(ref, "module"):  # a stand-in without torch
    protocol.serve(ref.train_step, ref.infer_step, a.warmup, side="reference",
                   params=ref.num_params(), version=ref.framework, threads=1,
                   compiled=False, cpu_count=os.cpu_count())
    return
  module = ref.module
  sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)

  def train_step():
    module.train()
    ref.train_step()
    sync()

  def infer_step():
    module.eval()
    with torch.no_grad():
      ref.infer_step()
    sync()

  protocol.serve(train_step, infer_step, a.warmup, side="reference",
                 params=int(sum(t.numel() for t in module.parameters())),
                 version=f"torch {torch.__version__}",
                 threads=torch.get_num_threads(), compiled=a.compile,
                 cpu_count=os.cpu_count())


if __name__ == "__main__":
  main()
