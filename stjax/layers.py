"""Small building blocks shared by the models (NHWC throughout).

Padding is given explicitly, the way the reference PyTorch code pads, so that a
stride-2 convolution lands on the same pixels as OpenSTL's and imported weights
reproduce its outputs exactly.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from stjax.ops import cpu_conv


INITS = ("torch", "trunc_normal", "fan_out", "ghu")


def cpu_lowering_default() -> bool:
  """Whether convolutions take the CPU lowerings (stjax.ops.cpu_conv): chosen
  once, when a model is built, from the backend it will run on."""
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


def _normal(std, truncated=False, bound=None):
  """N(0, std); `truncated`: as flax's truncated_normal, std times a standard
  normal cut at +-2; `bound`: as timm's trunc_normal_(std=std), cut at
  +-bound in absolute value (out-of-range draws redrawn)."""
  limit = bound / std if bound is not None else (2.0 if truncated else None)

  def sample(rng, shape):
    z = rng.standard_normal(shape)
    while limit is not None and np.any(bad := np.abs(z) > limit):
      z[bad] = rng.standard_normal(int(bad.sum()))
    return z * std
  return _host_random(sample)


def timm_trunc_normal(std: float = 0.02):
  """timm's trunc_normal_(w, std): its bounds are +-2 in absolute value, not
  in standard deviations, so at std 0.02 it is a plain N(0, 0.02) (cut at
  100 sigma). The reference's encoder, decoder and transformer blocks are
  drawn with it."""
  return _normal(std, bound=2.0)


def _kernel_init(init: str, fan_in: int, fan_out: int):
  """The reference's initialisations, so training starts where it starts.

  torch: PyTorch's Conv2d default, U(+-1/sqrt(fan_in)) for kernel and bias;
  trunc_normal: timm's trunc_normal_(std=0.02) (SimVP's ConvSC); fan_out: N(0, 2/fan_out) (the
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
    return timm_trunc_normal(0.02), zeros
  if init == "fan_out":
    return _normal(np.sqrt(2.0 / fan_out)), zeros
  raise ValueError(f"Unknown init {init!r}; choose one of {INITS}.")


class Conv(nnx.Module):
  """2-D convolution, NHWC, PyTorch-style symmetric integer padding.

  Parameters are `kernel` (kH, kW, C_in / groups, C_out) and `bias`, like
  nnx.Conv. The arithmetic is stjax.ops.cpu_conv.conv2d's: with
  `cpu_lowering` (default: the backend is the CPU) its CPU forms, whose
  gradients are written for XLA CPU, otherwise the plain convolution. The
  choice is fixed when the model is built (set_cpu_lowering changes it for a
  whole model; forward-mode differentiation needs it off).
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
    y = cpu_conv.conv2d(x, w.astype(x.dtype), stride=self.stride,
                        padding=self.padding, dilation=self.dilation,
                        groups=self.groups, cpu_lowering=self.cpu_lowering)
    if bias is not None:
      y = y + bias.astype(y.dtype)
    return y


class Unused(nnx.Variable):
  """A weight the reference builds but its forward pass never reads. Kept so
  that its checkpoints import and its parameter count is recognisable, but
  not a Param: never trained, as PyTorch's optimizers skip a parameter whose
  gradient is None (with coupled weight decay, a zero gradient would still
  move it)."""


def unused(module: nnx.Module) -> nnx.Module:
  """`module` with each of its Params turned into an Unused variable."""
  for name, value in list(vars(module).items()):
    if isinstance(value, nnx.Param):
      setattr(module, name, Unused(value.get_value()))
  return module


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


def on_rows(fn, x: jax.Array) -> jax.Array:
  """fn of x seen as a (pixels or tokens, channels) matrix, reshaped back: a
  channel MLP as a chain of 2-D matmuls. XLA CPU laid out a 4-D hidden map
  between two dots so that an MLP 160 -> 1280 -> 160 on 8x32x32 ran 1.4x
  slower forward and 2.2x slower differentiated (55 / 283 ms against
  42 / 129 ms). Random masks drawn inside fn are the same numbers: JAX
  draws a shape's bits flat, in row-major order."""
  y = fn(x.reshape(-1, x.shape[-1]))
  return y.reshape(*x.shape[:-1], y.shape[-1])


class Linear(nnx.Linear):
  """nnx.Linear run as one 2-D matmul over all leading axes
  (cpu_conv.matmul_last: XLA CPU's N-D dot and its gradient ran up to 2.2x
  slower). The same parameters, names and arithmetic."""

  def __call__(self, x: jax.Array) -> jax.Array:
    y = super().__call__(x.reshape(-1, x.shape[-1]))
    return y.reshape(*x.shape[:-1], y.shape[-1])


def linear(in_features: int, out_features: int, *, rngs: nnx.Rngs,
           use_bias: bool = True, init: str = "trunc_normal") -> Linear:
  """nnx.Linear initialised as the reference: "trunc_normal" (timm's
  trunc_normal_(std=0.02), zero bias: the transformer blocks' _init_weights)
  or "torch" (PyTorch's default, U(+-1/sqrt(in)) for weight and bias)."""
  if init == "trunc_normal":
    k_init, b_init = timm_trunc_normal(0.02), nnx.initializers.zeros_init()
  elif init == "torch":
    k_init = b_init = _uniform(1.0 / np.sqrt(in_features))
  else:
    raise ValueError(f"Unknown linear init {init!r}; choose trunc_normal or torch.")
  return Linear(in_features, out_features, use_bias=use_bias,
                kernel_init=k_init, bias_init=b_init, rngs=rngs)


def layer_norm(dim: int, epsilon: float = 1e-5, *, rngs: nnx.Rngs) -> nnx.LayerNorm:
  """LayerNorm over the last axis, PyTorch's arithmetic (the variance as the
  mean of squared deviations, not E[x^2] - E[x]^2); eps as the reference
  sets it (1e-5 by default, 1e-6 in ConvNeXt, HorNet and MLP-Mixer)."""
  return nnx.LayerNorm(dim, epsilon=epsilon, use_fast_variance=False, rngs=rngs)


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
