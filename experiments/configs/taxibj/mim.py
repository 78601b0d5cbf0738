"""MIM on TaxiBJ, 4 -> 4 crowd flows: 4 x 128, filter 5, patch 2, lr 1e-2 (OpenSTL configs/taxibj/MIM.py,
as given there); batch 16, 50 epochs, cosine
schedule after 5 warm-up epochs (base.taxibj_data). Needs the data file:
experiments/download_taxibj.sh, then --config.data.path=DIR/dataset.npz.
`:smoke` shrinks the model and runs one epoch."""
from experiments.configs import base


def get_config(arg: str | None = None):
  c = base.model(
      base.taxibj_data(base.get_base_config()), "mim")
  c.optim.lr = 1e-2
  c.model.patch_size = 2
  c.cites = "OpenSTL c74deb5 configs/taxibj/MIM.py"
  return base.variant(c, arg)
