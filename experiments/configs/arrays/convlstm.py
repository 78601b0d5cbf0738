"""ConvLSTM on your own arrays (stjax/data/arrays.py): set
--config.data.path=clips.npy (N, T, H, W[, C]) and the frame counts; the
model is the OpenSTL Moving MNIST one (4 x 128, patch 4: H and W must divide
by 4, or set --config.model.patch_size), `:smoke` a small one."""
from experiments.configs import base


def get_config(arg: str | None = None):
  c = base.arrays_data(base.get_base_config(), "clips.npy", 10, 10)
  c = base.model(c, "convlstm")
  c.train.epochs = 100
  return base.variant(c, arg)
