"""MAU on Human3.6M with the values of OpenSTL's MAU config for it
(experiments/configs/methods_zoo.py): 4 MAU layers of 64, filter 5, patch 1,
tau 5, OpenSTL's sr_size, lr and schedule. `:smoke` for a CPU check."""
from experiments.configs import methods_zoo


def get_config(arg: str | None = None):
  return methods_zoo.get("human36m", "mau", arg)
