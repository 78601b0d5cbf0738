"""TAU paper, Table 6 (Moving MNIST), Conv Baseline (TAU blocks replaced by 3x3 convolution blocks, model simvp_conv): MSE 58.9, under the paper's protocol
(experiments/configs/papers/tau/__init__.py). `:smoke` shrinks it."""
from experiments.configs import base
from experiments.configs.papers.tau import kth, mmnist, protocol


def get_config(arg: str | None = None):
  c = mmnist("simvp_conv")
  return base.variant(c, arg)
