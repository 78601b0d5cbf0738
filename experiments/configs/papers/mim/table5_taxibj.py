"""MIM paper, Table 5 (TaxiBJ, per-frame MSE of 4 -> 4 frames on [0, 1]
data), under the paper's protocol: the in- and out-flows, 32 x 32, patch 2
(16 x 16 states). `:adam_tf`, `:smoke`."""
from experiments.configs import base
from experiments.configs.papers import mim


def get_config(arg: str | None = None):
  c = mim.protocol(base.taxibj_data(base.get_base_config()), arg)
  c.optim.warmup_steps = 0
  if "smoke" not in (arg or ""):
    c.model.patch_size = 2
  return c
