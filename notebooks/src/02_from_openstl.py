# %% [markdown]
# # From OpenSTL: import a checkpoint, predict, score
#
# `stjax.from_openstl(checkpoint, openstl_config)` turns an OpenSTL model into
# an stjax predictor. A real checkpoint is a `.pth` file (reading it needs
# PyTorch); here the weights of the SimVP-gSTA parity fixture stand in for a
# downloaded one, so the notebook runs anywhere and can check its answer
# against the outputs OpenSTL computed for the same weights.

# %% [markdown]
# ## Setup
# On Colab (no checkout here) this clones `STJAX_REPO` and installs stjax with
# the JAX build of the runtime (CPU, NVIDIA GPU or TPU) and no PyTorch; in a
# checkout it only moves to the repository root.

# %% setup

# %% tags=["parameters"]
FIXTURE = "tests/fixtures/openstl/simvp_gsta.npz"

# %%
import jax
import numpy as np
import stjax
from stjax.interop.fixtures import nchw_to_nhwc, read_fixture

# %% [markdown]
# ## The OpenSTL configuration and weights
# The configuration is OpenSTL's, in the fixtures' JSON form; with a real
# checkpoint pass its path: `stjax.from_openstl("simvp.pth", config)`.

# %%
config, arrays = read_fixture(FIXTURE)
print({k: config[k] for k in ("model", "model_type", "in_shape", "hid_S", "hid_T", "N_S", "N_T")})
state_dict = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
model = stjax.from_openstl(state_dict, config)

# %% [markdown]
# ## Predict, and compare with what OpenSTL computed
# OpenSTL works NCHW, stjax NHWC: the fixture's arrays are transposed.

# %%
inputs = nchw_to_nhwc(arrays["input/x"]).clip(0, 1)
targets = nchw_to_nhwc(arrays["input/y"]).clip(0, 1)
with jax.default_matmul_precision("highest"):
    ours = model.predict(inputs, clip=False)  # the raw output, as OpenSTL returns it
reference = nchw_to_nhwc(arrays["output/pred_y"])
error = np.max(np.abs(ours - reference)) / np.max(np.abs(reference))
print(f"relative error against OpenSTL: {error:.2e}")
assert error < 1e-4

# %% [markdown]
# ## Score with stjax's metrics
# MSE/MAE per frame summed over pixels (the tables' convention), SSIM in both
# conventions, PSNR.

# %%
scores = model.evaluate(inputs, targets)
print({k: round(v, 4) for k, v in scores.items() if isinstance(v, float)})
