# %% [markdown]
# # Your own data: a NumPy array of sequences
#
# Any (N, T, H, W[, C]) array of sequences (uint8, or floats with a stated
# range) trains through the `arrays` dataset, no reader to write; one long
# (T, H, W[, C]) recording works too (`data.layout = "stream"`). Here the data
# are synthetic: squares moving across a 32 x 32 field.

# %% [markdown]
# ## Setup
# On Colab (no checkout here) this clones `STJAX_REPO` and installs stjax with
# the JAX build of the runtime (CPU, NVIDIA GPU or TPU) and no PyTorch; in a
# checkout it only moves to the repository root.

# %% setup

# %% tags=["parameters"]
NUM_SEQUENCES = 64
EPOCHS = 2

# %%
import shutil, tempfile
import numpy as np
from IPython.display import Image, display
import stjax
from stjax.train.loop import train_and_evaluate
from experiments.configs.arrays import convlstm

# %% [markdown]
# ## The array
# 12 frames per sequence; each square moves by a constant velocity.

# %%
rng = np.random.default_rng(0)
clips = np.zeros((NUM_SEQUENCES, 12, 32, 32), np.uint8)
for n in range(NUM_SEQUENCES):
    y, x = rng.integers(4, 24, 2)
    vy, vx = rng.integers(-2, 3, 2)
    for t in range(12):
        r, c = (y + vy * t) % 28, (x + vx * t) % 28
        clips[n, t, r:r + 4, c:c + 4] = 255
folder = pathlib.Path(tempfile.gettempdir()) / "stjax_own_data"
shutil.rmtree(folder, ignore_errors=True)
folder.mkdir()
np.save(folder / "squares.npy", clips)  # memory-mapped when read
print(clips.shape, clips.dtype)

# %% [markdown]
# ## The config
# `data.path` names the file; the split is a seeded 80/10/10 of the
# sequences unless `data.val_path` and `data.test_path` name files.

# %%
config = convlstm.get_config("smoke")
config.data.path = str(folder / "squares.npy")
config.data.pre_seq_length, config.data.aft_seq_length = 6, 6
config.data.num_threads = 2
config.model.patch_size = 2
config.train.epochs = EPOCHS
results = train_and_evaluate(config, str(folder / "run"))

# %%
display(Image(filename=str(folder / "run" / "pictures" / "test.png")))

# %% [markdown]
# ## Predict new sequences

# %%
run = stjax.load_run(folder / "run")
future = run.predict(clips[:2, :6])  # uint8 is scaled by 1/255 for you
print("predicted", future.shape, "mean squared error per frame:",
      float(((future - clips[:2, 6:, ..., None] / 255.0) ** 2).sum(axis=(2, 3, 4)).mean()))
