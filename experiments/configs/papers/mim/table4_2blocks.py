"""MIM paper, Table 4 (Moving MNIST): 2 MIM blocks after the ST-LSTM
(the paper's 54.6 MSE for 2, 53.7 for 4; 3 is table1_mmnist.py), under the
paper's protocol. `:adam_tf`, `:smoke`."""
from experiments.configs import base
from experiments.configs.papers import mim


def get_config(arg: str | None = None):
  c = mim.protocol(mim.moving_mnist(base.get_base_config()), arg)
  if "smoke" not in (arg or ""):
    c.model.num_hidden = (64,) * (2 + 1)
  return c
