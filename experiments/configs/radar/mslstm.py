"""MS-LSTM on radar echoes as its paper: 4 -> 4 frames, the MS-LSTM setting
of stjax.models.mslstm.defaults (6 x 32, kernels 3 and 5, mirrored pyramid, batch 4,
Adam 3e-4), CSI/HSS/POD/FAR as benchmarks.radar_data. The paper's own protocol
(DWD maps, 30-minute steps, mm/h thresholds) is
experiments/configs/papers/mslstm/table10_radar_mslstm.py. `:smoke` shrinks it."""
from experiments.configs import base, benchmarks


def get_config(arg: str | None = None):
  c = benchmarks.radar_data(base.get_base_config(), pre=4, aft=4)
  c = base.model(c, "mslstm", cell="mklstm", pyramid=True)
  return base.variant(c, arg)
