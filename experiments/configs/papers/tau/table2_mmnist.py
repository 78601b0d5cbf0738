"""TAU paper, Table 2 (Moving MNIST), TAU: MSE 19.8, under the paper's protocol
(experiments/configs/papers/tau/__init__.py). `:smoke` shrinks it."""
from experiments.configs import base
from experiments.configs.papers.tau import kth, mmnist, protocol


def get_config(arg: str | None = None):
  c = mmnist()
  return base.variant(c, arg)
