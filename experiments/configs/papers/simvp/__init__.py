"""Rows of the SimVP paper (Tan et al., SimVP v2 / TPAMI, paper 003) that
the OpenSTL-style configs do not already give: its ConvLSTM-S/-L sizes,
the "Copying" baseline on every dataset, KITTI -> Caltech at its 50 epochs,
WeatherBench at its Adam 1e-2, KTH trained per horizon. Training: Adam
with one-cycle, batch 16, 200 epochs on Moving MNIST (Sec. 5.1)."""
from experiments.configs import base, benchmarks

DATASETS = ("mmnist", "taxibj", "kth", "weatherbench", "kitti_caltech", "human36m")


def dataset(name: str):
  """The dataset section of `name`, as the OpenSTL-style configs read it."""
  c = base.get_base_config()
  if name == "mmnist":
    return c
  if name == "taxibj":
    return base.taxibj_data(c)
  return benchmarks.DATA[name](c)
