"""MIM paper, Table 6 (radar echoes): 10 -> 10 frames of 64 x 64, CSI at
30, 40 and 50 dBZ (pixel = (dBZ + 10) / 70 assumed, HKO-7's map: the
authors' map is unpublished), under the paper's protocol. The radar data
comes from the user (docs/datasets.md: Radar echo nowcasting). `:adam_tf`, `:smoke`."""
from experiments.configs import base, benchmarks
from experiments.configs.papers import mim


def get_config(arg: str | None = None):
  c = benchmarks.radar_data(base.get_base_config(), pre=10, aft=10)
  c.data.image_size = 64
  c.data.thresholds, c.data.threshold_unit = (30.0, 40.0, 50.0), "dbz"
  c = mim.protocol(c, arg)
  c.eval.metrics = ("mse", "csi")
  return c
