"""SimVP paper, Table 5 (WeatherBench t2m, 5.625 degrees): SimVP-gSTA with
the OpenSTL WeatherBench model, trained as the paper says: 50 epochs, Adam
lr 0.01 (Sec. 5.3; OpenSTL uses 5e-3 with a cosine schedule, kept here).
`:smoke` shrinks it."""
from experiments.configs import base, benchmarks


def get_config(arg: str | None = None):
  c = benchmarks.get("weatherbench", "simvp_gsta")
  c.optim.lr, c.train.epochs = 1e-2, 50
  c.cites = "SimVP paper Sec. 5.3; model: " + c.cites
  return base.variant(c, arg)
