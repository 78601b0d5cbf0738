"""MS-LSTM paper, Table 9 (KTH), MS-LSTM under the paper's protocol: jogging,
running and walking, 128 x 128, 10 -> 10, windows of 20 inside the clips
where the person is visible (data.clip_list: KTH's 00sequences.txt, which
experiments/download_kth.sh fetches, or the authors' kth_txt lists), a
window every 3 frames for running and 10 for jogging and walking (the
authors' code); persons 1-16 train, 17-25 test and validate (the code's),
20 epochs. `:smoke` shrinks it."""
from experiments.configs import base, benchmarks
from experiments.configs.papers import mslstm


def get_config(arg: str | None = None):
  c = benchmarks.kth_data(base.get_base_config(),
                          actions=("jogging", "running", "walking"),
                          aft=10, test_aft=0)
  c.data.clip_list = "data/kth/00sequences.txt"
  c.data.clip_strides = {"running": 3, "jogging": 10, "walking": 10}
  c.data.val_persons = ()
  c = base.model(c, "mslstm", cell="mklstm", pyramid=True)
  return base.variant(mslstm.protocol(c), arg)
