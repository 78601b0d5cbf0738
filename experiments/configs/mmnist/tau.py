"""TAU on Moving MNIST, the paper's setting: SimVP with the temporal attention
unit (hid_S 64, hid_T 512, N_S 4, N_T 8), Adam + one-cycle, lr 1e-3, batch 16,
200 epochs, 10 -> 10 frames, plus the differential divergence regulariser
(alpha 0.1, temperature 0.1). `:smoke` shrinks it for a CPU check."""
from experiments.configs import base


def get_config(arg: str | None = None):
  c = base.model(base.get_base_config(), "tau")
  c.cites = "OpenSTL c74deb5 configs/mmnist/TAU.py"
  return base.variant(c, arg)
