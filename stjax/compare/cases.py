"""The comparison cases: one stjax config and the same model in OpenSTL.

Each case pairs an experiments/configs file (with overrides) with the
keyword arguments of openstl_reference.build, at one batch size. Moving
MNIST 10 -> 10, 64x64x1, float32. The "paper" cases are OpenSTL's Moving
MNIST configs; the "small" ones shrink the widths so a 2-core CPU measures
them in minutes.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Case:
  name: str
  config: str                      # under experiments/configs, e.g. "mmnist/tau"
  overrides: tuple[str, ...]       # key=value, Python literals
  reference: dict                  # keyword arguments of the reference builder
  batch: int
  # Parameters the reference creates and never uses (no gradient, no effect):
  # the only difference in counts a comparison accepts.
  unused_reference_params: int = 0


_SMALL_SIMVP = ("model.hid_S=16", "model.hid_T=64", "model.N_S=2", "model.N_T=2")
_SMALL_SIMVP_REF = dict(hid_S=16, hid_T=64, N_S=2, N_T=2)

# Quadruplet-TSST at dim 128, 4 heads of 32, Ndepth 2 (8 gated blocks).
_SMALL_PREDFORMER_REF = dict(patch_size=8, dim=128, heads=4, dim_head=32, dropout=0.0,
                             attn_dropout=0.0, drop_path=0.0, scale_dim=4, depth=1,
                             Ndepth=2)
_SMALL_PREDFORMER = tuple(f"model.{k}={v!r}" for k, v in _SMALL_PREDFORMER_REF.items())


def _convlstm_unused(hidden: tuple[int, ...], filter_size: int = 5) -> int:
  """OpenSTL's ConvLSTMCell builds conv_o (2n -> n, k x k) and conv_last
  (2n -> n, 1 x 1) and never calls them."""
  return sum(2 * n * n * filter_size ** 2 + 2 * n * n for n in hidden)


def _cases() -> dict[str, Case]:
  big4 = (128, 128, 128, 128)
  out = [
      Case("simvp_gsta_b1", "mmnist/simvp_gsta", (), dict(model="simvp"), 1),
      Case("simvp_gsta_b4", "mmnist/simvp_gsta", (), dict(model="simvp"), 4),
      Case("tau_b1", "mmnist/tau", (), dict(model="tau"), 1),
      Case("convlstm_b1", "mmnist/convlstm", (), dict(model="convlstm", num_hidden=big4), 1,
           _convlstm_unused(big4)),
      Case("convlstm_b4", "mmnist/convlstm", (), dict(model="convlstm", num_hidden=big4), 4,
           _convlstm_unused(big4)),
      Case("predrnn_b1", "mmnist/predrnn", (), dict(model="predrnn", num_hidden=big4), 1),
      Case("simvp_gsta_small_b8", "mmnist/simvp_gsta", _SMALL_SIMVP,
           dict(model="simvp", **_SMALL_SIMVP_REF), 8),
      Case("tau_small_b8", "mmnist/tau", _SMALL_SIMVP, dict(model="tau", **_SMALL_SIMVP_REF), 8),
      Case("convlstm_small_b8", "mmnist/convlstm", ("model.num_hidden=(32,32)",),
           dict(model="convlstm", num_hidden=(32, 32)), 8, _convlstm_unused((32, 32))),
      Case("predrnn_small_b8", "mmnist/predrnn", ("model.num_hidden=(32,32)",),
           dict(model="predrnn", num_hidden=(32, 32)), 8),
      # MAU (OpenSTL's), 2 layers of 32: merge (2n -> n, 1x1) and conv_last_sr
      # (2 -> 1, 1x1) are built, never used (stjax keeps them untrained).
      Case("mau_small_b8", "mmnist/mau", ("model.num_hidden=(32,32)",),
           dict(model="mau", num_hidden=(32, 32)), 8, 2 * 32 * 32 + 32 + 2 + 1),
      # E3D-LSTM (OpenSTL's), 2 layers of 16 on 16 x 16 states.
      Case("e3dlstm_small_b8", "mmnist/e3dlstm", ("model.num_hidden=(16,16)",),
           dict(model="e3dlstm", num_hidden=(16, 16)), 8),
      # PhyDNet (OpenSTL's): its fixed widths (3.1M parameters), encoder stride 4.
      Case("phydnet_b8", "mmnist/phydnet", (), dict(model="phydnet", patch_size=4), 8),
      # OpenSTL's timm-built translators; the reference needs timm 0.6
      # (docs/speed.md: "Speed against OpenSTL").
      Case("simvp_convnext_small_b8", "mmnist/simvp:convnext", _SMALL_SIMVP,
           dict(model="simvp", model_type="ConvNeXt", **_SMALL_SIMVP_REF), 8),
      Case("simvp_swin_small_b8", "mmnist/simvp:swin", _SMALL_SIMVP,
           dict(model="simvp", model_type="Swin", **_SMALL_SIMVP_REF), 8),
      # PredFormer's own code: --openstl is then a PredFormer checkout.
      Case("predformer_small_b8", "mmnist/predformer", _SMALL_PREDFORMER,
           dict(model="predformer", variant="Quadruplet_TSST",
                model_config=_SMALL_PREDFORMER_REF), 8),
  ]
  # The GPU set (batch 16): the paper configs, MIM included.
  for name, config, ref in (("simvp_gsta", "mmnist/simvp_gsta", dict(model="simvp")),
                            ("simvp_convnext", "mmnist/simvp:convnext",
                             dict(model="simvp", model_type="ConvNeXt")),
                            ("simvp_swin", "mmnist/simvp:swin",
                             dict(model="simvp", model_type="Swin")),
                            ("tau", "mmnist/tau", dict(model="tau")),
                            ("convlstm", "mmnist/convlstm", dict(model="convlstm", num_hidden=big4)),
                            ("predrnn", "mmnist/predrnn", dict(model="predrnn", num_hidden=big4)),
                            ("mim", "mmnist/mim", dict(model="mim", num_hidden=big4)),
                            ("mau", "mmnist/mau", dict(model="mau", num_hidden=(64,) * 4)),
                            ("e3dlstm", "mmnist/e3dlstm", dict(model="e3dlstm", num_hidden=big4)),
                            ("predformer", "mmnist/predformer",
                             dict(model="predformer", variant="Quadruplet_TSST",
                                  model_config=dict(_SMALL_PREDFORMER_REF, dim=256,
                                                    heads=8, Ndepth=6)))):
    out.append(Case(f"{name}_b16", config, (), ref, 16,
                    _convlstm_unused(big4) if name == "convlstm"
                    else 2 * 64 * 64 + 64 + 3 if name == "mau" else 0))
  return {c.name: c for c in out}


CASES = _cases()
CPU_CASES = tuple(n for n in CASES if not n.endswith("_b16"))
