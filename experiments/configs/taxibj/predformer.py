"""PredFormer on TaxiBJ, 4 -> 4 crowd flows, its repository's setting: Triplet-STS, patch 4, dim 256, dropout 0.1.

From configs/taxibj/PredFormer.py (patch 4, dim 256, 8 x 32 heads, SwiGLU
4x, dropout, attention dropout and drop path 0.1, depth 1, Ndepth 2) and
scripts/taxibj/taxibj_PredFormer_STS_train.sh (Triplet-STS, AdamW, lr 1e-3,
weight decay 1e-2, batch 16, 200 epochs, OpenSTL's default one-cycle
schedule: `--sched` is not given, so base.taxibj_data's cosine and warm-up
are replaced). `:LAYOUT` picks another layout (see mmnist/predformer.py)
at the depth of NDEPTH below; `:smoke` shrinks it. The script validates on
the test set; stjax keeps base.taxibj_data's held-out training sequences.
Needs the data file: experiments/download_taxibj.sh, then
--config.data.path=DIR/dataset.npz.
"""
from experiments.configs import base
from stjax.models import predformer

# The config's comment says "FullAttention-8, BinaryST, BinaryTS, FacST,
# FacTS-4, TST, STS-3, TSST, STTS-2"; the script trains STS at the file's
# Ndepth 2 and the paper's Table 4 gives the triplets 6.3M parameters (6
# blocks, Ndepth 2), so the triplets take 2 here.
NDEPTH = {"full": 8, "facst": 4, "facts": 4, "binary_st": 4, "binary_ts": 4,
          "triplet_sts": 2, "triplet_tst": 2, "quadruplet_stts": 2,
          "quadruplet_tsst": 2}


def get_config(arg: str | None = None):
  layout, rest = base.split_option(arg, predformer.LAYOUT_NAMES, "triplet_sts")
  c = base.model(base.taxibj_data(base.get_base_config()), "predformer",
                 layout=layout)
  m = c.model
  m.patch_size = 4
  m.dropout = m.attn_dropout = m.drop_path = 0.1
  m.Ndepth = NDEPTH[m.layout]
  c.optim.name, c.optim.lr, c.optim.weight_decay = "adamw", 1e-3, 1e-2
  c.optim.schedule, c.optim.warmup_steps = "onecycle", 0
  c.train.epochs, c.train.batch_size = 200, 16
  c.cites = ("PredFormer (yyyujintang/PredFormer) configs/taxibj/PredFormer.py "
             "and scripts/taxibj/taxibj_PredFormer_STS_train.sh")
  return base.variant(c, rest)
