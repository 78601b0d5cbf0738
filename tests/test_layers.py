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


def test_the_two_dimensional_matmul_forms_change_no_value():
  """layers.Linear, layers.on_rows and cpu_conv.matmul_last only reshape (a
  speed fix for XLA CPU): their values and gradients equal the N-D forms'."""
  from stjax.ops import cpu_conv
  x = jax.random.normal(jax.random.key(0), (2, 3, 5, 6))
  ours = layers.linear(6, 4, rngs=nnx.Rngs(1))
  plain = nnx.Linear(6, 4, rngs=nnx.Rngs(1))
  nnx.update(plain, nnx.state(ours))
  np.testing.assert_allclose(ours(x), plain(x), rtol=1e-6, atol=1e-6)
  w = jax.random.normal(jax.random.key(2), (6, 7))
  np.testing.assert_allclose(cpu_conv.matmul_last(x, w), x @ w, rtol=1e-6, atol=1e-6)
  mlp = lambda r: jnp.tanh(r @ w) @ w.T
  np.testing.assert_allclose(layers.on_rows(mlp, x), mlp(x), rtol=1e-6, atol=1e-6)
  grad = lambda f: jax.grad(lambda w_: jnp.sum(f(lambda r: jnp.tanh(r @ w_) ** 2, x)))(w)
  np.testing.assert_allclose(grad(layers.on_rows), grad(lambda f, a: f(a)),
                             rtol=1e-5, atol=1e-6)
  # A mask drawn inside on_rows has the N-D draw's numbers (JAX draws flat).
  key = jax.random.key(3)
  rows = layers.on_rows(lambda r: jax.random.bernoulli(key, 0.5, r.shape), x)
  np.testing.assert_array_equal(rows, jax.random.bernoulli(key, 0.5, x.shape))
