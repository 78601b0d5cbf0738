"""LPIPS (AlexNet) in JAX against the `lpips` package: the same backbone
weights (drawn from a seed, tests/fixtures/lpips/random_weights.py), the
package's own linear layers, its distances computed by
tests/fixtures/lpips/make_fixture.py; and the metric's one-line errors."""
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from conftest import ROOT, tiny_config
from stjax import lpips, metrics
from stjax.errors import ConfigError
from stjax.train.loop import train_and_evaluate

FIXTURE = ROOT / "tests" / "fixtures" / "lpips"
sys.path.insert(0, str(FIXTURE))
from random_weights import random_alexnet  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
  ref = np.load(FIXTURE / "lpips_alex_random.npz")
  path = tmp_path_factory.mktemp("lpips") / "alex.npz"
  np.savez(path, **random_alexnet(), **{f"lin{l}.weight": ref[f"lin{l}.weight"]
                                        for l in range(5)})
  return str(path)


@pytest.mark.slow
def test_lpips_matches_the_reference_package(weights_file):
  ref = np.load(FIXTURE / "lpips_alex_random.npz")
  w = lpips.load_weights(weights_file)
  nhwc = lambda a: jnp.asarray(a.transpose(0, 2, 3, 1))
  ours = np.asarray(lpips.distance(nhwc(ref["x"]), nhwc(ref["y"]), w))
  err = np.max(np.abs(ours - ref["distance"])) / np.max(np.abs(ref["distance"]))
  assert err < 1e-4, err
  # one channel is repeated to three, on a non-square frame
  gray = np.asarray(lpips.distance(nhwc(ref["gray"]), nhwc(ref["gray_y"]), w))
  np.testing.assert_allclose(gray, ref["gray_distance"], rtol=1e-4)
  assert float(lpips.distance(nhwc(ref["x"]), nhwc(ref["x"]), w)[0]) == 0.0


@pytest.mark.slow
def test_lpips_metric_in_a_run_and_its_errors(weights_file, tmp_path):
  spec = metrics.MetricSpec(names=("mse", "lpips"), lpips_weights=weights_file)
  a = np.random.default_rng(0).random((2, 3, 32, 32, 1)).astype(np.float32)
  per_frame = metrics.eval_metrics(jnp.asarray(a), jnp.asarray(a[::-1]), spec)
  assert per_frame["lpips"].shape == (2, 3) and float(per_frame["lpips"].min()) > 0
  with pytest.raises(ConfigError, match="set eval.lpips_weights=PATH"):
    metrics.MetricSpec(names=("lpips",))
  with pytest.raises(ConfigError, match="does not exist"):
    metrics.MetricSpec(names=("lpips",), lpips_weights=str(tmp_path / "none.npz"))
  c = tiny_config()
  c.train.epochs, c.eval.num_pictures = 1, 0
  c.eval.metrics, c.eval.lpips_weights = ("mse", "lpips"), weights_file
  test = train_and_evaluate(c, str(tmp_path / "run"))["test"]
  assert 0 < test["lpips"] < 2 and len(test["per_frame"]["lpips"]) == 4
