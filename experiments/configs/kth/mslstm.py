"""MS-LSTM on KTH as its paper: jogging, running and walking only, 10 -> 10
(test 10 -> 10), 128 x 128, the MS-LSTM setting of stjax.models.mslstm.defaults (6 x 32,
kernels 3 and 5, mirrored pyramid, batch 4, Adam 3e-4). The paper's own protocol
(clip lists, its strides, loss and evaluation) is
experiments/configs/papers/mslstm/table9_kth_mslstm.py. `:smoke` shrinks it."""
from experiments.configs import base, benchmarks


def get_config(arg: str | None = None):
  c = benchmarks.kth_data(base.get_base_config(),
                          actions=("jogging", "running", "walking"),
                          aft=10, test_aft=0)
  c = base.model(c, "mslstm", cell="mklstm", pyramid=True)
  return base.variant(c, arg)
