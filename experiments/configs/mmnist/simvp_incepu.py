"""SimVP v1 (IncepU translator) on Moving MNIST, the OpenSTL benchmark
setting: hid_S 64, hid_T 512, N_S 4, N_T 8, Adam + one-cycle, lr 1e-3,
batch 16, 200 epochs, 10 -> 10 frames. `:smoke` shrinks it for a CPU check."""
from experiments.configs import base


def get_config(arg: str | None = None):
  c = base.model(base.get_base_config(), "simvp_incepu")
  c.cites = "OpenSTL c74deb5 configs/mmnist/simvp/SimVP_IncepU.py"
  return base.variant(c, arg)
