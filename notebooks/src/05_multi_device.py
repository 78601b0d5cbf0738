# %% [markdown]
# # Data parallelism over every device
#
# stjax shards each batch over all the devices JAX sees (and all hosts) and
# keeps one replicated copy of the parameters. On a runtime without an
# accelerator this notebook makes 8 virtual CPU devices, trains on them, and
# checks that the losses match a run on one device: the same mathematics,
# split differently.

# %% [markdown]
# ## Setup
# On Colab (no checkout here) this clones `STJAX_REPO` and installs stjax with
# the JAX build of the runtime (CPU, NVIDIA GPU or TPU) and no PyTorch; in a
# checkout it only moves to the repository root.

# %% setup

# %% tags=["parameters"]
EPOCHS = 1

# %%
import os
# Before JAX starts: 8 host devices (used where there is no accelerator).
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_force_host_platform_device_count=8")

# %%
import json, shutil, tempfile
import jax
import numpy as np
from stjax.train.loop import train_and_evaluate
from experiments.configs.mmnist import convlstm
print(jax.device_count(), "devices:", jax.devices())

# %% [markdown]
# ## Train on all of them
# The global batch (8) is split evenly; the config is the same as anywhere.

# %%
def config():
    c = convlstm.get_config("smoke")
    c.train.epochs, c.train.batch_size, c.eval.batch_size = EPOCHS, 8, 8
    c.train.log_every_steps = 1
    c.data.num_threads = 2
    return c

root = pathlib.Path(tempfile.gettempdir()) / "stjax_multi_device"
shutil.rmtree(root, ignore_errors=True)
train_and_evaluate(config(), str(root / "all_devices"))

# %% [markdown]
# ## The same run on one device
# A separate process without the extra devices (`JAX_PLATFORMS=cpu`, no
# XLA_FLAGS), with the same config and seed.

# %%
env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
env["JAX_PLATFORMS"] = "cpu"
subprocess.run([sys.executable, "-m", "experiments.main",
                "--config=experiments/configs/mmnist/convlstm.py:smoke",
                f"--config.train.epochs={EPOCHS}", "--config.train.batch_size=8",
                "--config.eval.batch_size=8", "--config.train.log_every_steps=1",
                f"--workdir={root / 'one_device'}"], env=env, check=True,
               capture_output=True)

# %%
def losses(run):
    rows = [json.loads(l) for l in (root / run / "metrics.jsonl").read_text().splitlines()]
    return np.array([r["train/loss"] for r in rows if "train/loss" in r])

many, one = losses("all_devices"), losses("one_device")
print("steps:", len(many), "largest relative difference:",
      float(np.max(np.abs(many - one) / np.abs(one))))
assert len(many) == len(one) and np.allclose(many, one, rtol=1e-4)
