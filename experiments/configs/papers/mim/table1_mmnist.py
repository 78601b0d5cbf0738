"""MIM paper, Moving MNIST: 52.0 MSE, 0.874 SSIM (Table 1), under the paper's protocol
(experiments/configs/papers/mim/__init__.py). `:adam_tf`, `:smoke`."""
from experiments.configs import base
from experiments.configs.papers import mim


def get_config(arg: str | None = None):
  c = mim.protocol(mim.moving_mnist(base.get_base_config()), arg)
  c.model.mim_ablation = ""
  return c
