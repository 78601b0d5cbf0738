import jax
import jax.numpy as jnp
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from stjax import losses, metrics


def _rand(shape, seed):
  return np.random.default_rng(seed).random(shape).astype(np.float32)


def test_differential_divergence_matches_a_direct_numpy_computation():
  p, t = _rand((2, 5, 6, 7, 3), 0), _rand((2, 5, 6, 7, 3), 1)
  def softmax(g):
    e = np.exp(g / 0.1 - (g / 0.1).max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)
  gp = softmax(np.diff(p, axis=1).reshape(2, 4, -1).astype(np.float64))
  gt = softmax(np.diff(t, axis=1).reshape(2, 4, -1).astype(np.float64))
  expected = np.mean(gp * np.log(gp / (gt + 1e-12) + 1e-12))
  got = float(losses.differential_divergence(jnp.asarray(p), jnp.asarray(t)))
  assert got == pytest.approx(expected, rel=1e-4)
  assert float(losses.differential_divergence(jnp.asarray(p), jnp.asarray(p))) == pytest.approx(0, abs=1e-6)


def test_frame_mse_is_summed_over_pixels_as_the_field_reports_it():
  target = np.zeros((3, 2, 64, 64, 1), np.float32)
  pred = target + 0.1
  per_frame = np.asarray(metrics.mse_per_frame(pred, target))
  np.testing.assert_allclose(per_frame, 0.01 * 64 * 64, rtol=1e-5)  # 40.96
  np.testing.assert_allclose(np.asarray(metrics.mae_per_frame(pred, target)),
                             0.1 * 64 * 64, rtol=1e-5)
  np.testing.assert_allclose(np.asarray(metrics.psnr_per_frame(pred, target)),
                             20.0, rtol=1e-5)  # mse 0.01 -> 20 dB


@pytest.mark.parametrize("mode,kwargs", [
    ("openstl", dict(data_range=2, win_size=7, use_sample_covariance=True)),
    ("gaussian", dict(data_range=1, gaussian_weights=True, sigma=1.5,
                      use_sample_covariance=False)),
])
def test_ssim_matches_scikit_image(mode, kwargs):
  a = _rand((2, 3, 20, 24, 2), 2)
  b = np.clip(a + 0.2 * np.random.default_rng(3).standard_normal(a.shape), 0, 1).astype(np.float32)
  ours = np.asarray(metrics.ssim_per_frame(jnp.asarray(a), jnp.asarray(b), mode))
  ref = np.array([[structural_similarity(a[i, j], b[i, j], channel_axis=-1, **kwargs)
                   for j in range(3)] for i in range(2)])
  np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_ssim_rejects_frames_smaller_than_its_window():
  with pytest.raises(ValueError, match="at least 11x11"):
    metrics.ssim_per_frame(jnp.zeros((1, 1, 8, 8, 1)), jnp.zeros((1, 1, 8, 8, 1)))
