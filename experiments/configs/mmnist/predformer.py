"""PredFormer on Moving MNIST, its repository's setting: Quadruplet-TSST, patch 8, dim 256, 8 x 32 heads, Ndepth 6.

From configs/mmnist/PredFormer.py (the model; its comment gives Ndepth per
layout: FullAttention 24, Fac/Binary 12, Triplet 8, Quadruplet 6, always 24
gated blocks) and scripts/mmnist/mm_PredFormer_TSST_train.sh (AdamW, lr
1e-3, weight decay 1e-2 on every parameter, batch 16, 2000 epochs, and
OpenSTL's default one-cycle schedule: `--sched` is not given). 10 -> 10
frames. `:LAYOUT` picks another of the nine layouts at its repository depth
(`:full`, `:facst`, `:facts`, `:binary_st`, `:binary_ts`, `:triplet_sts`,
`:triplet_tst`, `:quadruplet_stts`, `:quadruplet_tsst`; `:tsst`, `:stts`,
`:sts`, `:tst` for short); `:smoke`, or `:LAYOUT:smoke`, shrinks it.
"""
from experiments.configs import base
from stjax.models import predformer


def get_config(arg: str | None = None):
  layout, rest = base.split_option(arg, predformer.LAYOUT_NAMES, "quadruplet_tsst")
  c = base.model(base.get_base_config(), "predformer", layout=layout)
  c.optim.name, c.optim.lr, c.optim.weight_decay = "adamw", 1e-3, 1e-2
  c.optim.schedule = "onecycle"
  c.train.epochs, c.train.batch_size = 2000, 16
  c.cites = ("PredFormer (yyyujintang/PredFormer) configs/mmnist/PredFormer.py "
             "and scripts/mmnist/mm_PredFormer_TSST_train.sh")
  return base.variant(c, rest)
