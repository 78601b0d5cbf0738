"""PredRNN-V2 on Moving MNIST, the OpenSTL benchmark setting: 4 ST-LSTM layers
of 128, filter 5, patch 4, Adam + one-cycle, lr 5e-4, batch 16, 200 epochs,
10 -> 10 frames, memory decoupling weight 0.1 and reverse scheduled sampling
(steps 25000 -> 50000, exponential alpha 5000). `:smoke` shrinks it for a CPU
check."""
from experiments.configs import base


def get_config(arg: str | None = None):
  c = base.model(base.get_base_config(), "predrnnv2")
  c.loss.terms.decouple = 0.1
  c.sampling.reverse_scheduled_sampling = True
  c.cites = "OpenSTL c74deb5 configs/mmnist/PredRNNv2.py"
  return base.variant(c, arg)
