"""TAU paper, Table 4 (KITTI -> Caltech, 10 -> 1), TAU: OpenSTL's KITTI TAU
model with the paper's AdamW recipe, scored with SSIM, PSNR and LPIPS
(eval.lpips_weights: docs/training.md, Metrics). `:smoke` shrinks it."""
from experiments.configs import base, benchmarks
from experiments.configs.papers.tau import protocol


def get_config(arg: str | None = None):
  c = protocol(benchmarks.get("kitti_caltech", "tau"))
  c.eval.metrics = ("mse", "mae", "ssim", "psnr", "lpips")
  return base.variant(c, arg)
