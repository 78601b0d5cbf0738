"""Small building blocks shared by the models (NHWC throughout).

Padding is given explicitly, the way the reference PyTorch code pads, so that a
stride-2 convolution lands on the same pixels as OpenSTL's and imported weights
reproduce its outputs exactly.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx


INITS = ("torch", "trunc_normal", "fan_out", "ghu")


def cpu_lowering_default() -> bool:
  """Whether convolutions take the CPU lowerings (see Conv): chosen once, when
  a model is built, from the backend it will run on."""
  return jax.default_backend() == "cpu"


def set_cpu_lowering(module: nnx.Module, enabled: bool) -> nnx.Module:
  """Sets the lowering of every Conv in `module` (e.g. off, to count FLOPs of
  the plain grouped convolutions: the CPU rewrites multiply zero blocks too).

  The choice is part of the module's graph definition, so it takes effect for
  functions traced after the call and never for ones already compiled."""
  for _, m in nnx.iter_modules(module):
    if isinstance(m, Conv):
      m.cpu_lowering = bool(enabled)
  return module


def _host_random(sample):
  """An initializer that draws with numpy, seeded by the jax key's data.

  XLA CPU compiles every new shape of jax.random anew, 1-3 s each on a small
  machine: building a model with a dozen distinct kernel shapes took 20 s.
  numpy draws the same distribution without compiling. Under a trace (a model
  built inside nnx.jit, e.g. for sharded initialisation) the same numpy draw
  runs as a host callback once the key is known, so the initial weights are a
  function of the seed alone, however the model is built.
  """
  def draw(key_data, shape):
    rng = np.random.default_rng(np.asarray(key_data, np.uint32).ravel().tolist())
    return np.asarray(sample(rng, shape), np.float32)

  def init(key, shape, dtype=jnp.float32):
    shape = tuple(int(d) for d in shape)
    data = jax.random.key_data(key)
    if isinstance(data, jax.core.Tracer):
      out = jax.pure_callback(lambda d: draw(d, shape),
                              jax.ShapeDtypeStruct(shape, jnp.float32), data)
    else:
      out = jnp.asarray(draw(data, shape))
    return out.astype(dtype)
  return init


def _uniform(bound):
  return _host_random(lambda rng, shape: rng.uniform(-bound, bound, shape))


def _normal(std, truncated=False):
  """N(0, std), or as flax's truncated_normal: std times a standard normal
  cut at +-2 (out-of-range draws redrawn)."""
  def sample(rng, shape):
    z = rng.standard_normal(shape)
    while truncated and np.any(bad := np.abs(z) > 2.0):
      z[bad] = rng.standard_normal(int(bad.sum()))
    return z * std
  return _host_random(sample)


def _kernel_init(init: str, fan_in: int, fan_out: int):
  """The reference's initialisations, so training starts where it starts.

  torch: PyTorch's Conv2d default, U(+-1/sqrt(fan_in)) for kernel and bias;
  trunc_normal: std 0.02 (SimVP's ConvSC); fan_out: N(0, 2/fan_out) (the
  gSTA/TAU blocks); ghu: U(+-0.001) (PredRNN++'s highway); all but torch
  with zero bias.
  """
  if init == "torch":
    k = _uniform(1.0 / np.sqrt(fan_in))
    return k, k
  zeros = nnx.initializers.zeros_init()
  if init == "ghu":
    return _uniform(1e-3), zeros
  if init == "trunc_normal":
    return _normal(0.02, truncated=True), zeros
  if init == "fan_out":
    return _normal(np.sqrt(2.0 / fan_out)), zeros
  raise ValueError(f"Unknown init {init!r}; choose one of {INITS}.")


class Conv(nnx.Module):
  """2-D convolution, NHWC, PyTorch-style symmetric integer padding.

  Parameters are `kernel` (kH, kW, C_in / groups, C_out) and `bias`, like
  nnx.Conv. The arithmetic is the same everywhere, the lowering is not:
  on the CPU, XLA's autodiff of convolutions leaves its fast paths, so there
  (measured with `experiments.compare_openstl` and XLA's profiles, jax 0.10.2):
  - a depthwise conv is a sum of shifted products with a written gradient
    (_depthwise_shifted; XLA's grouped convolution ran 10x slower);
  - a grouped conv is a dense conv with a block-diagonal kernel;
  - a dense stride-1 conv has a written gradient of NHWC convolutions and,
    on large maps, per-tap matmuls (_dense_conv; inside lax.scan autodiff's
    gradient convolutions ran 35x slower);
  - a 1x1 conv is a matmul with a written kernel gradient (_pointwise).
  GPUs and TPUs get the plain convolutions (a 1x1 conv is a matmul there
  too). `cpu_lowering` (default: the backend is the CPU) picks the CPU forms;
  it is fixed when the model is built (set_cpu_lowering changes it for a
  whole model).
  """

  def __init__(self, in_ch: int, out_ch: int, kernel: int, *, rngs: nnx.Rngs,
               stride: int = 1, padding: int | None = None, dilation: int = 1,
               groups: int = 1, use_bias: bool = True, init: str = "torch",
               cpu_lowering: bool | None = None):
    if in_ch % groups or out_ch % groups:
      raise ValueError(f"Conv channels {in_ch}->{out_ch} do not divide into "
                       f"{groups} groups.")
    self.stride, self.dilation, self.groups = stride, dilation, groups
    self.cpu_lowering = (cpu_lowering_default() if cpu_lowering is None
                         else bool(cpu_lowering))
    self.padding = kernel // 2 * dilation if padding is None else padding
    k_init, b_init = _kernel_init(init, in_ch // groups * kernel * kernel,
                                  out_ch // groups * kernel * kernel)
    self.kernel = nnx.Param(k_init(rngs.params(),
                                   (kernel, kernel, in_ch // groups, out_ch),
                                   jnp.float32))
    self.bias = nnx.Param(b_init(rngs.params(), (out_ch,), jnp.float32)) if use_bias else None

  def __call__(self, x: jax.Array) -> jax.Array:
    bias = None if self.bias is None else self.bias[...]
    return self.apply(x, self.kernel[...], bias)

  def apply(self, x: jax.Array, w: jax.Array, bias: jax.Array | None) -> jax.Array:
    """This convolution's arithmetic with the given kernel and bias."""
    w = w.astype(x.dtype)
    k, _, cin_g, cout = w.shape
    cpu = self.cpu_lowering
    if k == 1 and self.stride == 1 and self.groups == 1 and self.padding == 0:
      y = _pointwise(x, w[0, 0]) if cpu else x @ w[0, 0]
    elif (cpu and self.groups > 1 and cin_g == 1 and cout == self.groups and self.stride == 1
          and self.padding <= self.dilation * (k - 1)):
      y = _depthwise_shifted(x, w[:, :, 0, :], self.padding, self.dilation)
    elif (cpu and self.groups == 1 and self.stride == 1 and self.dilation == 1
          and self.padding <= k - 1 and w.shape[0] == w.shape[1]):
      y = _dense_conv(x, w, self.padding)
    else:
      groups = self.groups
      if cpu and groups > 1:
        w, groups = _block_diagonal(w, groups), 1
      p = self.padding
      y = jax.lax.conv_general_dilated(
          x, w, (self.stride, self.stride), ((p, p), (p, p)),
          rhs_dilation=(self.dilation, self.dilation),
          dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=groups)
    if bias is not None:
      y = y + bias.astype(y.dtype)
    return y


def conv_sum(convs, inputs) -> jax.Array:
  """sum_i convs[i](inputs[i]) as one convolution of the concatenated inputs
  with the concatenated kernels: one larger matmul instead of several (a
  gate's x- and h-convolutions). The same arithmetic, fewer kernels to launch
  and to compile. The convolutions must share kernel size and padding, with
  no groups or stride."""
  first = convs[0]
  for c in convs:
    if (c.kernel.shape[:2] != first.kernel.shape[:2] or c.padding != first.padding
        or c.stride != 1 or c.groups != 1 or c.dilation != first.dilation):
      raise ValueError("conv_sum needs ungrouped stride-1 convolutions of one "
                       "kernel size and padding.")
  w = jnp.concatenate([c.kernel[...] for c in convs], axis=2)
  biases = [c.bias[...] for c in convs if c.bias is not None]
  return first.apply(jnp.concatenate(inputs, axis=-1), w,
                     sum(biases) if biases else None)


def _shifted_sum(x, w, padding, dilation):
  """Depthwise correlation as a sum of k*k shifted products (one fused loop)."""
  k = w.shape[0]
  h, wd = x.shape[1], x.shape[2]
  out_h, out_w = h + 2 * padding - dilation * (k - 1), wd + 2 * padding - dilation * (k - 1)
  xp = jnp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
  y = None
  for i in range(k):
    for j in range(k):
      term = xp[:, i * dilation:i * dilation + out_h,
                j * dilation:j * dilation + out_w, :] * w[i, j]
      y = term if y is None else y + term
  return y


def _per_tap(x, dy, k, padding, dilation, product):
  """(k, k, ...): product(x_pad shifted by tap (i, j), dy) for every tap, one
  tap per iteration of a scan, accumulated in float32 or wider. The kernel
  gradients of the written convolutions; as k*k products in one program XLA
  CPU fused them into one loop over a transposed layout that ran up to 8x
  slower (depthwise 5x5, C=160 on 8x32x32: 39 ms against 5 ms)."""
  xp = jnp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
  window = (*dy.shape[:3], x.shape[3])
  accumulate = jnp.promote_types(dy.dtype, jnp.float32)

  def tap(_, ij):
    shifted = jax.lax.dynamic_slice(
        xp, (0, ij // k * dilation, ij % k * dilation, 0), window)
    return None, product(shifted, dy, accumulate)

  _, taps = jax.lax.scan(tap, None, jnp.arange(k * k))
  return taps.reshape(k, k, *taps.shape[1:])


def _channel_sums(shifted, dy, accumulate):
  """Depthwise: sum over batch and pixels, per channel."""
  return jnp.sum(shifted * dy, axis=(0, 1, 2), dtype=accumulate)


def _channel_products(shifted, dy, accumulate):
  """Dense: (pixels, ci) transposed times (pixels, co)."""
  return jax.lax.dot_general(
      shifted.reshape(-1, shifted.shape[-1]), dy.reshape(-1, dy.shape[-1]),
      (((0,), (0,)), ((), ())), preferred_element_type=accumulate)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _depthwise_shifted(x, w, padding, dilation):
  """Depthwise stride-1 conv on CPU: shifted products forward, and a written
  gradient (autodiff of the shifted sum ran 10-30x slower than the forward).
  The input gradient is the same correlation of dy with the flipped kernel,
  the kernel gradient one reduction per tap."""
  return _shifted_sum(x, w, padding, dilation)


def _depthwise_forward(x, w, padding, dilation):
  return _shifted_sum(x, w, padding, dilation), (x, w)


def _depthwise_backward(padding, dilation, residuals, dy):
  x, w = residuals
  k = w.shape[0]
  dx = _shifted_sum(dy, w[::-1, ::-1], dilation * (k - 1) - padding, dilation)
  dw = _per_tap(x, dy, k, padding, dilation, _channel_sums)
  return dx.astype(x.dtype), dw.astype(w.dtype)


_depthwise_shifted.defvjp(_depthwise_forward, _depthwise_backward)


_NHWC = ("NHWC", "HWIO", "NHWC")


def _plain_conv(x, w, padding):
  return jax.lax.conv_general_dilated(x, w, (1, 1), ((padding, padding),) * 2,
                                      dimension_numbers=_NHWC)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _dense_conv(x, w, padding):
  """A dense stride-1 conv whose gradient is two more NHWC convolutions.

  Inside lax.scan XLA CPU left autodiff's gradient convolutions in the
  layouts autodiff gives them (e.g. f01b_i01o->01bf), which its fast
  convolution path does not take: a 19-step ConvLSTM-sized scan's gradient ran
  4.45 s against 0.12 s with the transposes written out here (0.10 s fully
  unrolled). It also beat im2col + matmul, the lowering used before.
  """
  return _plain_conv(x, w, padding)


def _dense_conv_forward(x, w, padding):
  return _plain_conv(x, w, padding), (x, w)


def _dense_conv_backward(padding, residuals, dy):
  x, w = residuals
  k = w.shape[0]
  # dx: the correlation of dy with the flipped kernel, in and out swapped.
  dx = _plain_conv(dy, jnp.transpose(w[::-1, ::-1], (0, 1, 3, 2)), k - 1 - padding)
  if dy.size // dy.shape[-1] >= _TAPWISE_MIN_PIXELS:
    dw = _per_tap(x, dy, k, padding, 1, _channel_products)
  else:
    # dw[i, j, ci, co] = sum_{b,h,w} x_pad[b, h+i, w+j, ci] dy[b, h, w, co]: a
    # convolution of x seen as (ci, H, W, b) with dy as an (H, W, b, co) kernel.
    dw = jnp.transpose(_plain_conv(jnp.transpose(x, (3, 1, 2, 0)),
                                   jnp.transpose(dy, (1, 2, 0, 3)), padding),
                       (1, 2, 0, 3))
  return dx.astype(x.dtype), dw.astype(w.dtype)


# From this many output pixels (batch x H x W) on, the kernel gradient is one
# matmul per tap: SimVP's 3x3 64 -> 64 convolution on 40 64x64 frames took
# 151 ms so against 271 ms as a convolution; the recurrent cells' small maps
# (2,048 pixels) ran faster as the convolution (2.4 against 3.7 ms).
_TAPWISE_MIN_PIXELS = 16384


_dense_conv.defvjp(_dense_conv_forward, _dense_conv_backward)


@jax.custom_vjp
def _pointwise(x, w):
  """A 1x1 convolution as a matmul (XLA CPU's convolution path ran 10x
  slower), with the kernel gradient as one dot over all pixels. XLA CPU
  differentiated x @ w by writing dy transposed, channel-major, in the fusion
  that produced it: 50-65 ms per 512 x 1024 map in the gSTA blocks."""
  return x @ w


def _pointwise_forward(x, w):
  return x @ w, (x, w)


def _pointwise_backward(residuals, dy):
  x, w = residuals
  dw = jax.lax.dot_general(x.reshape(-1, x.shape[-1]), dy.reshape(-1, dy.shape[-1]),
                           (((0,), (0,)), ((), ())),
                           preferred_element_type=jnp.promote_types(dy.dtype, jnp.float32))
  return (dy @ w.T).astype(x.dtype), dw.astype(w.dtype)


_pointwise.defvjp(_pointwise_forward, _pointwise_backward)


def _block_diagonal(w, groups):
  """(k, k, C_in/g, C_out) grouped kernel -> dense (k, k, C_in, C_out)."""
  k1, k2, cin_g, cout = w.shape
  cout_g = cout // groups
  w = w.reshape(k1, k2, cin_g, groups, cout_g)
  eye = jnp.eye(groups, dtype=w.dtype)
  full = jnp.einsum("abigo,gh->abgiho", w, eye)
  return full.reshape(k1, k2, groups * cin_g, cout)


def group_norm(channels: int, groups: int, *, rngs: nnx.Rngs) -> nnx.GroupNorm:
  # PyTorch's GroupNorm epsilon, so imported models match.
  return nnx.GroupNorm(channels, num_groups=groups, epsilon=1e-5, rngs=rngs)


class BatchNorm(nnx.Module):
  """PyTorch's BatchNorm2d on NHWC maps (momentum 0.1, eps 1e-5).

  Training normalises with the batch's mean and biased variance over every
  axis but the channels, and updates the running statistics with the mean
  and the *unbiased* variance (times n / (n - 1)), as PyTorch does; flax's
  BatchNorm would update with the biased one. Inference uses the running
  statistics. The variables are named as nnx.BatchNorm's.
  """

  def __init__(self, channels: int, momentum: float = 0.1, epsilon: float = 1e-5):
    self.momentum, self.epsilon = momentum, epsilon
    self.scale = nnx.Param(jnp.ones((channels,), jnp.float32))
    self.bias = nnx.Param(jnp.zeros((channels,), jnp.float32))
    self.mean = nnx.BatchStat(jnp.zeros((channels,), jnp.float32))
    self.var = nnx.BatchStat(jnp.ones((channels,), jnp.float32))

  def __call__(self, x: jax.Array, use_running_average: bool) -> jax.Array:
    xf = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    if use_running_average:
      mean, var = self.mean[...], self.var[...]
    else:
      axes = tuple(range(x.ndim - 1))
      # Both moments in one pass over x, as flax's BatchNorm: measured 4-7%
      # faster than mean((x - mean)^2) for the SimVP-gSTA paper config's
      # train step on CPU. Clamped, since rounding can make it negative.
      mean = jnp.mean(xf, axis=axes)
      var = jnp.maximum(jnp.mean(jnp.square(xf), axis=axes) - jnp.square(mean),
                        0.0)
      n = x.size // x.shape[-1]
      unbiased = jax.lax.stop_gradient(var) * (n / max(n - 1, 1))
      m = self.momentum
      self.mean.set_value((1 - m) * self.mean[...] + m * jax.lax.stop_gradient(mean))
      self.var.set_value((1 - m) * self.var[...] + m * unbiased)
    # The per-channel factor first: one multiply per element, not two.
    factor = self.scale[...] * jax.lax.rsqrt(var + self.epsilon)
    return ((xf - mean) * factor + self.bias[...]).astype(x.dtype)


def batch_norm(channels: int, *, rngs: nnx.Rngs) -> BatchNorm:
  del rngs  # deterministic initialisation
  return BatchNorm(channels)


def pixel_shuffle(x: jax.Array, factor: int) -> jax.Array:
  """NHWC PixelShuffle with PyTorch's channel order (c * r * r + i * r + j)."""
  b, h, w, c = x.shape
  out_c = c // (factor * factor)
  x = x.reshape(b, h, w, out_c, factor, factor)
  x = x.transpose(0, 1, 4, 2, 5, 3)
  return x.reshape(b, h * factor, w * factor, out_c)


def max_pool2(x: jax.Array) -> jax.Array:
  """2x2 max pooling, stride 2 (NHWC; H and W even)."""
  b, h, w, c = x.shape
  return x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def upsample_bilinear2(x: jax.Array) -> jax.Array:
  """x2 bilinear up-sampling as PyTorch's Upsample(scale_factor=2,
  mode='bilinear') (align_corners=False): each output pixel mixes its two
  nearest inputs 3:1, edges repeated. Written as shifted sums rather than
  jax.image.resize, whose general resampling is a matmul per axis."""
  def along(x, axis):
    n = x.shape[axis]
    prev = jnp.concatenate([jax.lax.slice_in_dim(x, 0, 1, axis=axis),
                            jax.lax.slice_in_dim(x, 0, n - 1, axis=axis)], axis)
    nxt = jnp.concatenate([jax.lax.slice_in_dim(x, 1, n, axis=axis),
                           jax.lax.slice_in_dim(x, n - 1, n, axis=axis)], axis)
    even, odd = 0.25 * prev + 0.75 * x, 0.75 * x + 0.25 * nxt
    out = jnp.stack([even, odd], axis=axis + 1)
    return out.reshape(*x.shape[:axis], 2 * n, *x.shape[axis + 1:])
  return along(along(x, 1), 2)


def drop_path(x: jax.Array, rate: float, key: jax.Array | None) -> jax.Array:
  """Stochastic depth: drops the whole residual branch per sample.

  `key` None means evaluation (identity), matching timm's DropPath.
  """
  if key is None or rate <= 0.0:
    return x
  keep = 1.0 - rate
  mask = jax.random.bernoulli(key, keep, (x.shape[0],) + (1,) * (x.ndim - 1))
  return jnp.where(mask, x / keep, 0.0).astype(x.dtype)


def gelu(x: jax.Array) -> jax.Array:
  # The exact (erf) GELU, as torch.nn.GELU() computes it.
  return jax.nn.gelu(x, approximate=False)


def split_key(key: jax.Array | None, n: int) -> list[jax.Array | None]:
  """n keys from one, or n Nones in evaluation mode."""
  if key is None:
    return [None] * n
  return list(jax.random.split(key, n))


def truncated_normal(std: float):
  """flax's truncated_normal(std), drawn on the host (see _host_random)."""
  return _normal(std, truncated=True)
