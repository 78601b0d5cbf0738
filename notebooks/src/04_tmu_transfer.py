# %% [markdown]
# # TMU transfer: the paper's Table 1 study at smoke size
#
# Sources are pretrained on 1- and 2-digit Moving MNIST; then, on 3-digit
# sequences, a ConvLSTM is trained from scratch, finetuned from the 2-digit
# source, and trained with TMU (both sources; and untrained sources, the
# paper's "TMU (train from scratch)" row). `experiments.transfer` runs the
# same study from the command line. At this size the numbers say nothing
# about the method; on a GPU drop SMOKE for the paper's budget.

# %% [markdown]
# ## Setup
# On Colab (no checkout here) this clones `STJAX_REPO` and installs stjax with
# the JAX build of the runtime (CPU, NVIDIA GPU or TPU) and no PyTorch; in a
# checkout it only moves to the repository root.

# %% setup

# %% tags=["parameters"]
SMOKE = True
VARIANT = ""      # "" = the paper's reading of TMU, "code" = its authors' code

# %%
import json, shutil, tempfile
from IPython.display import Image, display
from stjax import viz
from stjax.cli import transfer
from experiments.configs.papers.tmu import table1_mmnist

# %%
arg = "_".join(p for p in (VARIANT, "smoke" if SMOKE else "") if p) or None
config = table1_mmnist.get_config(arg)
if SMOKE:  # smaller still, so the notebook runs in a minute on a CPU
    config.data.train_size, config.data.val_size, config.data.test_size = 16, 8, 16
    config.data.pre_seq_length = config.data.aft_seq_length = 5
    config.model.num_hidden, config.model.filter_size = (8, 8), 3
    config.transfer.pretrain_train_size = 16
    config.train.epochs, config.eval.num_pictures = 1, 0
config.data.num_threads = 2
workdir = pathlib.Path(tempfile.gettempdir()) / "stjax_tmu"
shutil.rmtree(workdir, ignore_errors=True)
assert transfer.study(config, workdir) == 0

# %% [markdown]
# ## The comparison and the transfer gates
# `comparison.json` holds every run's test metrics; the TMU runs also hold
# each source's average transfer gate over the test set (the paper's Table 5).

# %%
summary = json.loads((workdir / "comparison.json").read_text())
for row in summary["runs"]:
    print(f"{row['run']:>14}  MSE {row['mse']:8.2f}  SSIM(uint8) {row['ssim_uint8']:.3f}")
print("paper, Table 1:", summary["paper_mse"])
gates = {f"{r['run']} / source {m}": r[f"test_gate_{m}"]
         for r in summary["runs"] if "test_gate_0" in r for m in (0, 1)}
viz.bar_plot(workdir / "gates.png", gates, title="average transfer gate on the test set",
             ylabel="gate")
display(Image(filename=str(workdir / "gates.png")))
display(Image(filename=str(workdir / "comparison_mse.png")))
