"""The "Copying" baseline (every future frame = the last observed one; the
SimVP paper's Table 5 row on WeatherBench: MAE 1.6906, RMSE 2.4838) on
kth, with that dataset's metrics: one epoch that only evaluates.
`:smoke` shortens it."""
from experiments.configs import base
from experiments.configs.papers import simvp


def get_config(arg: str | None = None):
  c = base.model(simvp.dataset("kth"), "copy_last")
  c.cites = "SimVP paper Table 5 (Copying)"
  return base.variant(c, arg)
