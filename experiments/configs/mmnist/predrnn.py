"""PredRNN on Moving MNIST, the OpenSTL benchmark setting: 4 ST-LSTM layers of
128, filter 5, patch 4, Adam + one-cycle, lr 5e-4, batch 16, 200 epochs,
10 -> 10 frames, scheduled sampling from 1.0 by 2e-5 per iteration until
50000. `:smoke` shrinks it for a CPU check."""
from experiments.configs import base


def get_config(arg: str | None = None):
  c = base.model(base.get_base_config(), "predrnn")
  c.cites = "OpenSTL c74deb5 configs/mmnist/PredRNN.py"
  return base.variant(c, arg)
