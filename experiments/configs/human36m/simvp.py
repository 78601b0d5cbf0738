"""SimVP with one of OpenSTL's other translators on Human3.6M: `:convnext`,
`:swin`, ... (`:<translator>:smoke` for a CPU check), each with the values of
OpenSTL's configs/human/simvp/SimVP_<type>.py (experiments/configs/simvp_zoo.py)."""
from experiments.configs import simvp_zoo

VARIANTS = ("convmixer", "convnext", "hornet", "mlpmixer", "moganet",
            "poolformer", "swin", "uniformer", "van", "vit", "<translator>:smoke")


def get_config(arg: str | None = None):
  return simvp_zoo.get("human36m", arg)
