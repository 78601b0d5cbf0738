"""The CPU convolution lowerings (stjax.ops.cpu_conv) against the plain
convolution. Every test forces the lowering on (cpu_lowering=True), so an
accelerator host checks the CPU forms too instead of the plain convolution
against itself."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from stjax import errors, layers
from stjax.ops import cpu_conv


def _normal(seed, shape, dtype=np.float32):
  """Test data drawn with numpy: XLA CPU compiles jax.random anew for every
  shape (seconds each on a small machine)."""
  return jnp.asarray(np.random.default_rng(seed).standard_normal(shape), dtype)


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
                     rngs=nnx.Rngs(0), cpu_lowering=True)
  x = _normal(1, (2, 11, 13, cin))
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
                     rngs=nnx.Rngs(0), cpu_lowering=True)
  x = _normal(1, (batch, 11, 13, cin))
  probe = _normal(2, conv(x).shape)

  def loss(x, w, lowered):
    y = conv.apply(x, w, None) if lowered else _reference_conv(
        x, w, stride, conv.padding, dilation, groups)
    return jnp.sum(jnp.sin(y) * probe)

  w = conv.kernel[...]
  got = jax.grad(loss, argnums=(0, 1))(x, w, True)
  want = jax.grad(loss, argnums=(0, 1))(x, w, False)
  for g, r in zip(got, want):
    np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4)


def test_plain_convolutions_count_grouped_flops_without_the_cpu_rewrite():
  conv = layers.Conv(64, 64, 3, groups=8, rngs=nnx.Rngs(0), cpu_lowering=True)
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


# (cin, cout, k, stride, padding, dilation, groups, batch, the form taken)
FORMS = [
    (6, 6, 5, 1, 2, 1, 6, 2, "_depthwise_shifted"),
    (6, 6, 7, 1, 9, 3, 6, 2, "_depthwise_shifted"),
    (8, 12, 3, 1, 1, 1, 4, 2, "_block_diagonal"),
    (5, 7, 1, 1, 0, 1, 1, 2, "_pointwise"),
    (5, 7, 3, 2, 1, 1, 1, 2, "_strided_conv"),       # written gradient
    (4, 6, 5, 2, 2, 1, 1, 2, "_strided_conv"),
    (4, 6, 3, 3, 0, 1, 1, 2, "_strided_conv"),       # stride > kernel / 2
    (5, 7, 5, 1, 2, 1, 1, 2, "_dense_conv"),
    (3, 4, 3, 1, 1, 1, 1, 120, "_dense_conv"),       # per-tap kernel gradient
]
_FORM_NAMES = ("_depthwise_shifted", "_block_diagonal", "_pointwise", "_dense_conv",
               "_strided_conv")


def _case(cin, cout, k, groups, batch, dtype):
  x = _normal(1, (batch, 11, 13, cin))
  w = _normal(3, (k, k, cin // groups, cout)) / np.sqrt(cin // groups * k * k)
  return x.astype(dtype), w.astype(dtype)


@pytest.mark.parametrize("cin,cout,k,stride,padding,dilation,groups,batch,form",
                         FORMS)
def test_conv2d_takes_the_form_its_docstring_lists(
    monkeypatch, cin, cout, k, stride, padding, dilation, groups, batch, form):
  taken = []
  for name in _FORM_NAMES:
    original = getattr(cpu_conv, name)
    monkeypatch.setattr(cpu_conv, name, lambda *a, _n=name, _f=original:
                        taken.append(_n) or _f(*a))
  shapes = [jax.ShapeDtypeStruct(s, jnp.float32) for s in
            ((batch, 11, 13, cin), (k, k, cin // groups, cout))]
  conv = lambda cpu: lambda x, w: cpu_conv.conv2d(
      x, w, stride=stride, padding=padding, dilation=dilation, groups=groups,
      cpu_lowering=cpu)
  jax.eval_shape(conv(True), *shapes)
  assert taken == ([form] if form else [])
  jax.eval_shape(conv(False), *shapes)
  assert taken == ([form] if form else [])  # nothing more without the lowering


def _lowered_and_plain(x, w, probe, stride, padding, dilation, groups,
                       reference_dtype):
  """(y, dy/dx, dy/dw) of the lowered conv in x's dtype, and of the plain
  convolution of the same values in reference_dtype."""
  def loss(conv, x, w):
    y = conv(x, w)
    return jnp.sum(jnp.sin(y) * probe.astype(y.dtype)), y

  lowered = lambda x, w: cpu_conv.conv2d(
      x, w, stride=stride, padding=padding, dilation=dilation, groups=groups,
      cpu_lowering=True)
  plain = lambda x, w: _reference_conv(x, w, stride, padding, dilation, groups)
  run = lambda conv, x, w: jax.jit(jax.grad(
      lambda x, w: loss(conv, x, w), argnums=(0, 1), has_aux=True))(x, w)
  (gx, gw), y = run(lowered, x, w)
  (rx, rw), ry = run(plain, x.astype(reference_dtype), w.astype(reference_dtype))
  return (y, gx, gw), (ry, rx, rw)


def _assert_close(got, want, rtol):
  got = np.asarray(got, np.float64)
  want = np.asarray(want, np.float64)
  # Relative to the array's scale: entries near zero carry the rounding of
  # their terms, not of themselves.
  np.testing.assert_allclose(got, want, rtol=rtol,
                             atol=rtol * float(np.abs(want).max()))


# (dtype, the plain convolution's dtype, tolerance relative to the scale)
PRECISIONS = {"bfloat16": (jnp.bfloat16, jnp.float32, 2e-2),
              "float64": (jnp.float64, jnp.float64, 1e-10)}


@pytest.mark.parametrize("precision", sorted(PRECISIONS))
@pytest.mark.parametrize("cin,cout,k,stride,padding,dilation,groups,batch,form",
                         FORMS)
def test_conv_lowerings_in_bfloat16_and_float64_match_the_plain_convolution(
    cin, cout, k, stride, padding, dilation, groups, batch, form, precision):
  """bfloat16 against the float32 plain convolution; float64 against the
  float64 one, with inputs float32 cannot hold, so a float32 accumulation
  would show."""
  del form
  dtype, reference_dtype, rtol = PRECISIONS[precision]
  with jax.enable_x64(dtype == jnp.float64):
    x, w = _case(cin, cout, k, groups, batch, dtype)
    if dtype == jnp.float64:
      x = x + 1e-9 * _normal(4, x.shape, jnp.float64)
    out = jax.eval_shape(lambda x, w: _reference_conv(
        x, w, stride, padding, dilation, groups), x, w).shape
    probe = _normal(2, out, reference_dtype)
    got, want = _lowered_and_plain(x, w, probe, stride, padding, dilation,
                                   groups, reference_dtype)
    for g, r in zip(got, want):
      assert g.dtype == dtype
      _assert_close(g, r, rtol)


# The forms with written gradients (jax.custom_vjp): forward mode is refused.
WRITTEN = [(cin, cout, k, stride, padding, dilation, groups)
           for cin, cout, k, stride, padding, dilation, groups, batch, form
           in FORMS if form in ("_depthwise_shifted", "_pointwise", "_dense_conv",
                                   "_strided_conv")
           and batch < 100]


@pytest.mark.parametrize("cin,cout,k,stride,padding,dilation,groups", WRITTEN)
def test_forward_mode_through_a_written_gradient_says_to_turn_the_lowering_off(
    cin, cout, k, stride, padding, dilation, groups):
  conv = layers.Conv(cin, cout, k, stride=stride, padding=padding,
                     dilation=dilation, groups=groups, rngs=nnx.Rngs(0),
                     cpu_lowering=True)
  x = _normal(1, (1, 5, 6, cin))
  for forward_mode in (lambda: jax.jvp(conv, (x,), (x,)),
                       lambda: jax.jacfwd(conv)(x)):
    with pytest.raises(errors.ConfigError) as refused:
      forward_mode()
    assert str(refused.value) == cpu_conv.FORWARD_MODE_MESSAGE
    assert "\n" not in str(refused.value)
    assert "set_cpu_lowering(model, False)" in str(refused.value)
  # Under jit the tangents are staged, and JAX itself refuses when it lowers
  # them (the module docstring says so).
  with pytest.raises(TypeError, match="forward-mode"):
    jax.jit(lambda x: jax.jvp(conv, (x,), (x,)))(x)
  # Reverse mode is unaffected.
  assert np.isfinite(np.asarray(jax.grad(lambda x: conv(x).sum())(x))).all()


@pytest.mark.parametrize("cin,cout,k,stride,padding,dilation,groups,batch,form",
                         FORMS[:-1])
def test_forward_mode_matches_the_plain_convolution_with_the_lowering_off(
    cin, cout, k, stride, padding, dilation, groups, batch, form):
  conv = layers.Conv(cin, cout, k, stride=stride, padding=padding,
                     dilation=dilation, groups=groups, rngs=nnx.Rngs(0),
                     cpu_lowering=True)
  if form in ("_depthwise_shifted", "_pointwise", "_dense_conv", "_strided_conv"):
    layers.set_cpu_lowering(conv, False)  # as the error says
  # else the CPU form (block-diagonal) has no written gradient
  x = _normal(1, (batch, 11, 13, cin))
  t = _normal(5, x.shape)
  w, b = conv.kernel[...], conv.bias[...]
  plain = lambda x: jnp.tanh(
      _reference_conv(x, w, stride, padding, dilation, groups) + b)
  y, ty = jax.jit(lambda x, t: jax.jvp(lambda x: jnp.tanh(conv(x)), (x,), (t,)))(x, t)
  ry, rty = jax.jvp(plain, (x,), (t,))
  np.testing.assert_allclose(y, ry, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(ty, rty, rtol=1e-5, atol=1e-5)


def _transpose_by_definition(x, w, stride, padding, output_padding):
  """PyTorch's ConvTranspose2d from its definition, in numpy: tap (i, j) of
  input pixel (a, b) adds x[a, b] @ w[i, j] at (a s - p + i, b s - p + j)."""
  x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
  n, h, wd, _ = x.shape
  k = w.shape[0]
  oh, ow = [(d - 1) * stride - 2 * padding + k + output_padding for d in (h, wd)]
  out = np.zeros((n, oh, ow, w.shape[3]))
  for a in range(h):
    for b in range(wd):
      for i in range(k):
        for j in range(k):
          r, c = a * stride - padding + i, b * stride - padding + j
          if 0 <= r < oh and 0 <= c < ow:
            out[:, r, c] += x[:, a, b] @ w[i, j]
  return out


# (k, stride, padding, output_padding): MAU's decoder, then other shapes.
TRANSPOSES = [(3, 2, 1, 1), (5, 2, 2, 1), (4, 4, 0, 0), (3, 3, 1, 2), (1, 2, 0, 1),
              (3, 1, 1, 0)]


@pytest.mark.parametrize("k,stride,padding,output_padding", TRANSPOSES)
@pytest.mark.parametrize("cpu_lowering", [True, False])
def test_conv_transpose_is_pytorchs_by_definition(k, stride, padding, output_padding,
                                                 cpu_lowering):
  x = _normal(1, (2, 4, 5, 3))
  w = _normal(3, (k, k, 3, 4))
  got = cpu_conv.conv_transpose2d(x, w, stride=stride, padding=padding,
                                  output_padding=output_padding,
                                  cpu_lowering=cpu_lowering)
  np.testing.assert_allclose(got, _transpose_by_definition(
      x, w, stride, padding, output_padding), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("precision", sorted(PRECISIONS))
@pytest.mark.parametrize("k,stride,padding,output_padding", TRANSPOSES[:4])
def test_conv_transpose_lowering_has_the_plain_gradients(k, stride, padding,
                                                         output_padding, precision):
  """The CPU form (matmul + scatter of the taps) forced on, against XLA's
  convolution of the dilated input: values and both gradients."""
  dtype, reference_dtype, rtol = PRECISIONS[precision]
  with jax.enable_x64(dtype == jnp.float64):
    x = _normal(1, (2, 5, 6, 3), dtype)
    w = (_normal(3, (k, k, 3, 4)) / k).astype(dtype)
    conv = lambda lowered: lambda x, w: cpu_conv.conv_transpose2d(
        x, w, stride=stride, padding=padding, output_padding=output_padding,
        cpu_lowering=lowered)
    probe = _normal(2, jax.eval_shape(conv(False), x, w).shape, reference_dtype)
    def run(lowered, x, w):
      def loss(x, w):
        y = conv(lowered)(x, w)
        return jnp.sum(jnp.sin(y) * probe.astype(y.dtype)), y
      return jax.jit(jax.grad(loss, argnums=(0, 1), has_aux=True))(x, w)
    (gx, gw), y = run(True, x, w)
    (rx, rw), ry = run(False, x.astype(reference_dtype), w.astype(reference_dtype))
    for g, r in zip((y, gx, gw), (ry, rx, rw)):
      assert g.dtype == dtype
      _assert_close(g, r, rtol)
