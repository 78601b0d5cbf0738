"""MS-LSTM: the MK-LSTM cell, the pyramid's wiring, and the paper's cost claims."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from experiments.configs.mmnist import (mslstm, mslstm_convlstm, mslstm_sms,
                                        mslstm_tms)
from stjax import layers
from stjax.cells import MKLSTMCell
from stjax.train.build import build_run_model
from stjax.models import build_model
from stjax.models.mslstm import MSLSTM
from stjax.models.recurrent import set_scan_unroll

_sig = lambda v: 1 / (1 + np.exp(-v))


def _np_conv(x, conv):
  """'same' stride-1 convolution, NHWC, written out as shifted products."""
  w = np.asarray(conv.kernel[...])
  k = w.shape[0]
  p = k // 2
  xp = np.pad(np.asarray(x), ((0, 0), (p, p), (p, p), (0, 0)))
  h, wd = x.shape[1:3]
  y = sum(xp[:, i:i + h, j:j + wd] @ w[i, j] for i in range(k) for j in range(k))
  return y + np.asarray(conv.bias[...])


def test_mk_lstm_cell_matches_a_numpy_reference():
  cell = MKLSTMCell(2, 3, spatial=(5, 5), kernel_sizes=(1, 3), layer_norm=False,
                    rngs=nnx.Rngs(0))
  keys = jax.random.split(jax.random.key(1), 4)
  x = jax.random.normal(keys[0], (2, 5, 5, 2))
  h, c1, c3 = (jax.random.normal(k, (2, 5, 5, 3)) for k in keys[1:])
  (h_new, (c1_new, c3_new)), out = jax.jit(lambda m, s, x: m(s, x))(
      cell, (h, (c1, c3)), x)
  o_sum, cs = 0.0, []
  for n, c in enumerate((c1, c3)):
    gates = _np_conv(x, cell.conv_x[n].conv) + _np_conv(h, cell.conv_h[n].conv)
    i, f, g, o = np.split(gates, 4, axis=-1)
    c = _sig(f) * np.asarray(c) + _sig(i) * np.tanh(g)
    o_sum = o_sum + o + _np_conv(c, cell.conv_co[n])
    cs.append(c)
  h_ref = _sig(o_sum) * np.tanh(_np_conv(np.concatenate(cs, -1), cell.conv_out))
  for got, want in [(c1_new, cs[0]), (c3_new, cs[1]), (h_new, h_ref), (out, h_ref)]:
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)


def test_pooling_and_upsampling_follow_pytorch():
  x = np.asarray(jax.random.normal(jax.random.key(0), (1, 3, 4, 2)))
  # nn.Upsample(scale_factor=2, mode='bilinear'), align_corners=False:
  # output o reads input (o + 0.5) / 2 - 0.5, clamped to the edge.
  def interp(n):
    src = np.clip((np.arange(2 * n) + 0.5) / 2 - 0.5, 0, n - 1)
    lo = np.floor(src).astype(int)
    hi, t = np.minimum(lo + 1, n - 1), src - lo
    m = np.zeros((2 * n, n))
    m[np.arange(2 * n), lo] += 1 - t
    m[np.arange(2 * n), hi] += t
    return m
  want = np.einsum("oh,bhwc,pw->bopc", interp(3), x, interp(4))
  np.testing.assert_allclose(np.asarray(layers.upsample_bilinear2(jnp.asarray(x))),
                             want, rtol=1e-6, atol=1e-6)
  x4 = np.asarray(jax.random.normal(jax.random.key(1), (2, 4, 6, 3)))
  want = x4.reshape(2, 2, 2, 3, 2, 3).max(axis=(2, 4))
  assert want[0, 1, 2, 0] == x4[0, 2:4, 4:6, 0].max()
  np.testing.assert_array_equal(np.asarray(layers.max_pool2(jnp.asarray(x4))), want)


@pytest.mark.slow
def test_pyramid_wiring_follows_the_paper():
  """Six layers at 1, 1/2, 1/4, 1/4, 1/2, 1: pool after the first two,
  up-sample plus the encoder output of the same scale after the 4th and 5th."""
  model = MSLSTM(in_shape=(2, 8, 8, 1), out_frames=2, num_hidden=(4,) * 6,
                 cell="convlstm", kernel_sizes=(3,), pyramid=True, patch_size=1,
                 rngs=nnx.Rngs(0))
  assert model.scales == (0, 1, 2, 2, 1, 0)
  carry = model.init_carry(2, jnp.float32)
  assert [s[0].shape[1] for s in carry] == [8, 4, 2, 2, 4, 8]
  keys = jax.random.split(jax.random.key(2), 13)
  carry = tuple((jax.random.normal(keys[2 * i], s[0].shape),
                 jax.random.normal(keys[2 * i + 1], s[1].shape))
                for i, s in enumerate(carry))
  frame = jax.random.normal(keys[12], (2, 8, 8, 1))
  step = jax.jit(lambda m, c, f: m.cell_step(c, f, 0))
  new, top, _ = step(model, carry, frame)

  @jax.jit
  def by_hand(model, carry, frame):
    outs, x = [], model.embed(frame)
    for i in range(6):
      _, x = model.cells[i](carry[i], x)
      outs.append(x)
      if i in (0, 1):
        x = layers.max_pool2(x)
      elif i == 3:
        x = layers.upsample_bilinear2(x) + outs[1]
      elif i == 4:
        x = layers.upsample_bilinear2(x) + outs[0]
    return x
  x = by_hand(model, carry, frame)
  np.testing.assert_allclose(np.asarray(top), np.asarray(x), rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(np.asarray(new[5][0]), np.asarray(x), rtol=1e-6, atol=1e-6)
  flat = MSLSTM(in_shape=(2, 8, 8, 1), out_frames=2, num_hidden=(4,) * 6,
                cell="convlstm", kernel_sizes=(3,), pyramid=False, patch_size=1,
                rngs=nnx.Rngs(0))
  _, flat_top, _ = step(flat, carry[:1] * 6, frame)
  assert float(jnp.max(jnp.abs(flat_top - top))) > 1e-3  # the pyramid matters


def _paper_model(module):
  c = module.get_config()
  return build_model(c.model, in_shape=(10, 64, 64, 1), out_frames=10)


def _params(model):
  return sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))


def test_table3_parameters_and_flops():
  """Table 3: ConvLSTM 0.4M and SMS 0.4M parameters, TMS 1.9M and MS 1.9M;
  34.4G and 15.1G FLOPs (multiply-adds) per 10 -> 10 sequence for ConvLSTM
  and SMS-LSTM, counted here by XLA's cost analysis of the unrolled rollout."""
  convlstm, sms, tms, ms = (_paper_model(m) for m in
                            (mslstm_convlstm, mslstm_sms, mslstm_tms, mslstm))
  assert _params(sms) == _params(convlstm)
  assert _params(ms) == _params(tms)
  assert round(_params(convlstm) / 1e6, 1) == 0.4
  assert round(_params(ms) / 1e6, 1) == 1.9

  def gmacs(model):
    counted = set_scan_unroll(layers.set_cpu_lowering(model, False), True)
    lowered = jax.jit(lambda m, x: m(x)).lower(
        counted, jnp.zeros((1, 10, 64, 64, 1)))
    cost = lowered.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return cost["flops"] / 2e9
  full, pyramid = gmacs(convlstm), gmacs(sms)
  assert full == pytest.approx(34.4, rel=0.05)
  assert pyramid == pytest.approx(15.1, rel=0.05)
  assert pyramid < 0.5 * full


