"""SimVP paper, Table 7 (KTH 10 -> 20): SimVP-gSTA trained to predict 20
frames (the paper trains one model per horizon) for 100 epochs, OpenSTL's
KTH model. `:smoke` shrinks it."""
from experiments.configs import base, benchmarks


def get_config(arg: str | None = None):
  c = benchmarks.get("kth", "simvp_gsta")
  c.data.aft_seq_length, c.data.test_aft_seq_length = 20, 0
  c.cites = "SimVP paper Sec. 5.6; model: " + c.cites
  return base.variant(c, arg)
