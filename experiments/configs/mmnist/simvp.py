"""SimVP with one of OpenSTL's other translators on Moving MNIST: `:convnext`,
`:swin`, ... (`:<translator>:smoke` for a CPU check), each with the values of
OpenSTL's configs/mmnist/simvp/SimVP_<type>.py (experiments/configs/simvp_zoo.py)."""
from experiments.configs import simvp_zoo

VARIANTS = ("convmixer", "convnext", "hornet", "mlpmixer", "moganet",
            "poolformer", "swin", "uniformer", "van", "vit", "<translator>:smoke")


def get_config(arg: str | None = None):
  return simvp_zoo.get("mmnist", arg)
