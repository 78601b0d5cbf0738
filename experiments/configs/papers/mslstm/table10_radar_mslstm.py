"""MS-LSTM paper, Tables 10 and 11 (German DWD radar), MS-LSTM under the
paper's protocol: maps every 30 minutes (5-minute data, data.frame_step 6),
resized to 180 x 180, 4 -> 4; pixel = (dBZ + 10) / 70, Z = 256 R^1.42; CSI
and HSS at 0.5, 2 and 5 mm/h; 20 epochs. The data (2006-2014 train,
2015-2017 test) comes from the user (docs/datasets.md: Radar echo nowcasting).
`:smoke` shrinks it."""
from experiments.configs import base, benchmarks
from experiments.configs.papers import mslstm


def get_config(arg: str | None = None):
  c = benchmarks.radar_data(base.get_base_config(), pre=4, aft=4)
  c.data.image_size = 180
  c.data.frame_step = 6
  c.data.dbz_min, c.data.dbz_range = -10.0, 70.0
  c.data.zr_a, c.data.zr_b = 256.0, 1.42
  c.data.thresholds, c.data.threshold_unit = (0.5, 2.0, 5.0), "mm/h"
  c = base.model(c, "mslstm", cell="mklstm", pyramid=True)
  return base.variant(mslstm.protocol(
      c, metrics=mslstm.METRICS + ("csi", "hss")), arg)
