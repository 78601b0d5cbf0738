"""SMS-LSTM (MS-LSTM's ablation): ConvLSTM cells in the pyramid, on Moving MNIST
with the authors' optimiser and OpenSTL's recipe otherwise
(stjax.models.mslstm.defaults); the paper's own protocol is
experiments/configs/papers/mslstm. `:smoke` shrinks it for a CPU check.

The four configs mslstm_convlstm, mslstm_sms, mslstm_tms and mslstm are the
rows of the paper's Table 3; they differ only in model.cell and model.pyramid.
"""
from experiments.configs import base


def get_config(arg: str | None = None):
  c = base.model(base.get_base_config(), "mslstm", cell="convlstm", pyramid=True)
  return base.variant(c, arg)