def test_bad_ms_configurations_are_clear_errors():
  kw = dict(in_shape=(2, 16, 16, 1), out_frames=2, patch_size=1, rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="model.cell='gru'"):
    MSLSTM(num_hidden=(4,) * 6, cell="gru", **kw)
  with pytest.raises(ValueError, match="one kernel"):
    MSLSTM(num_hidden=(4,) * 6, cell="convlstm", kernel_sizes=(3, 5), **kw)
  with pytest.raises(ValueError, match="several kernels"):
    MSLSTM(num_hidden=(4,) * 6, cell="mklstm", kernel_sizes=(3,), **kw)
  with pytest.raises(ValueError, match="widths must be equal"):
    MSLSTM(num_hidden=(4, 4, 8, 8, 4, 4), **kw)
  with pytest.raises(ValueError, match="divisible by 4"):
    MSLSTM(**{**kw, "in_shape": (2, 18, 18, 1)}, num_hidden=(4,) * 6)
  c = mslstm.get_config()  # the config path: the constructor refuses it
  c.data.image_size, c.model.num_hidden = 36, (32,) * 8
  with pytest.raises(ValueError, match="divisible by 8"):
    build_run_model(c)
  c = mslstm.get_config()
  c.model.cell = "mk_lstm"
  with pytest.raises(ValueError, match="model.cell='mk_lstm'"):
    build_run_model(c)
