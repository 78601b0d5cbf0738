"""SimVP paper, Table 6 (KITTI -> Caltech, 10 -> 1), SimVP+gSTA: the OpenSTL
KITTI model (benchmarks.OPENSTL) trained for the paper's 50 epochs, scored
with SSIM, PSNR and LPIPS (eval.lpips_weights: docs/training.md, Metrics). `:smoke`."""
from experiments.configs import base, benchmarks


def get_config(arg: str | None = None, model: str = "simvp_gsta"):
  c = benchmarks.get("kitti_caltech", "simvp_gsta")
  c.model.name = model  # IncepU reads the same sizes
  c.train.epochs = 50
  c.eval.metrics = ("mse", "mae", "ssim", "psnr", "lpips")
  c.cites = "SimVP paper Sec. 5.5 (50 epochs); model: " + c.cites
  return base.variant(c, arg)
