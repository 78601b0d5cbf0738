"""TAU paper, Table 3 (TaxiBJ), TAU: MSE x100 34.4, under the paper's protocol
(experiments/configs/papers/tau/__init__.py). `:smoke` shrinks it."""
from experiments.configs import base
from experiments.configs.papers.tau import protocol


def get_config(arg: str | None = None):
  c = base.model(base.taxibj_data(base.get_base_config()), "tau")
  c.model.hid_S, c.model.hid_T, c.model.N_S, c.model.N_T = 32, 256, 2, 8
  c.model.drop_path = 0.1
  c = protocol(c)
  return base.variant(c, arg)
