"""TAU paper, Table 6 (Moving MNIST), TAU without the differential divergence regulariser: MSE 21.1, under the paper's protocol
(experiments/configs/papers/tau/__init__.py). `:smoke` shrinks it."""
from experiments.configs import base
from experiments.configs.papers.tau import kth, mmnist, protocol


def get_config(arg: str | None = None):
  c = mmnist(ddr=False)
  return base.variant(c, arg)
