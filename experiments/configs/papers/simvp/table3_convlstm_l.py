"""SimVP paper, Table 3 (Moving MNIST), ConvLSTM-L: four ConvLSTM layers of
192 (MSE 29.88), filter 5, patch 4, Adam + one-cycle lr 5e-4 (OpenSTL's
ConvLSTM recipe; configs/mmnist/ConvLSTM-L.py for -L), batch 16, 200 epochs.
`:smoke` shrinks it."""
from experiments.configs import base


def get_config(arg: str | None = None):
  c = base.model(base.get_base_config(), "convlstm")
  c.model.num_hidden = (192,) * 4
  c.cites = "SimVP paper Table 3; OpenSTL c74deb5 configs/mmnist/ConvLSTM-L.py"
  return base.variant(c, arg)
