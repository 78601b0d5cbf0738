"""MS-LSTM paper, Tables 7 and 8 (TaxiBJ), MS-LSTM under the paper's
protocol: the in-flow only (data.channels (0,)), 32 x 32, 4 -> 4, the test
split validating (as the authors' code), 15 epochs. `:smoke` shrinks it."""
from experiments.configs import base
from experiments.configs.papers import mslstm


def get_config(arg: str | None = None):
  c = base.taxibj_data(base.get_base_config())
  c.data.channels = (0,)
  c.data.val_fraction = 0.0
  c.optim.warmup_steps = 0
  c = base.model(c, "mslstm", cell="mklstm", pyramid=True)
  return base.variant(mslstm.protocol(c), arg)
