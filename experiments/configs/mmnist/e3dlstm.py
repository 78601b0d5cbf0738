"""E3D-LSTM on Moving MNIST with the values of OpenSTL's E3DLSTM config for it
(experiments/configs/methods_zoo.py): 4 eidetic 3D LSTM layers of 128,
OpenSTL's patch size, lr, schedule and batch; MSE + L1. `:smoke` for a
CPU check."""
from experiments.configs import methods_zoo


def get_config(arg: str | None = None):
  return methods_zoo.get("mmnist", "e3dlstm", arg)
