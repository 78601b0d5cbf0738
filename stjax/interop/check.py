"""`python -m stjax.interop check PATH.npz [PATH.npz ...]`: every parity
fixture through one command.

Each fixture is NAME.npz with NAME.json beside it; the json says what made it,
and the check is chosen from that:
- a training fixture (a `train` section; shared/fixtures/openstl_train):
  OpenSTL's optimisation steps replayed in float64 (openstl_train);
- `model` one of the MS-RNN kinds (shared/fixtures/mslstm): the MS-LSTM
  authors' cell and networks, forward and gradients, in float32 (mslstm);
- `model` "PredFormer" (shared/fixtures/predformer): one of PredFormer's
  nine models, forward, in float32 (predformer);
- `model` "tmu_code" (shared/fixtures/tmu): the TMU authors' training and
  inference calls, internals and gradients, in float64 (tmu: its carried
  memory roughly triples every step, so float32 gradients lose digits that
  say nothing about the port; stjax.interop.tmu has the float32 figures);
- `model` "mau" (shared/fixtures/openstl/mau): OpenSTL's MAU forward
  pass, in float32 (mau);
- `model` "e3dlstm" (shared/fixtures/openstl/e3dlstm): OpenSTL's E3D-LSTM
  forward pass, in float32 (e3dlstm);
- `model` "phydnet" (tests/fixtures/openstl/phydnet_*): OpenSTL's PhyDNet,
  inference and training objectives, in float64 (phydnet);
- any other `model` (shared/fixtures/openstl): an OpenSTL forward pass in
  float32 (openstl).
It prints one line per compared array, `NAME quantity rel_err=... ok|FAIL`,
and exits 1 if any relative error max|ours - ref| / max|ref| is above 1e-4
(2 on a usage error).
"""
from __future__ import annotations

import pathlib
import sys

import jax
import jax.numpy as jnp

from stjax.interop import mslstm, openstl, openstl_train, predformer, tmu
from stjax.interop import e3dlstm, mau, phydnet
from stjax.interop.fixtures import TOLERANCE, read_fixture

_USAGE = "usage: python -m stjax.interop check PATH.npz [PATH.npz ...]"


def kind_of(cfg: dict, arrays: dict) -> str:
  """'openstl_train', 'mslstm', 'predformer', 'tmu' or 'openstl': the check
  a fixture needs."""
  if "train" in cfg and "train/loss" in arrays:
    return "openstl_train"
  if cfg.get("model") in mslstm.KINDS:
    return "mslstm"
  if cfg.get("model") in predformer.KINDS:
    return "predformer"
  if cfg.get("model") in tmu.KINDS:
    return "tmu"
  if cfg.get("model") in mau.KINDS:  # OpenSTL's MAU (channel-first outputs)
    return "mau"
  if cfg.get("model") in e3dlstm.KINDS:  # OpenSTL's E3D-LSTM (3-D conv weights)
    return "e3dlstm"
  if cfg.get("model") in phydnet.KINDS:
    return "phydnet"
  return "openstl"


def check(path) -> tuple[str, list[tuple[str, float, str]]]:
  """(kind, [(quantity, relative error, note)]) of one fixture."""
  cfg, arrays = read_fixture(path)
  kind = kind_of(cfg, arrays)
  if kind == "openstl_train":
    return kind, openstl_train.check_train_fixture(path)
  # Full float32 matmuls: TF32 on GPUs would blur a 1e-4 comparison.
  with jax.default_matmul_precision("highest"):
    if kind == "mslstm":
      return kind, mslstm.check_fixture(cfg, arrays)
    if kind == "predformer":
      return kind, predformer.check_fixture(cfg, arrays)
    if kind == "mau":
      return kind, mau.check_fixture(cfg, arrays)
    if kind == "e3dlstm":
      return kind, e3dlstm.check_fixture(cfg, arrays)
    if kind == "phydnet":
      return kind, phydnet.check_fixture(cfg, arrays)
    if kind == "tmu":
      with jax.enable_x64(True):
        return kind, tmu.check_fixture(cfg, arrays, jnp.float64)
    return kind, [(k, v, "") for k, v in openstl.check_fixture(path).items()]


_PRECISION = {"openstl_train": "float64", "mslstm": "float32",
              "predformer": "float32",
              "tmu": "float64", "openstl": "float32"}
_PRECISION["mau"] = _PRECISION["e3dlstm"] = "float32"
_PRECISION["phydnet"] = "float64"


def main(argv: list[str]) -> int:
  if len(argv) < 2 or argv[0] != "check":
    print(_USAGE, file=sys.stderr)
    return 2
  worst = 0.0
  for path in argv[1:]:
    stem = pathlib.Path(path).stem
    try:
      kind, rows = check(path)
    except (ValueError, FileNotFoundError, KeyError) as e:
      print(f"error: {path}: {e}", file=sys.stderr)
      return 1
    print(f"# {stem}: {kind} fixture, compared in {_PRECISION[kind]}, "
          f"tolerance {TOLERANCE:g} relative")
    for label, err, note in rows:
      verdict = "ok" if err <= TOLERANCE else "FAIL"
      print(f"{stem} {label} rel_err={err:.3e} {verdict}"
            + (f" ({note})" if note else ""))
      worst = max(worst, err)
  return 0 if worst <= TOLERANCE else 1
