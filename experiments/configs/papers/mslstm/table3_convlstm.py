"""MS-LSTM paper, Table 3 (Moving MNIST), row ConvLSTM (flat, six layers), under the paper's
protocol (experiments/configs/papers/mslstm/__init__.py). `:smoke` shrinks it."""
from experiments.configs.papers import mslstm


def get_config(arg: str | None = None):
  return mslstm.mmnist_variant("convlstm", False, arg)
