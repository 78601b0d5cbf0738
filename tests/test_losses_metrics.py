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


def test_nowcasting_counts_and_scores_by_hand():
  # One sequence, one 2x3 frame, thresholds 0.5 and 2 (mm/h, say).
  target = np.array([[0.0, 1.0, 3.0], [0.6, 0.2, 2.0]]).reshape(1, 1, 2, 3, 1)
  pred = np.array([[0.7, 0.4, 2.5], [0.1, 0.9, 1.9]]).reshape(1, 1, 2, 3, 1)
  counts = metrics.contingency_per_frame(jnp.asarray(pred), jnp.asarray(target),
                                         (0.5, 2.0))
  # >= 0.5: pred events at (0,0) (0,2) (1,1) (1,2); truth at (0,1) (0,2)
  #   (1,0) (1,2): hits 2, misses 2, false alarms 2 [(0,0) (1,1)], negatives 0
  # >= 2.0: pred events at (0,2); truth at (0,2) (1,2): hits 1, misses 1, 0, 4
  want = {"hits": [2, 1], "misses": [2, 1], "false_alarms": [2, 0],
          "correct_negatives": [0, 4]}
  for k, v in want.items():
    np.testing.assert_array_equal(np.asarray(counts[k])[0, 0], v)
  s = {k: np.asarray(v)[0, 0] for k, v in metrics.skill_scores(counts).items()}
  np.testing.assert_allclose(s["csi"], [1 / 3, 1 / 2])
  np.testing.assert_allclose(s["pod"], [1 / 2, 1 / 2])
  np.testing.assert_allclose(s["far"], [1 / 2, 0.0])
  hss1 = 2 * (2 * 0 - 2 * 2) / ((2 + 2) * (2 + 0) + (2 + 2) * (2 + 0))  # -0.5
  hss2 = 2 * (1 * 4 - 1 * 0) / ((1 + 1) * (1 + 4) + (1 + 0) * (0 + 4))
  np.testing.assert_allclose(s["hss"], [hss1, hss2], rtol=1e-6)
  dry = metrics.skill_scores({k: jnp.zeros(1) for k in want} |
                             {"correct_negatives": jnp.ones(1)})
  assert np.isnan(dry["csi"][0]) and np.isnan(dry["far"][0])


def test_latitude_weighted_errors_by_hand():
  lats = np.array([-60.0, 0.0, 60.0])
  w = np.asarray(metrics.latitude_weights(lats))
  np.testing.assert_allclose(w, np.array([0.5, 1.0, 0.5]) / (2 / 3), rtol=1e-6)
  target = np.zeros((1, 1, 3, 2, 1))
  pred = np.zeros((1, 1, 3, 2, 1))
  pred[0, 0, 0, :, 0] = 2.0   # an error of 2 K on the 60S row only
  mse = float(metrics.weighted_mse_per_frame(jnp.asarray(pred), jnp.asarray(target),
                                             jnp.asarray(w))[0, 0])
  # mean over 6 cells of w * e^2 = (0.75 * 4 * 2) / 6 = 1
  assert mse == pytest.approx(1.0, rel=1e-6)
  mae = float(metrics.weighted_mae_per_frame(jnp.asarray(pred), jnp.asarray(target),
                                             jnp.asarray(w))[0, 0])
  assert mae == pytest.approx(0.75 * 2 * 2 / 6, rel=1e-6)
