"""The 2-D convolution on the CPU, in forms with written gradients.

The arithmetic is the same everywhere, the lowering is not: on the CPU, XLA's
autodiff of convolutions leaves its fast paths, so there (measured with
`experiments.compare_openstl` and XLA's profiles, jax 0.10.2):
- a depthwise conv is a sum of shifted products with a written gradient
  (_depthwise_shifted; XLA's grouped convolution ran 10x slower);
- a grouped conv is a dense conv with a block-diagonal kernel;
- a dense stride-1 conv has a written gradient of NHWC convolutions and,
  on large maps, per-tap matmuls (_dense_conv; inside lax.scan autodiff's
  gradient convolutions ran 35x slower);
- a 1x1 conv is a 2-D matmul with a written kernel gradient (_pointwise);
- a strided conv keeps XLA's forward but has a written gradient
  (_strided_conv): autodiff's input gradient, a convolution of the dilated
  output gradient, ran 7x slower than the forward;
- a transposed conv (conv_transpose2d) is one matmul to every tap's
  contribution, scattered onto the output by pads and sums (_scatter_taps):
  XLA's convolution of the zero-dilated input ran 3x slower forward, 4x
  differentiated.
GPUs and TPUs get the plain convolutions (a 1x1 conv is a matmul there
too). `conv2d` is the one entry point: it picks the form, or with
`cpu_lowering=False` the plain convolution (stjax.layers.Conv passes its
`cpu_lowering` attribute, by default whether the backend is the CPU).

The written gradients are jax.custom_vjp functions: reverse mode (jax.grad,
jax.vjp) takes them, forward mode (jax.jvp, jax.jacfwd, jax.linearize) cannot.
Where the failure shows while conv2d runs (forward mode applied outside any
jit), conv2d raises stjax.errors.ConfigError saying to turn the lowering off;
under jit, or through an already traced function (a jitted one, lax.scan),
JAX fails later, when it lowers or evaluates the tangents, with its own
TypeError ("can't apply forward-mode autodiff (jvp) to a custom_vjp
function."). The remedy is the same: stjax.layers.set_cpu_lowering(model,
False), or Conv(..., cpu_lowering=False), gives convolutions that forward
mode differentiates.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from stjax.errors import ConfigError


__all__ = ["conv2d", "conv_transpose2d", "matmul_last", "FORWARD_MODE_MESSAGE"]


FORWARD_MODE_MESSAGE = (
    "forward-mode differentiation (jax.jvp, jax.jacfwd) does not pass the CPU "
    "convolution lowering's written gradients (jax.custom_vjp, reverse mode "
    "only); turn it off first with stjax.layers.set_cpu_lowering(model, False) "
    "or build the Conv with cpu_lowering=False.")


def conv2d(x: jax.Array, w: jax.Array, *, stride: int = 1, padding: int = 0,
           dilation: int = 1, groups: int = 1, cpu_lowering: bool) -> jax.Array:
  """A 2-D convolution, NHWC input, HWIO kernel (kH, kW, C_in / groups,
  C_out), PyTorch-style symmetric integer padding, no bias.

  With `cpu_lowering` the CPU forms of this module (see its docstring);
  without, the plain jax.lax.conv_general_dilated (a 1x1 conv is x @ w[0, 0]
  either way). The kernel must already have x's dtype. Raises ConfigError
  when forward-mode differentiation reaches a written gradient.
  """
  k, _, cin_g, cout = w.shape
  cpu = cpu_lowering
  if k == 1 and stride == 1 and groups == 1 and padding == 0:
    return _written(_pointwise, x, w[0, 0]) if cpu else matmul_last(x, w[0, 0])
  if (cpu and groups > 1 and cin_g == 1 and cout == groups and stride == 1
      and padding <= dilation * (k - 1)):
    return _written(_depthwise_shifted, x, w[:, :, 0, :], padding, dilation)
  if (cpu and groups == 1 and stride == 1 and dilation == 1
      and padding <= k - 1 and w.shape[0] == w.shape[1]):
    return _written(_dense_conv, x, w, padding)
  if (cpu and groups == 1 and stride > 1 and dilation == 1
      and padding <= k - 1 and w.shape[0] == w.shape[1]):
    return _written(_strided_conv, x, w, stride, padding)
  if cpu and groups > 1:
    w, groups = _block_diagonal(w, groups), 1
  return jax.lax.conv_general_dilated(
      x, w, (stride, stride), ((padding, padding), (padding, padding)),
      rhs_dilation=(dilation, dilation), dimension_numbers=_NHWC,
      feature_group_count=groups)


def conv_transpose2d(x: jax.Array, w: jax.Array, *, stride: int, padding: int,
                     output_padding: int = 0, cpu_lowering: bool) -> jax.Array:
  """PyTorch's ConvTranspose2d without bias: NHWC input, kernel (kH, kW,
  C_in, C_out), tap (i, j) of input pixel (a, b) landing on output pixel
  (a * stride - padding + i, b * stride - padding + j); output size (H - 1)
  * stride - 2 * padding + k + output_padding. With `cpu_lowering` one
  matmul and the taps' scatter (_scatter_taps, plain autodiff), else XLA's
  convolution of the zero-dilated input with the flipped kernel."""
  b, h, wd, ci = x.shape
  k, _, _, co = w.shape
  out_hw = ((h - 1) * stride - 2 * padding + k + output_padding,
            (wd - 1) * stride - 2 * padding + k + output_padding)
  if not cpu_lowering:
    lo = k - 1 - padding
    return jax.lax.conv_general_dilated(
        x, w[::-1, ::-1], (1, 1), ((lo, lo + output_padding),) * 2,
        lhs_dilation=(stride, stride), dimension_numbers=_NHWC)
  taps = matmul_last(x, jnp.transpose(w, (2, 0, 1, 3)).reshape(ci, k * k * co))
  return _scatter_taps(taps.reshape(b, h, wd, k, k, co), stride, padding, out_hw)


def _scatter_taps(y, stride, padding, out_hw):
  """y (B, H, W, k, k, C), tap (i, j)'s contribution of each input pixel ->
  (B, *out_hw, C): the sum over taps, tap (i, j) of pixel (a, b) at output
  (a * stride - padding + i, b * stride - padding + j). Output pixels of one
  phase (position mod stride) take taps of one phase, each shifted by a
  pad, so the scatter is pads, sums and one interleave."""
  b, h, w, k, _, c = y.shape
  s = stride
  qh, qw = h - 1 + -(-k // s), w - 1 + -(-k // s)  # output rows per phase
  phases = []
  for rh in range(s):
    row = []
    for rw in range(s):
      acc = jnp.zeros((b, qh, qw, c), y.dtype)
      for i in range(rh, k, s):
        for j in range(rw, k, s):
          acc = acc + jnp.pad(y[:, :, :, i, j], (
              (0, 0), (i // s, qh - h - i // s), (j // s, qw - w - j // s), (0, 0)))
      row.append(acc)
    phases.append(jnp.stack(row, 3))
  canvas = jnp.stack(phases, 2).reshape(b, qh * s, qw * s, c)
  oh, ow = out_hw
  canvas = jnp.pad(canvas, ((0, 0), (0, max(0, padding + oh - qh * s)),
                            (0, max(0, padding + ow - qw * s)), (0, 0)))
  return canvas[:, padding:padding + oh, padding:padding + ow]


def _written(form, *args):
  """form(*args), a custom_vjp; JAX's TypeError for forward mode (raised here
  when the tangents are concrete or batched: jax.jvp or jax.jacfwd outside a
  jit) becomes a ConfigError that says what to do. Nothing is added to the
  traced program, so reverse mode is unchanged."""
  try:
    return form(*args)
  except TypeError as e:
    if "forward-mode" not in str(e):
      raise
    raise ConfigError(FORWARD_MODE_MESSAGE) from None


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


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _strided_conv(x, w, stride, padding):
  """A dense strided conv: XLA's forward; the input gradient as the
  transposed conv of dy (one matmul, _scatter_taps), the kernel gradient
  one matmul per tap over the strided slices of x. SimVP's and MAU's
  stride-2 3x3 convs (32 channels, 152 frames of 64 x 64): 461 ms
  differentiated by autodiff, 252 ms so."""
  return jax.lax.conv_general_dilated(x, w, (stride, stride), ((padding, padding),) * 2,
                                      dimension_numbers=_NHWC)


def _strided_conv_forward(x, w, stride, padding):
  return _strided_conv(x, w, stride, padding), (x, w)


def _strided_conv_backward(stride, padding, residuals, dy):
  x, w = residuals
  k, _, ci, co = w.shape
  b, h, wd, _ = x.shape
  ho, wo = dy.shape[1:3]
  taps = matmul_last(dy, jnp.transpose(w, (3, 0, 1, 2)).reshape(co, k * k * ci))
  dx = _scatter_taps(taps.reshape(b, ho, wo, k, k, ci), stride, padding, (h, wd))
  xp = jnp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
  accumulate = jnp.promote_types(dy.dtype, jnp.float32)
  dy2 = dy.reshape(-1, co)
  dw = jnp.stack([
      jax.lax.dot_general(
          jax.lax.slice(xp, (0, i, j, 0), (b, i + (ho - 1) * stride + 1,
                                           j + (wo - 1) * stride + 1, ci),
                        (1, stride, stride, 1)).reshape(-1, ci), dy2,
          (((0,), (0,)), ((), ())), preferred_element_type=accumulate)
      for i in range(k) for j in range(k)]).reshape(k, k, ci, co)
  return dx.astype(x.dtype), dw.astype(w.dtype)


_strided_conv.defvjp(_strided_conv_forward, _strided_conv_backward)


def matmul_last(x: jax.Array, w: jax.Array) -> jax.Array:
  """x @ w over x's last axis, as one 2-D matmul (pixels x channels). XLA
  CPU ran the same dot on a 4-D x 1.3x slower forward and 2.2x slower
  differentiated (8x32x32x160 -> 1280 -> 160 with GELU: 55 / 283 ms against
  42 / 129 ms); on GPUs and TPUs the reshapes are free."""
  return (x.reshape(-1, x.shape[-1]) @ w).reshape(*x.shape[:-1], w.shape[-1])


@jax.custom_vjp
def _pointwise(x, w):
  """A 1x1 convolution as a matmul (XLA CPU's convolution path ran 10x
  slower), with the kernel gradient as one dot over all pixels. XLA CPU
  differentiated x @ w by writing dy transposed, channel-major, in the fusion
  that produced it: 50-65 ms per 512 x 1024 map in the gSTA blocks."""
  return matmul_last(x, w)


def _pointwise_forward(x, w):
  return matmul_last(x, w), (x, w)


def _pointwise_backward(residuals, dy):
  x, w = residuals
  dw = jax.lax.dot_general(x.reshape(-1, x.shape[-1]), dy.reshape(-1, dy.shape[-1]),
                           (((0,), (0,)), ((), ())),
                           preferred_element_type=jnp.promote_types(dy.dtype, jnp.float32))
  return matmul_last(dy, w.T).astype(x.dtype), dw.astype(w.dtype)


_pointwise.defvjp(_pointwise_forward, _pointwise_backward)


def _block_diagonal(w, groups):
  """(k, k, C_in/g, C_out) grouped kernel -> dense (k, k, C_in, C_out)."""
  k1, k2, cin_g, cout = w.shape
  cout_g = cout // groups
  w = w.reshape(k1, k2, cin_g, groups, cout_g)
  eye = jnp.eye(groups, dtype=w.dtype)
  full = jnp.einsum("abigo,gh->abgiho", w, eye)
  return full.reshape(k1, k2, groups * cin_g, cout)
