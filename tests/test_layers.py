import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from stjax import layers


def test_pixel_shuffle_follows_torch_channel_order():
  x = np.arange(1 * 2 * 3 * 8, dtype=np.float32).reshape(1, 2, 3, 8)
  y = np.asarray(layers.pixel_shuffle(jnp.asarray(x), 2))
  assert y.shape == (1, 4, 6, 2)
  for c in range(2):
    for i in range(2):
      for j in range(2):
        np.testing.assert_array_equal(y[0, i::2, j::2, c], x[0, :, :, c * 4 + i * 2 + j])


def test_drop_path_is_identity_in_eval_and_drops_whole_samples_in_training():
  x = jnp.ones((2000, 3, 3, 2))
  np.testing.assert_array_equal(layers.drop_path(x, 0.3, None), x)
  y = np.asarray(layers.drop_path(x, 0.3, jax.random.key(0)))
  per_sample = y.reshape(2000, -1)
  kept = per_sample[:, 0] != 0
  np.testing.assert_allclose(per_sample[kept], 1 / 0.7, rtol=1e-6)
  assert np.all(per_sample.min(1) == per_sample.max(1))
  assert abs((per_sample[:, 0] == 0).mean() - 0.3) < 0.04


def test_initialisations_follow_the_reference():
  rngs = nnx.Rngs(0)
  torch_default = layers.Conv(64, 32, 3, rngs=rngs)
  bound = 1 / np.sqrt(64 * 9)
  k = np.asarray(torch_default.kernel[...])
  assert np.abs(k).max() <= bound and np.abs(k).max() > 0.9 * bound
  trunc = np.asarray(layers.Conv(64, 256, 3, rngs=rngs, init="trunc_normal").kernel[...])
  # timm's trunc_normal_(std=0.02) cuts at +-2 absolute: a plain N(0, 0.02),
  # not one cut at 2 standard deviations (whose std would be 0.0176).
  assert abs(trunc.std() - 0.02) < 3e-4 and 0.06 < np.abs(trunc).max() <= 2.0
  fan_out = layers.Conv(256, 256, 3, groups=256, rngs=rngs, init="fan_out")
  assert abs(np.asarray(fan_out.kernel[...]).std() - np.sqrt(2 / 9)) < 0.05
  assert not np.asarray(fan_out.bias[...]).any()
