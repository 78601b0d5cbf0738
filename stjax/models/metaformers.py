"""OpenSTL's other SimVP translator blocks: ConvMixer, ConvNeXt, HorNet,
MLP-Mixer, MogaNet, PoolFormer, Swin, Uniformer, VAN and ViT.

OpenSTL (c74deb5, openstl/modules/simvp_modules.py) lets SimVP's translator
be a stack of any of these MetaFormer blocks; this module is each of them as
OpenSTL builds it, on NHWC maps (B, H', W', T*C_hid). The timm blocks it
subclasses (ConvNeXtBlock, MixerBlock, SwinTransformerBlock, the ViT Block)
are written here as timm 0.6.13 defines them, the version OpenSTL's code was
written against (shared/fixtures/openstl/README.md). Quirks kept:

- Swin: OpenSTL's forward calls the window attention with `mask=None`, so
  its shifted windows attend across the wrapped-around borders; timm's
  attention mask is built but never used. `swin_shift_mask=True` applies it
  (the Swin paper's SW-MSA) instead.
- ViT and Swin keep timm's blocks but not their LayerScale (OpenSTL passes
  none); ConvNeXt's gamma starts at 1e-6, HorNet's at 1e-6, PoolFormer's and
  MogaNet's at 1e-5, VAN's at 1e-2, Uniformer's attention block's at 1e-6.
- Uniformer: a convolution block where the width changes or at the first
  layer, an attention block elsewhere.
- Initialisation per block as each block's `_init_weights` does it: fan-out
  normal convolutions, timm trunc_normal(0.02) linears, unit norms; what a
  block's `_init_weights` does not touch keeps PyTorch's default.

Dropout (`drop`) is 0 in every OpenSTL config and is left out; drop path is
each block's, per sample, in training only.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from stjax import layers

BLOCKS = ("convmixer", "convnext", "hornet", "mlpmixer", "moganet",
          "poolformer", "swin", "uniformer", "van", "vit")
# OpenSTL's model_type spellings that name the same block.
ALIASES = {"mlp": "mlpmixer", "moga": "moganet"}
HEADS = 8  # every attention block OpenSTL builds has 8 heads


def _residual(x, branch, rate, key):
  return x + layers.drop_path(branch, rate, key)


def _tokens(x):
  """(B, H, W, C) -> (B, H*W, C), row-major as PyTorch's flatten(2)."""
  b, h, w, c = x.shape
  return x.reshape(b, h * w, c)


class Mlp(nnx.Module):
  """timm's Mlp: Linear -> GELU -> Linear."""

  def __init__(self, dim, hidden, out=None, *, rngs):
    self.fc1 = layers.linear(dim, hidden, rngs=rngs)
    self.fc2 = layers.linear(hidden, out or dim, rngs=rngs)

  def __call__(self, x):
    return layers.on_rows(lambda r: self.fc2(layers.gelu(self.fc1(r))), x)


class ConvMlp(nnx.Module):
  """1x1 conv -> GELU -> 1x1 conv (ConvNeXt's conv_mlp, Uniformer's CMlp,
  PoolFormer's Mlp)."""

  def __init__(self, dim, hidden, *, init, rngs):
    self.fc1 = layers.Conv(dim, hidden, 1, rngs=rngs, init=init)
    self.fc2 = layers.Conv(hidden, dim, 1, rngs=rngs, init=init)

  def __call__(self, x):  # 1x1 convs: matmuls over the pixels
    return layers.on_rows(lambda r: self.fc2(layers.gelu(self.fc1(r))), x)


def dot_product_attention(q, k, v, bias=None):
  """softmax(q k^T / sqrt(d) + bias) v over (B, N, heads, d) arrays.

  jax.nn.dot_product_attention (XLA's fused kernel on GPUs) computes the
  logits and the softmax in float32; float64 inputs (the parity checks) take
  the same arithmetic written out, so they keep their precision."""
  if q.dtype != jnp.float64:
    return jax.nn.dot_product_attention(q, k, v, bias=bias)
  logits = jnp.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(q.shape[-1])
  if bias is not None:
    logits = logits + bias
  return jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(logits, axis=-1), v)


