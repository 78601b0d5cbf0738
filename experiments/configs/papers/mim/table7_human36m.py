"""MIM paper, Table 7 (Human3.6M): 4 -> 4 frames, the central square of
every 10th frame (5 fps) at 128 x 128, S1, S5, S6, S7, S8 train, S9, S11
test (benchmarks.human36m_mim_protocol), RGB, patch 8 (16 x 16 states),
under the paper's protocol. `:adam_tf`, `:smoke`."""
from experiments.configs import base, benchmarks
from experiments.configs.papers import mim


def get_config(arg: str | None = None):
  c = benchmarks.human36m_mim_protocol(base.get_base_config())
  c = mim.protocol(c, arg)
  if "smoke" not in (arg or ""):
    c.model.patch_size = 8
  return c
