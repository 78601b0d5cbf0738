"""TAU paper, Table 5 (KTH 10 -> 40), TAU trained for 40 frames, as the paper (not extended from 20), under the paper's protocol
(experiments/configs/papers/tau/__init__.py). `:smoke` shrinks it."""
from experiments.configs import base
from experiments.configs.papers.tau import kth, mmnist, protocol


def get_config(arg: str | None = None):
  c = kth(40)
  return base.variant(c, arg)
