"""PhyDNet on WeatherBench (t2m, 5.625 degrees) with the values of OpenSTL's PhyDNet config for it
(experiments/configs/methods_zoo.py): its fixed widths, OpenSTL's encoder
stride (`model.patch_size`), lr, schedule and batch; the PhyDNet method's
teacher forcing and objective. `:smoke` for a CPU check."""
from experiments.configs import methods_zoo


def get_config(arg: str | None = None):
  return methods_zoo.get("weatherbench", "phydnet", arg)
