"""SimVP-gSTA on your own arrays (stjax/data/arrays.py): set
--config.data.path=clips.npy (N, T, H, W[, C]) and the frame counts; the
model is the OpenSTL Moving MNIST one, `:smoke` a small one. Example:

    python -m experiments.main --config=experiments/configs/arrays/simvp_gsta.py:smoke \\
        --config.data.path=clips.npy --config.data.pre_seq_length=5 \\
        --config.data.aft_seq_length=5 --workdir=runs/mine
"""
from experiments.configs import base


def get_config(arg: str | None = None):
  c = base.arrays_data(base.get_base_config(), "clips.npy", 10, 10)
  c = base.model(c, "simvp_gsta")
  c.train.epochs = 100
  return base.variant(c, arg)
