"""TAU paper, Table 5 (KTH 10 -> 20), TAU trained for 20 frames, under the paper's protocol
(experiments/configs/papers/tau/__init__.py). `:smoke` shrinks it."""
from experiments.configs import base
from experiments.configs.papers.tau import kth, mmnist, protocol


def get_config(arg: str | None = None):
  c = kth(20)
  return base.variant(c, arg)
