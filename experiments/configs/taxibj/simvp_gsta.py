"""SimVP-gSTA on TaxiBJ, 4 -> 4 crowd flows: hid_S 32, hid_T 256, N_S 2, N_T 8, drop path 0.1, lr 5e-4
(OpenSTL configs/taxibj/simvp/SimVP_gSTA.py); batch 16, 50 epochs, cosine
schedule after 5 warm-up epochs (base.taxibj_data). Needs the data file:
experiments/download_taxibj.sh, then --config.data.path=DIR/dataset.npz.
`:smoke` shrinks the model and runs one epoch."""
from experiments.configs import base


def get_config(arg: str | None = None):
  c = base.model(
      base.taxibj_data(base.get_base_config()), "simvp_gsta")
  c.optim.lr = 5e-4
  c.model.hid_S, c.model.hid_T, c.model.N_S, c.model.N_T = 32, 256, 2, 8
  c.model.drop_path = 0.1
  c.cites = "OpenSTL c74deb5 configs/taxibj/simvp/SimVP_gSTA.py"
  return base.variant(c, arg)
