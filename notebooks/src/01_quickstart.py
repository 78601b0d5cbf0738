# %% [markdown]
# # stjax quickstart: train, watch, evaluate, predict
#
# Trains SimVP-gSTA on Moving MNIST made from the MNIST digits that ship with
# stjax (no download), then evaluates the run and predicts new clips. Runs on
# a free Colab runtime (CPU, GPU or TPU) and on a laptop CPU; the parameter
# cell sets the size (the smallest by default: about a minute on a CPU).

# %% [markdown]
# ## Setup
# On Colab (no checkout here) this clones `STJAX_REPO` and installs stjax with
# the JAX build of the runtime (CPU, NVIDIA GPU or TPU) and no PyTorch; in a
# checkout it only moves to the repository root.

# %% setup

# %% tags=["parameters"]
EPOCHS = 2        # the smoke setting; 200 is the paper's
SMOKE = True      # False: the full model (hid_S 64, hid_T 512; for a GPU)

# %%
import json, shutil, tempfile
import jax
import numpy as np
from IPython.display import Image, display
import stjax
from stjax import viz
from stjax.train.loop import train_and_evaluate
from experiments.configs.mmnist import simvp_gsta
print("devices:", jax.devices())

# %% [markdown]
# ## Train
# `get_config("smoke")` is the small model; any field can be changed before
# training. The run writes everything into its workdir; running the cell
# again on the same workdir would resume it.

# %%
config = simvp_gsta.get_config("smoke" if SMOKE else None)
config.train.epochs = EPOCHS
config.data.num_threads = 2
workdir = pathlib.Path(tempfile.gettempdir()) / "stjax_quickstart"
shutil.rmtree(workdir, ignore_errors=True)
results = train_and_evaluate(config, str(workdir))

# %% [markdown]
# ## Watch the loss
# Every logged step is a line of `metrics.jsonl`.

# %%
logs = [json.loads(l) for l in (workdir / "metrics.jsonl").read_text().splitlines()]
loss = [r["train/loss"] for r in logs if "train/loss" in r]
viz.line_plot(workdir / "loss.png", {"train loss": loss}, title="training loss",
              ylabel="MSE", xlabel="logged step")
display(Image(filename=str(workdir / "loss.png")))

# %% [markdown]
# ## The test predictions
# The run drew its first test sequences: rows are the input, the truth, the
# prediction and the absolute error; the GIF puts truth beside prediction.

# %%
display(Image(filename=str(workdir / "pictures" / "test.png")))
display(Image(filename=str(workdir / "pictures" / "test.gif")))

# %% [markdown]
# ## Evaluate and predict with the trained run
# `stjax.load_run` restores the best checkpoint; `evaluate` scores with the
# metrics the run was trained with, `predict` takes any (B, T_in, H, W, C)
# clips in [0, 1].

# %%
run = stjax.load_run(workdir)
from stjax.data import mnist, moving_mnist
digits = mnist.load_digits()
clips = np.stack([moving_mnist.GeneratedMovingMNIST(digits, 4, 20, seed=123)[i]
                  for i in range(4)]) / 255.0
scores = run.evaluate(clips[:, :10], clips[:, 10:])
print({k: round(v, 4) for k, v in scores.items() if isinstance(v, float)})
assert abs(scores["mse"] - results["test"]["mse"]) < 0.5 * results["test"]["mse"]

# %%
future = run.predict(clips[:, :10])
print("predicted", future.shape)
viz.save_predictions(workdir / "new_clips", clips[:, :10], clips[:, 10:], future,
                     title="new clips, best checkpoint")
display(Image(filename=str(workdir / "new_clips.png")))
