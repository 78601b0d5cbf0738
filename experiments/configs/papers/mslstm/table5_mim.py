"""MS-LSTM paper, Table 5 (Moving MNIST), baseline mim retrained at 6 x 32
under the paper's protocol (mslstm.baseline says how its cells differ from
the authors' framework). `:smoke` shrinks it."""
from experiments.configs.papers import mslstm


def get_config(arg: str | None = None):
  return mslstm.baseline("mim", arg)
