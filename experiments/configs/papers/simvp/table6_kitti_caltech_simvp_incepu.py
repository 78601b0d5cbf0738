"""SimVP paper, Table 6 (KITTI -> Caltech), SimVP+IncepU: as the gSTA row
(table6_kitti_caltech_simvp_gsta.py) with the IncepU translator. `:smoke`."""
from experiments.configs.papers.simvp import table6_kitti_caltech_simvp_gsta


def get_config(arg: str | None = None):
  return table6_kitti_caltech_simvp_gsta.get_config(arg, model="simvp_incepu")
