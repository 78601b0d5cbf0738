# The first code cell of every notebook (notebooks/build.py puts it where a
# source has `# %% setup`): on Colab it installs stjax, in a checkout it
# moves to its root. One copy, so the five notebooks cannot drift apart.
import os, pathlib, shutil, subprocess, sys
STJAX_REPO = "https://github.com/stjax/stjax"  # the README's STJAX_REPO: your fork's address


def jax_extra():
    """stjax's extra for this runtime's JAX: [gpu] with an NVIDIA GPU, [tpu] on a TPU, none on a CPU."""
    if shutil.which("nvidia-smi"):
        return "[gpu]"
    if os.environ.get("COLAB_TPU_ADDR") or os.environ.get("TPU_NAME") or pathlib.Path("/dev/accel0").exists():
        return "[tpu]"
    return ""


print("JAX build for this runtime:", jax_extra() or "CPU")
if not pathlib.Path("experiments").is_dir():
    if pathlib.Path("../experiments").is_dir():
        os.chdir("..")
    else:
        subprocess.run(["git", "clone", "--depth=1", STJAX_REPO, "stjax"], check=True)
        os.chdir("stjax")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "." + jax_extra()], check=True)
sys.path.insert(0, os.getcwd())