class SelfAttention(nnx.Module):
  """Multi-head self-attention over tokens (B, N, C), qkv with bias, scale
  head_dim^-0.5, through jax.nn.dot_product_attention (the fused kernel on
  GPUs). `bias` (broadcastable to B, heads, N, N) is added to the logits."""

  def __init__(self, dim, heads=HEADS, *, rngs):
    if dim % heads:
      raise ValueError(f"An attention block of width {dim} cannot have "
                       f"{heads} heads; make T*hid_S and hid_T multiples of {heads}.")
    self.heads = heads
    self.qkv = layers.linear(dim, 3 * dim, rngs=rngs)
    self.proj = layers.linear(dim, dim, rngs=rngs)

  def __call__(self, x, bias=None):
    b, n, c = x.shape
    q, k, v = jnp.split(self.qkv(x).reshape(b, n, 3 * self.heads, c // self.heads),
                        3, axis=2)
    out = dot_product_attention(q, k, v, bias=bias)
    return self.proj(out.reshape(b, n, c))


class WindowAttention(SelfAttention):
  """Self-attention within a window of w*w tokens, plus timm's learned
  relative-position bias: a ((2w-1)^2, heads) table, indexed per pair."""

  def __init__(self, dim, window, *, rngs):
    super().__init__(dim, rngs=rngs)
    self.window = window
    self.relative_position_bias_table = nnx.Param(
        layers.timm_trunc_normal(0.02)(rngs.params(), ((2 * window - 1) ** 2, HEADS)))

  def position_bias(self):
    """(1, heads, w*w, w*w)."""
    n = self.window * self.window
    bias = self.relative_position_bias_table[...][
        relative_position_index(self.window).reshape(-1)]
    return bias.reshape(n, n, HEADS).transpose(2, 0, 1)[None]


# ---------------------------------------------------------------- blocks ----

class Block(nnx.Module):
  """A translator layer: the block's `mix`, then a 1x1 `reduction` conv when
  its input and output widths differ (OpenSTL's MetaBlock)."""

  reduction = None

  def set_widths(self, in_ch, out_ch, *, rngs):
    if in_ch != out_ch:
      self.reduction = layers.Conv(in_ch, out_ch, 1, rngs=rngs)

  def __call__(self, x, *, train=False, key=None):
    x = self.mix(x, train=train, key=key)
    return x if self.reduction is None else self.reduction(x)


class ConvMixerBlock(Block):
  """x + BN(GELU(dwconv11(x))), then BN(GELU(conv1x1(x))) (no residual)."""

  def __init__(self, dim, *, rngs, kernel=11, **_):
    self.conv_dw = layers.Conv(dim, dim, kernel, groups=dim, rngs=rngs, init="fan_out")
    self.norm_1 = layers.batch_norm(dim, rngs=rngs)
    self.conv_pw = layers.Conv(dim, dim, 1, rngs=rngs, init="fan_out")
    self.norm_2 = layers.batch_norm(dim, rngs=rngs)

  def mix(self, x, *, train, key):
    del key
    x = x + self.norm_1(layers.gelu(self.conv_dw(x)), not train)
    return self.norm_2(layers.gelu(self.conv_pw(x)), not train)


class ConvNeXtBlock(Block):
  """x + gamma * mlp(LN(dwconv7(x))) (timm's ConvNeXtBlock, conv_mlp)."""

  def __init__(self, dim, *, mlp_ratio, drop_path, rngs, **_):
    self.drop_path = drop_path
    self.conv_dw = layers.Conv(dim, dim, 7, groups=dim, rngs=rngs, init="fan_out")
    self.norm = layers.layer_norm(dim, 1e-6, rngs=rngs)
    self.mlp = ConvMlp(dim, int(mlp_ratio * dim), init="fan_out", rngs=rngs)
    self.gamma = nnx.Param(jnp.full((dim,), 1e-6))

  def mix(self, x, *, train, key):
    del train
    y = self.gamma[...] * self.mlp(self.norm(self.conv_dw(x)))
    return _residual(x, y, self.drop_path, key)


class GnConv(nnx.Module):
  """HorNet's recursive gated convolution of order 4 (dims C/8 .. C)."""

  def __init__(self, dim, order=4, *, rngs):
    if dim % 2 ** (order - 1):
      raise ValueError(f"HorNet needs widths divisible by {2 ** (order - 1)}; "
                       f"got {dim}.")
    self.dims = [dim // 2 ** i for i in range(order)][::-1]
    self.proj_in = layers.Conv(dim, 2 * dim, 1, rngs=rngs, init="fan_out")
    self.dwconv = layers.Conv(sum(self.dims), sum(self.dims), 7,
                              groups=sum(self.dims), rngs=rngs, init="fan_out")
    self.proj_out = layers.Conv(dim, dim, 1, rngs=rngs, init="fan_out")
    self.pws = nnx.List([layers.Conv(self.dims[i], self.dims[i + 1], 1, rngs=rngs,
                                     init="fan_out")
                         for i in range(order - 1)])

  def __call__(self, x):
    fused = self.proj_in(x)
    pwa, abc = fused[..., :self.dims[0]], fused[..., self.dims[0]:]
    dw = jnp.split(self.dwconv(abc), np.cumsum(self.dims)[:-1], axis=-1)
    x = pwa * dw[0]
    for pw, d in zip(self.pws, dw[1:]):
      x = pw(x) * d
    return self.proj_out(x)


class HorNetBlock(Block):
  """x + gamma1 * gnconv(LN(x)); x + gamma2 * MLP(LN(x)) (HorNet's HorBlock)."""

  def __init__(self, dim, *, mlp_ratio, drop_path, rngs, **_):
    self.drop_path = drop_path
    self.norm1 = layers.layer_norm(dim, 1e-6, rngs=rngs)
    self.gnconv = GnConv(dim, rngs=rngs)
    self.norm2 = layers.layer_norm(dim, 1e-6, rngs=rngs)
    self.pwconv1 = layers.linear(dim, int(mlp_ratio * dim), rngs=rngs)
    self.pwconv2 = layers.linear(int(mlp_ratio * dim), dim, rngs=rngs)
    self.gamma1 = nnx.Param(jnp.full((dim,), 1e-6))
    self.gamma2 = nnx.Param(jnp.full((dim,), 1e-6))

  def mix(self, x, *, train, key):
    del train
    k1, k2 = layers.split_key(key, 2)
    x = _residual(x, self.gamma1[...] * self.gnconv(self.norm1(x)), self.drop_path, k1)
    y = self.pwconv2(layers.gelu(self.pwconv1(self.norm2(x))))
    return _residual(x, self.gamma2[...] * y, self.drop_path, k2)


class MLPMixerBlock(Block):
  """Token-mixing MLP over the H'*W' positions (hidden C/2), then a channel
  MLP (hidden mlp_ratio * C); timm's MixerBlock, LayerNorm eps 1e-6."""

  def __init__(self, dim, *, resolution, mlp_ratio, drop_path, rngs, **_):
    self.drop_path = drop_path
    seq = resolution[0] * resolution[1]
    self.norm1 = layers.layer_norm(dim, 1e-6, rngs=rngs)
    self.mlp_tokens = Mlp(seq, int(0.5 * dim), rngs=rngs)
    self.norm2 = layers.layer_norm(dim, 1e-6, rngs=rngs)
    self.mlp_channels = Mlp(dim, int(mlp_ratio * dim), rngs=rngs)

  def mix(self, x, *, train, key):
    del train
    b, h, w, c = x.shape
    k1, k2 = layers.split_key(key, 2)
    t = _tokens(x)
    mixed = self.mlp_tokens(self.norm1(t).transpose(0, 2, 1)).transpose(0, 2, 1)
    t = _residual(t, mixed, self.drop_path, k1)
    t = _residual(t, self.mlp_channels(self.norm2(t)), self.drop_path, k2)
    return t.reshape(b, h, w, c)


def _channel_param(dim, value):
  """A per-channel scale kept 4-D, (1, 1, 1, C): MogaNet's are (1, C, 1, 1)
  there, so OpenSTL's weight-decay rule (1-D parameters and biases exempt)
  decays them, and stjax's rule, reading the same shape, does too."""
  return nnx.Param(jnp.full((1, 1, 1, dim), value))


class MultiOrderDWConv(nnx.Module):
  """MogaNet's value branch: a 5x5 depthwise conv, then dilated 5x5 (d 2) and
  7x7 (d 3) depthwise convs on 3/8 and 4/8 of the channels, then 1x1."""

  def __init__(self, dim, *, rngs):
    if dim % 8:
      raise ValueError(f"MogaNet needs widths divisible by 8; got {dim}.")
    self.d1, self.d2 = 3 * dim // 8, 4 * dim // 8
    self.d0 = dim - self.d1 - self.d2
    conv = lambda c, k, d: layers.Conv(c, c, k, dilation=d, groups=c,
                                       padding=(1 + (k - 1) * d) // 2,
                                       rngs=rngs, init="fan_out")
    self.DW_conv0 = conv(dim, 5, 1)
    self.DW_conv1 = conv(self.d1, 5, 2)
    self.DW_conv2 = conv(self.d2, 7, 3)
    self.PW_conv = layers.Conv(dim, dim, 1, rngs=rngs, init="fan_out")

  def __call__(self, x):
    x0 = self.DW_conv0(x)
    x1 = self.DW_conv1(x0[..., self.d0:self.d0 + self.d1])
    x2 = self.DW_conv2(x0[..., x0.shape[-1] - self.d2:])
    return self.PW_conv(jnp.concatenate([x0[..., :self.d0], x1, x2], axis=-1))


class MultiOrderGatedAggregation(nnx.Module):
  """MogaNet's spatial aggregation: SiLU(gate) * SiLU(value), with the
  feature decomposition x + sigma * (x - mean_HW(x)) first; residual."""

  def __init__(self, dim, *, rngs):
    self.proj_1 = layers.Conv(dim, dim, 1, rngs=rngs, init="fan_out")
    self.gate = layers.Conv(dim, dim, 1, rngs=rngs, init="fan_out")
    self.value = MultiOrderDWConv(dim, rngs=rngs)
    self.proj_2 = layers.Conv(dim, dim, 1, rngs=rngs, init="fan_out")
    self.sigma = _channel_param(dim, 1e-5)

  def __call__(self, x):
    shortcut = x
    x = self.proj_1(x)
    x = jax.nn.silu(x + self.sigma[...] * (x - jnp.mean(x, axis=(1, 2), keepdims=True)))
    return self.proj_2(jax.nn.silu(self.gate(x)) * jax.nn.silu(self.value(x))) + shortcut


class ChannelAggregationFFN(nnx.Module):
  """MogaNet's FFN: 1x1, depthwise 3x3, GELU, channel decomposition
  x + sigma * (x - GELU(conv1x1->1(x))), 1x1."""

  def __init__(self, dim, hidden, *, rngs):
    self.fc1 = layers.Conv(dim, hidden, 1, rngs=rngs, init="fan_out")
    self.dwconv = layers.Conv(hidden, hidden, 3, groups=hidden, rngs=rngs, init="fan_out")
    self.fc2 = layers.Conv(hidden, dim, 1, rngs=rngs, init="fan_out")
    self.decompose = layers.Conv(hidden, 1, 1, rngs=rngs, init="fan_out")
    self.sigma = _channel_param(hidden, 1e-5)

  def __call__(self, x):
    x = layers.gelu(self.dwconv(self.fc1(x)))
    x = x + self.sigma[...] * (x - layers.gelu(self.decompose(x)))
    return self.fc2(x)


class MogaNetBlock(Block):
  """x + s1 * moga(BN(x)); x + s2 * ffn(BN(x)), layer scales 1e-5."""

  def __init__(self, dim, *, mlp_ratio, drop_path, rngs, **_):
    self.drop_path = drop_path
    self.norm1 = layers.batch_norm(dim, rngs=rngs)
    self.attn = MultiOrderGatedAggregation(dim, rngs=rngs)
    self.norm2 = layers.batch_norm(dim, rngs=rngs)
    self.mlp = ChannelAggregationFFN(dim, int(dim * mlp_ratio), rngs=rngs)
    self.layer_scale_1 = _channel_param(dim, 1e-5)
    self.layer_scale_2 = _channel_param(dim, 1e-5)

  def mix(self, x, *, train, key):
    k1, k2 = layers.split_key(key, 2)
    x = _residual(x, self.layer_scale_1[...] * self.attn(self.norm1(x, not train)),
                  self.drop_path, k1)
    return _residual(x, self.layer_scale_2[...] * self.mlp(self.norm2(x, not train)),
                     self.drop_path, k2)


def avg_pool3_exclude_pad(x):
  """AvgPool2d(3, stride 1, padding 1, count_include_pad=False), NHWC."""
  window, strides = (1, 3, 3, 1), (1, 1, 1, 1)
  pad = ((0, 0), (1, 1), (1, 1), (0, 0))
  total = jax.lax.reduce_window(x, 0.0, jax.lax.add, window, strides, pad)
  ones = jnp.ones((1,) + x.shape[1:3] + (1,), x.dtype)
  count = jax.lax.reduce_window(ones, 0.0, jax.lax.add, window, strides, pad)
  return total / count


class PoolFormerBlock(Block):
  """x + s1 * (avgpool3(GN1(x)) - GN1(x)); x + s2 * mlp(GN1(x)); GroupNorm
  with one group, layer scales 1e-5, the MLP's convs trunc-normal(0.02)."""

  def __init__(self, dim, *, mlp_ratio, drop_path, rngs, **_):
    self.drop_path = drop_path
    self.norm1 = layers.group_norm(dim, 1, rngs=rngs)
    self.norm2 = layers.group_norm(dim, 1, rngs=rngs)
    self.mlp = ConvMlp(dim, int(dim * mlp_ratio), init="trunc_normal", rngs=rngs)
    self.layer_scale_1 = nnx.Param(jnp.full((dim,), 1e-5))
    self.layer_scale_2 = nnx.Param(jnp.full((dim,), 1e-5))

  def mix(self, x, *, train, key):
    del train
    k1, k2 = layers.split_key(key, 2)
    z = self.norm1(x)
    x = _residual(x, self.layer_scale_1[...] * (avg_pool3_exclude_pad(z) - z),
                  self.drop_path, k1)
    return _residual(x, self.layer_scale_2[...] * self.mlp(self.norm2(x)),
                     self.drop_path, k2)


def swin_window(resolution, layer_i):
  """(window, shift) as OpenSTL's SwinSubBlock and timm's block choose them."""
  h = resolution[0]
  window = min(8, 7 if h % 7 == 0 else max(4, h // 16))
  shift = 0 if layer_i % 2 == 0 else window // 2
  if min(resolution) <= window:  # timm: one window covers the map
    return min(resolution), 0
  return window, shift


def relative_position_index(window):
  """timm's index into the (2w-1)^2 relative-position table, (w*w, w*w)."""
  coords = np.stack(np.meshgrid(np.arange(window), np.arange(window), indexing="ij"))
  flat = coords.reshape(2, -1)
  rel = (flat[:, :, None] - flat[:, None, :]).transpose(1, 2, 0) + (window - 1)
  return rel[..., 0] * (2 * window - 1) + rel[..., 1]


def shifted_window_mask(resolution, window, shift):
  """Swin's SW-MSA mask (windows, w*w, w*w): -100 between positions that came
  from different regions of the unshifted map, 0 within one."""
  h, w = resolution
  regions = np.zeros((h, w))
  cuts = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
  for i, (hs, ws) in enumerate((a, b) for a in cuts for b in cuts):
    regions[hs, ws] = i
  win = regions.reshape(h // window, window, w // window, window)
  win = win.transpose(0, 2, 1, 3).reshape(-1, window * window)
  return np.where(win[:, None, :] != win[:, :, None], -100.0, 0.0)


class SwinBlock(Block):
  """timm's SwinTransformerBlock as OpenSTL calls it: pre-norm window
  attention with relative-position bias over (cyclically shifted) windows,
  then an MLP; without the shifted-window mask unless `shift_mask`."""

  def __init__(self, dim, *, resolution, layer_i, mlp_ratio, drop_path,
               shift_mask=False, rngs, **_):
    self.drop_path = drop_path
    self.resolution = tuple(resolution)
    self.window, self.shift = swin_window(resolution, layer_i)
    if resolution[0] % self.window or resolution[1] % self.window:
      raise ValueError(f"Swin windows of {self.window} do not tile the "
                       f"{resolution[0]}x{resolution[1]} latent map; choose "
                       f"H, W and N_S so that they do.")
    self.norm1 = layers.layer_norm(dim, rngs=rngs)
    self.attn = WindowAttention(dim, self.window, rngs=rngs)
    self.norm2 = layers.layer_norm(dim, rngs=rngs)
    self.mlp = Mlp(dim, int(dim * mlp_ratio), rngs=rngs)
    self.shift_mask = bool(shift_mask and self.shift)

  def _bias(self, windows):
    bias = self.attn.position_bias()
    if self.shift_mask:
      mask = shifted_window_mask(self.resolution, self.window, self.shift)
      per_window = jnp.asarray(mask, bias.dtype)[:, None]   # nW, 1, n, n
      bias = jnp.tile(bias + per_window, (windows // mask.shape[0], 1, 1, 1))
    return bias

  def mix(self, x, *, train, key):
    del train
    b, h, w, c = x.shape
    ws, s = self.window, self.shift
    k1, k2 = layers.split_key(key, 2)
    z = self.norm1(x)
    if s:
      z = jnp.roll(z, (-s, -s), axis=(1, 2))
    win = z.reshape(b, h // ws, ws, w // ws, ws, c).transpose(0, 1, 3, 2, 4, 5)
    win = win.reshape(-1, ws * ws, c)
    out = self.attn(win, bias=self._bias(win.shape[0]).astype(win.dtype))
    out = out.reshape(b, h // ws, w // ws, ws, ws, c).transpose(0, 1, 3, 2, 4, 5)
    out = out.reshape(b, h, w, c)
    if s:
      out = jnp.roll(out, (s, s), axis=(1, 2))
    x = _residual(x, out, self.drop_path, k1)
    return _residual(x, self.mlp(self.norm2(x)), self.drop_path, k2)


class UniformerConvBlock(Block):
  """Uniformer's CBlock: x + dwconv3(x); x + conv1x1(dwconv5(conv1x1(BN(x))));
  x + mlp(BN(x))."""

  def __init__(self, dim, *, mlp_ratio, drop_path, rngs, **_):
    self.drop_path = drop_path
    self.pos_embed = layers.Conv(dim, dim, 3, groups=dim, rngs=rngs, init="fan_out")
    self.norm1 = layers.batch_norm(dim, rngs=rngs)
    self.conv1 = layers.Conv(dim, dim, 1, rngs=rngs, init="fan_out")
    self.conv2 = layers.Conv(dim, dim, 1, rngs=rngs, init="fan_out")
    self.attn = layers.Conv(dim, dim, 5, groups=dim, rngs=rngs, init="fan_out")
    self.norm2 = layers.batch_norm(dim, rngs=rngs)
    self.mlp = ConvMlp(dim, int(dim * mlp_ratio), init="fan_out", rngs=rngs)

  def mix(self, x, *, train, key):
    k1, k2 = layers.split_key(key, 2)
    x = x + self.pos_embed(x)
    y = self.conv2(self.attn(self.conv1(self.norm1(x, not train))))
    x = _residual(x, y, self.drop_path, k1)
    return _residual(x, self.mlp(self.norm2(x, not train)), self.drop_path, k2)


class UniformerAttentionBlock(Block):
  """Uniformer's SABlock: x + dwconv3(x), then pre-norm self-attention and
  MLP over the H'*W' tokens with layer scales 1e-6. Its dwconv keeps
  PyTorch's default initialisation (the block's _init_weights skips convs)."""

  def __init__(self, dim, *, mlp_ratio, drop_path, rngs, **_):
    self.drop_path = drop_path
    self.pos_embed = layers.Conv(dim, dim, 3, groups=dim, rngs=rngs)
    self.norm1 = layers.layer_norm(dim, rngs=rngs)
    self.attn = SelfAttention(dim, rngs=rngs)
    self.norm2 = layers.layer_norm(dim, rngs=rngs)
    self.mlp = Mlp(dim, int(dim * mlp_ratio), rngs=rngs)
    self.gamma_1 = nnx.Param(jnp.full((dim,), 1e-6))
    self.gamma_2 = nnx.Param(jnp.full((dim,), 1e-6))

  def mix(self, x, *, train, key):
    del train
    b, h, w, c = x.shape
    k1, k2 = layers.split_key(key, 2)
    t = _tokens(x + self.pos_embed(x))
    t = _residual(t, self.gamma_1[...] * self.attn(self.norm1(t)), self.drop_path, k1)
    t = _residual(t, self.gamma_2[...] * self.mlp(self.norm2(t)), self.drop_path, k2)
    return t.reshape(b, h, w, c)


class LargeKernelAttention(nnx.Module):
  """VAN's LKA: u * conv1x1(dwconv7_dil3(dwconv5(u)))."""

  def __init__(self, dim, *, rngs):
    self.conv0 = layers.Conv(dim, dim, 5, groups=dim, rngs=rngs, init="fan_out")
    self.conv_spatial = layers.Conv(dim, dim, 7, dilation=3, padding=9, groups=dim,
                                    rngs=rngs, init="fan_out")
    self.conv1 = layers.Conv(dim, dim, 1, rngs=rngs, init="fan_out")

  def __call__(self, u):
    return u * self.conv1(self.conv_spatial(self.conv0(u)))


class VANAttention(nnx.Module):
  """z + proj_2(LKA(GELU(proj_1(z))))."""

  def __init__(self, dim, *, rngs):
    self.proj_1 = layers.Conv(dim, dim, 1, rngs=rngs, init="fan_out")
    self.gate = LargeKernelAttention(dim, rngs=rngs)
    self.proj_2 = layers.Conv(dim, dim, 1, rngs=rngs, init="fan_out")

  def __call__(self, z):
    return z + self.proj_2(self.gate(layers.gelu(self.proj_1(z))))


class VANMlp(nnx.Module):
  """1x1 -> depthwise 3x3 -> GELU -> 1x1."""

  def __init__(self, dim, hidden, *, rngs):
    self.fc1 = layers.Conv(dim, hidden, 1, rngs=rngs, init="fan_out")
    self.dwconv = layers.Conv(hidden, hidden, 3, groups=hidden, rngs=rngs, init="fan_out")
    self.fc2 = layers.Conv(hidden, dim, 1, rngs=rngs, init="fan_out")

  def __call__(self, x):
    return self.fc2(layers.gelu(self.dwconv(self.fc1(x))))


class VANBlock(Block):
  """x + s1 * attn(BN(x)); x + s2 * mlp(BN(x)), layer scales 1e-2."""

  def __init__(self, dim, *, mlp_ratio, drop_path, rngs, **_):
    self.drop_path = drop_path
    self.norm1 = layers.batch_norm(dim, rngs=rngs)
    self.attn = VANAttention(dim, rngs=rngs)
    self.norm2 = layers.batch_norm(dim, rngs=rngs)
    self.mlp = VANMlp(dim, int(dim * mlp_ratio), rngs=rngs)
    self.layer_scale_1 = nnx.Param(jnp.full((dim,), 1e-2))
    self.layer_scale_2 = nnx.Param(jnp.full((dim,), 1e-2))

  def mix(self, x, *, train, key):
    k1, k2 = layers.split_key(key, 2)
    x = _residual(x, self.layer_scale_1[...] * self.attn(self.norm1(x, not train)),
                  self.drop_path, k1)
    return _residual(x, self.layer_scale_2[...] * self.mlp(self.norm2(x, not train)),
                     self.drop_path, k2)


class ViTBlock(Block):
  """timm's ViT Block over the H'*W' tokens: x + attn(LN(x)); x + mlp(LN(x))."""

  def __init__(self, dim, *, mlp_ratio, drop_path, rngs, **_):
    self.drop_path = drop_path
    self.norm1 = layers.layer_norm(dim, rngs=rngs)
    self.attn = SelfAttention(dim, rngs=rngs)
    self.norm2 = layers.layer_norm(dim, rngs=rngs)
    self.mlp = Mlp(dim, int(dim * mlp_ratio), rngs=rngs)

  def mix(self, x, *, train, key):
    del train
    b, h, w, c = x.shape
    k1, k2 = layers.split_key(key, 2)
    t = _tokens(x)
    t = _residual(t, self.attn(self.norm1(t)), self.drop_path, k1)
    t = _residual(t, self.mlp(self.norm2(t)), self.drop_path, k2)
    return t.reshape(b, h, w, c)


_CLASSES = {"convmixer": ConvMixerBlock, "convnext": ConvNeXtBlock,
            "hornet": HorNetBlock, "mlpmixer": MLPMixerBlock,
            "moganet": MogaNetBlock, "poolformer": PoolFormerBlock,
            "swin": SwinBlock, "van": VANBlock, "vit": ViTBlock}


def make_block(kind, in_ch, out_ch, *, layer_i, resolution, mlp_ratio,
               drop_path, swin_shift_mask=False, rngs) -> Block:
  """Translator layer `layer_i` of kind `kind` (one of BLOCKS), as
  OpenSTL's MetaBlock builds it: the block at the input width, then a 1x1
  reduction to `out_ch` when the widths differ."""
  kind = ALIASES.get(kind, kind)
  if kind == "uniformer":
    cls = (UniformerAttentionBlock if in_ch == out_ch and layer_i > 0
           else UniformerConvBlock)
  else:
    cls = _CLASSES[kind]
  kwargs = dict(resolution=resolution, layer_i=layer_i, mlp_ratio=mlp_ratio,
                drop_path=drop_path, rngs=rngs)
  if kind == "swin":
    kwargs["shift_mask"] = swin_shift_mask
  block = cls(in_ch, **kwargs)
  block.set_widths(in_ch, out_ch, rngs=rngs)
  return block
