import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from stjax import layers


def _reference_conv(x, w, stride, pad, dilation, groups):
  return jax.lax.conv_general_dilated(
      x, w, (stride, stride), ((pad, pad), (pad, pad)),
      rhs_dilation=(dilation, dilation),
      dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=groups)


@pytest.mark.parametrize("cin,cout,k,stride,dilation,groups", [
    (6, 6, 5, 1, 1, 6),    # depthwise -> shifted sums on CPU
    (6, 6, 7, 1, 3, 6),    # dilated depthwise (the attention's 7x7, dil. 3)
    (8, 12, 3, 1, 1, 4),   # grouped -> block-diagonal dense on CPU
    (5, 7, 1, 1, 1, 1),    # 1x1 -> matmul
    (5, 7, 3, 2, 1, 1),    # strided
    (5, 7, 5, 1, 1, 1),    # dense stride 1 -> the written gradient on CPU
])
def test_conv_lowerings_equal_the_plain_grouped_convolution(
    cin, cout, k, stride, dilation, groups):
  conv = layers.Conv(cin, cout, k, stride=stride, dilation=dilation,
                     groups=groups, padding=None if stride == 1 else 1,
                     rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.key(1), (2, 11, 13, cin))
  ref = _reference_conv(x, conv.kernel[...], stride, conv.padding, dilation,
                        groups) + conv.bias[...]
  np.testing.assert_allclose(conv(x), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cin,cout,k,stride,dilation,groups,batch", [
    (6, 6, 5, 1, 1, 6, 2),    # depthwise: its gradient is written by hand
    (6, 6, 7, 1, 3, 6, 2),    # dilated depthwise
    (6, 6, 3, 1, 1, 6, 2),
    (8, 12, 3, 1, 1, 4, 2),
    (5, 7, 1, 1, 1, 1, 2),    # 1x1: a matmul with a written kernel gradient
    (5, 7, 3, 2, 1, 1, 2),
    (5, 7, 5, 1, 1, 1, 2),    # dense: the kernel gradient as a convolution
    (5, 7, 3, 1, 1, 1, 120),  # ... and as a matmul per tap (>= 16384 pixels)
])
def test_conv_lowerings_have_the_plain_convolutions_gradients(
    cin, cout, k, stride, dilation, groups, batch):
  conv = layers.Conv(cin, cout, k, stride=stride, dilation=dilation,
                     groups=groups, padding=None if stride == 1 else 1,
                     rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.key(1), (batch, 11, 13, cin))
  probe = jax.random.normal(jax.random.key(2), conv(x).shape)

  def loss(x, w, lowered):
    y = conv.apply(x, w, None) if lowered else _reference_conv(
        x, w, stride, conv.padding, dilation, groups)
    return jnp.sum(jnp.sin(y) * probe)

  w = conv.kernel[...]
  got = jax.grad(loss, argnums=(0, 1))(x, w, True)
  want = jax.grad(loss, argnums=(0, 1))(x, w, False)
  for g, r in zip(got, want):
    np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4)


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
  assert np.abs(trunc).max() <= 0.04 + 1e-6 and abs(trunc.std() - 0.0176) < 0.002
  fan_out = layers.Conv(256, 256, 3, groups=256, rngs=rngs, init="fan_out")
  assert abs(np.asarray(fan_out.kernel[...]).std() - np.sqrt(2 / 9)) < 0.05
  assert not np.asarray(fan_out.bias[...]).any()


def test_plain_convolutions_count_grouped_flops_without_the_cpu_rewrite():
  conv = layers.Conv(64, 64, 3, groups=8, rngs=nnx.Rngs(0))
  x = jnp.ones((1, 8, 8, 64))
  def flops():
    cost = jax.jit(lambda x: conv(x)).lower(x).compile().cost_analysis()
    return (cost[0] if isinstance(cost, (list, tuple)) else cost)["flops"]
  rewritten = flops()
  layers.set_cpu_lowering(conv, False)
  plain = flops()
  # 2 FLOPs per in-bounds tap (22 of the 24 taps per axis on 8 pixels with
  # padding 1) per output channel per C_in / groups, plus the bias adds.
  assert plain == 2 * 64 * 8 * 22 * 22 + 8 * 8 * 64
  assert rewritten > 4 * plain
  np.testing.assert_allclose(conv(x), jax.jit(lambda x: conv(x))(x), rtol=1e-6)
