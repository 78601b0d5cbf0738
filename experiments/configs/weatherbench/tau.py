"""TAU on weatherbench, with the hyper-parameters of experiments/configs/benchmarks.py
(the dataset's section and OpenSTL's settings for the model). Point
--config.data.path at the data (docs/datasets.md). `:smoke` shrinks the
model and runs one epoch."""
from experiments.configs import benchmarks


def get_config(arg: str | None = None):
  return benchmarks.get("weatherbench", "tau", arg)
