"""OpenSTL's other SimVP translators: names, errors, and a config that
trains, evaluates and predicts. Their parity with OpenSTL is in
test_interop_openstl.py (forward fixtures with every weight randomised, so
every sub-layer shows) and test_train_parity.py (training steps)."""
import numpy as np
import pytest
from flax import nnx

import stjax
from conftest import tiny_config
from experiments.configs.mmnist import simvp as mmnist_simvp
from stjax.models.simvp import SimVP, translator_name
from stjax.train.loop import train_and_evaluate


def test_openstl_spellings_name_the_same_translators():
  assert translator_name("MLPMixer") == translator_name("mlp") == "mlpmixer"
  assert translator_name("moga") == translator_name("MogaNet") == "moganet"
  assert translator_name("Poolformer") == "poolformer"


def test_a_width_the_heads_cannot_split_is_a_clear_error():
  with pytest.raises(ValueError, match="8 heads"):
    SimVP(in_shape=(3, 16, 16, 1), out_frames=3, hid_S=4, hid_T=16, N_S=2, N_T=2,
          translator="vit", rngs=nnx.Rngs(0))


@pytest.mark.slow
def test_a_translator_config_trains_evaluates_and_predicts(tmp_path):
  c = tiny_config("simvp_gsta")
  smoke = mmnist_simvp.get_config("convnext:smoke")
  c.model = smoke.model
  c.model.hid_S, c.model.hid_T, c.model.N_S, c.model.N_T = 4, 16, 2, 2
  c.optim.lr = smoke.optim.lr
  results = train_and_evaluate(c, str(tmp_path))
  assert 0 < results["test"]["mse"] < 1024
  run = stjax.load_run(tmp_path)
  frames = np.linspace(0, 1, 2 * 4 * 32 * 32).reshape(2, 4, 32, 32, 1)
  pred = run.predict(frames)
  assert pred.shape == (2, 4, 32, 32, 1) and np.all((pred >= 0) & (pred <= 1))
