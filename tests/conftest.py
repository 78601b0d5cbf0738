import os
import pathlib
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # experiments/ is importable from the tests

FIXTURES = ROOT / "tests" / "fixtures" / "openstl"

# Many tests compile the same small programs (each run builds its steps
# anew): a compilation cache shared by the session, and by the commands the
# tests start, compiles each once. It lives in a temporary folder, so no test
# reads a program compiled by an earlier session.
_CACHE = tempfile.mkdtemp(prefix="stjax-test-xla-")
os.environ["JAX_COMPILATION_CACHE_DIR"] = _CACHE
import jax  # noqa: E402  pylint: disable=wrong-import-position
jax.config.update("jax_compilation_cache_dir", _CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def tiny_config(model: str = "simvp_gsta"):
  """A Moving MNIST run small enough for a unit test (seconds per step)."""
  import importlib
  module = importlib.import_module(f"experiments.configs.mmnist.{model}")
  c = module.get_config("smoke")
  c.data.image_size = 32
  c.data.pre_seq_length = c.data.aft_seq_length = 4
  c.data.train_size, c.data.val_size, c.data.test_size = 16, 8, 8
  c.data.num_threads = 1
  if "hid_S" in c.model:
    c.model.hid_S, c.model.hid_T, c.model.N_S, c.model.N_T = 4, 16, 2, 2
  elif "pyramid" in c.model:  # MS-LSTM keeps a pyramid of 4 layers
    c.model.num_hidden, c.model.patch_size = (8,) * 4, 2
  elif "encoder_width" in c.model:  # PhyDNet: the last ConvLSTM is 2 x the encoder's
    c.model.encoder_width, c.model.num_hidden = 16, (8, 32)
  else:
    c.model.num_hidden, c.model.filter_size = (8, 8), 3
  c.train.batch_size, c.eval.batch_size = 4, 4
  c.train.epochs = 2
  c.eval.num_pictures = 2
  return c


@pytest.fixture
def config():
  return tiny_config()
