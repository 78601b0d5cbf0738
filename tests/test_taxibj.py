"""TaxiBJ: the reader on a small file in the distributed format, its split,
its errors, and a training run on it."""
import json

import numpy as np
import pytest

from experiments.configs.taxibj import simvp_gsta
from stjax.data import Split, build_datasets, taxibj
from stjax.train.loop import train_and_evaluate


def _write(path, n_train=20, n_test=5, seed=0, **override):
  rng = np.random.default_rng(seed)
  arrays = {k: rng.uniform(-1, 1, (n_train if "train" in k else n_test, 4, 2, 32, 32))
            for k in taxibj.KEYS}  # float64, NCHW, [-1, 1] as distributed
  arrays.update(override)
  np.savez(path, **arrays)
  return arrays


def _config(path):
  c = simvp_gsta.get_config("smoke")
  c.data.path, c.data.num_threads = str(path), 1
  return c


def test_reader_returns_the_files_sequences_in_order_and_split(tmp_path):
  arrays = _write(tmp_path / "dataset.npz")
  data = build_datasets(_config(tmp_path / "dataset.npz").data)
  assert (len(data.train), len(data.val), len(data.test)) == (19, 1, 5)
  assert data.frame_shape == (32, 32, 2)

  def expect(x, y, i):  # (T, C, H, W) in [-1, 1] -> (T, H, W, C) in [0, 1]
    seq = np.concatenate([x[i], y[i]]).transpose(0, 2, 3, 1)
    return ((seq + 1) / 2).astype(np.float32)
  np.testing.assert_allclose(data.train[3], expect(arrays["X_train"], arrays["Y_train"], 3),
                             rtol=1e-6, atol=1e-7)
  # validation = the last (most recent) training sequence, never a test one
  np.testing.assert_allclose(data.val[0], expect(arrays["X_train"], arrays["Y_train"], 19),
                             rtol=1e-6, atol=1e-7)
  np.testing.assert_allclose(data.test[4], expect(arrays["X_test"], arrays["Y_test"], 4),
                             rtol=1e-6, atol=1e-7)
  # float frames are not rescaled by the pipeline (uint8 ones are)
  batch = Split(4, 4)(data.test[4])
  np.testing.assert_allclose(batch["targets"][0, 5, 7, 1],
                             (arrays["Y_test"][4, 0, 1, 5, 7] + 1) / 2, rtol=1e-6)


def test_bad_files_are_clear_errors(tmp_path):
  cfg = _config(tmp_path / "missing.npz").data
  with pytest.raises(FileNotFoundError, match="download_taxibj.sh"):
    build_datasets(cfg)
  (tmp_path / "junk.npz").write_bytes(b"not a zip")
  with pytest.raises(ValueError, match="not a readable .npz"):
    build_datasets(_config(tmp_path / "junk.npz").data)
  bad = tmp_path / "bad.npz"
  np.savez(bad, X_train=np.zeros((2, 4, 2, 32, 32)))
  with pytest.raises(ValueError, match=r"lacks \['Y_train'"):
    build_datasets(_config(bad).data)
  _write(bad, X_test=np.zeros((5, 4, 32, 32, 2)))  # NHWC: the wrong layout
  with pytest.raises(ValueError, match=r"X_test is float64 \(5, 4, 32, 32, 2\)"):
    build_datasets(_config(bad).data)
  _write(bad, X_train=np.full((20, 4, 2, 32, 32), 3.0))  # raw counts, unscaled
  with pytest.raises(ValueError, match=r"scaled to \[-1, 1\]"):
    build_datasets(_config(bad).data)
  c = _config(tmp_path / "dataset.npz")
  c.data.val_fraction = 1.0  # (0 validates on the test split, as the reference)
  with pytest.raises(ValueError, match="val_fraction"):
    build_datasets(c.data)


@pytest.mark.slow
def test_a_run_on_taxibj_trains_and_tests(tmp_path):
  _write(tmp_path / "dataset.npz", n_train=40, n_test=8)
  c = _config(tmp_path / "dataset.npz")
  c.model.hid_S, c.model.hid_T, c.model.N_T = 4, 16, 2
  c.eval.num_pictures = 1
  results = train_and_evaluate(c, str(tmp_path / "run"))
  assert results["test"]["num_sequences"] == 8
  assert np.isfinite(results["test"]["mse"])
  saved = json.loads((tmp_path / "run" / "results.json").read_text())
  assert saved["test_set"].startswith("TaxiBJ test split")
  assert len(saved["test"]["per_frame"]["mse"]) == 4
