"""The MIM paper's protocol (Wang et al. 2019, paper 002), with its authors'
TensorFlow code where the paper is silent.

- Model: an ST-LSTM, then 3 MIM blocks, 64 channels each, filter 5, patch 4
  on 64 x 64 frames, LayerNorm (`layer_norm=True`); MIM-S's memory keeps its
  gradient through time as the authors' code (`stop_mim_s_gradient=False`;
  OpenSTL cuts it).
- Training: Adam 1e-3, constant; batch 8; scheduled sampling from 1 by 2e-5
  per step until 50,000; 80,000 iterations of two optimizer steps, the
  second on the time-reversed sequence (`train.reverse_input`); 10,000
  fixed training sequences (Moving MNIST).
- The authors' Adam keeps beta (0.95, 0.9995): `:adam_tf` sets it.
- Evaluation: per-frame MSE after clipping (`eval.clip_errors`).
- Table 3's ablations: `model.mim_ablation` "no_mim_n" / "no_mim_s"
  (stjax/models/recurrent.py:MIM says how each is read).
"""
from experiments.configs import base

VARIANTS = ("adam_tf", "smoke")


def protocol(c, arg):
  """The MIM paper's model and training on any dataset section `c`."""
  parts = [p for p in (arg or "").split("_and_") if p]
  unknown = [p for p in parts if p not in VARIANTS]
  if unknown:
    raise ValueError(f"unknown config variant ':{arg}'; this config has "
                     f"{', '.join(':' + v for v in VARIANTS)}, "
                     f":adam_tf_and_smoke or none.")
  base.model(c, "mim")
  c.model.num_hidden, c.model.filter_size, c.model.patch_size = (64,) * 4, 5, 4
  c.model.layer_norm = True
  c.model.stop_mim_s_gradient = False
  c.model.mim_ablation = ""
  c.optim.name, c.optim.lr, c.optim.schedule = "adam", 1e-3, "constant"
  c.train.batch_size = c.eval.batch_size = 8
  c.train.reverse_input = True
  c.eval.clip_errors = True
  c.cites = "MIM paper (Wang et al. 2019) Sec. 4 and the authors' TF code"
  if "adam_tf" in parts:
    c.optim.b1, c.optim.b2 = 0.95, 0.9995
  if "smoke" in parts:
    base.shrink_for_smoke(c)
  return c


def moving_mnist(c):
  """10,000 fixed training sequences (80,000 iterations at batch 8 = 64
  epochs); the standard 10,000-sequence test file through data.test_path."""
  c.data.train_size, c.data.fixed_train_set = 10000, True
  c.train.epochs = 64
  return c
