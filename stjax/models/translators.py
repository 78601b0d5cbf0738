"""SimVP's temporal translators: IncepU (SimVP v1), gSTA (SimVP v2), TAU,
and OpenSTL's ten other MetaFormer blocks (stjax.models.metaformers).

A translator maps the stacked latent frames (B, H', W', T*C_hid) to the same
shape; it sees time as channels, which is what makes SimVP parallel.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from stjax import layers
from stjax.models import metaformers


# ---------------------------------------------------------------- IncepU ----

class GroupConv(nnx.Module):
  """Grouped conv -> GroupNorm(groups) -> LeakyReLU(0.2).

  Groups fall back to 1 when the input channels do not divide, as in SimVP.
  """

  def __init__(self, in_ch, out_ch, kernel, groups, *, rngs):
    if in_ch % groups != 0:
      groups = 1
    self.conv = layers.Conv(in_ch, out_ch, kernel, groups=groups, rngs=rngs)
    self.norm = layers.group_norm(out_ch, groups, rngs=rngs)

  def __call__(self, x):
    return jax.nn.leaky_relu(self.norm(self.conv(x)), 0.2)


class InceptionST(nnx.Module):
  """1x1 conv to C_hid, then the sum of parallel grouped convs of growing size."""

  def __init__(self, in_ch, hid_ch, out_ch, kernels=(3, 5, 7, 11), groups=8, *,
               rngs):
    self.conv1 = layers.Conv(in_ch, hid_ch, 1, rngs=rngs)
    self.layers = nnx.List([GroupConv(hid_ch, out_ch, k, groups, rngs=rngs)
                            for k in kernels])

  def __call__(self, x):
    x = self.conv1(x)
    return sum(layer(x) for layer in self.layers)


class IncepU(nnx.Module):
  """The Inception-UNet translator of SimVP v1 (Gao et al. 2022, Fig. 3)."""

  def __init__(self, channels, hidden, depth, kernels=(3, 5, 7, 11), groups=8, *,
               rngs):
    if depth < 2:
      raise ValueError(f"IncepU needs N_T >= 2, got {depth}.")
    half = hidden // 2
    self.enc = nnx.List(
        [InceptionST(channels, half, hidden, kernels, groups, rngs=rngs)] +
        [InceptionST(hidden, half, hidden, kernels, groups, rngs=rngs)
         for _ in range(depth - 1)])
    self.dec = nnx.List(
        [InceptionST(hidden, half, hidden, kernels, groups, rngs=rngs)] +
        [InceptionST(2 * hidden, half, hidden, kernels, groups, rngs=rngs)
         for _ in range(depth - 2)] +
        [InceptionST(2 * hidden, half, channels, kernels, groups, rngs=rngs)])

  def __call__(self, z, *, train=False, key=None):
    del train, key  # IncepU has no stochastic layers.
    skips = []
    for i, layer in enumerate(self.enc):
      z = layer(z)
      if i < len(self.enc) - 1:
        skips.append(z)
    z = self.dec[0](z)
    for i in range(1, len(self.dec)):
      z = self.dec[i](jnp.concatenate([z, skips[-i]], axis=-1))
    return z


# ------------------------------------------------------------ gSTA / TAU ----
# Initialisation as the reference's blocks: fan-out normal convs, truncated
# normal (0.02) linears.


class LargeKernelGate(nnx.Module):
  """Large-kernel attention (kernel 21 = depthwise 5x5 + depthwise 7x7 dil. 3).

  gSTA returns sigmoid(g) * f from a 1x1 conv to 2C channels; TAU instead
  returns se(u) * conv1(attn) * u, a statical (large kernel) times dynamical
  (squeeze-excitation) attention applied to the input u (Tan et al. 2023, Eq. 3).
  """

  def __init__(self, dim, kind, kernel=21, dilation=3, *, rngs):
    self.kind = kind
    d_k = 2 * dilation - 1
    dd_k = kernel // dilation + ((kernel // dilation) % 2 - 1)
    init = _attention_init(kind)
    self.conv0 = layers.Conv(dim, dim, d_k, groups=dim, rngs=rngs, init=init)
    self.conv_spatial = layers.Conv(dim, dim, dd_k, dilation=dilation,
                                    padding=dilation * (dd_k - 1) // 2,
                                    groups=dim, rngs=rngs, init=init)
    if kind == "gsta":
      self.conv1 = layers.Conv(dim, 2 * dim, 1, rngs=rngs, init=init)
    else:
      reduction = max(dim // 16, 4)
      self.conv1 = layers.Conv(dim, dim, 1, rngs=rngs, init=init)
      self.fc1 = nnx.Linear(dim, dim // reduction, use_bias=False,
                            kernel_init=_torch_linear(dim), rngs=rngs)
      self.fc2 = nnx.Linear(dim // reduction, dim, use_bias=False,
                            kernel_init=_torch_linear(dim // reduction), rngs=rngs)

  def __call__(self, u):
    attn = self.conv1(self.conv_spatial(self.conv0(u)))
    if self.kind == "gsta":
      f, g = jnp.split(attn, 2, axis=-1)
      return jax.nn.sigmoid(g) * f
    se = jnp.mean(u, axis=(1, 2))
    se = jax.nn.sigmoid(self.fc2(jax.nn.relu(self.fc1(se))))
    return se[:, None, None, :] * attn * u


def _attention_init(kind: str) -> str:
  """gSTA's attention is drawn by OpenSTL's _init_weights (fan-out normal);
  TAU's is built after that and replaces it, so it keeps PyTorch's default
  initialisation (kaiming-uniform convolutions, uniform linears)."""
  return "torch" if kind == "tau" else "fan_out"


def _torch_linear(fan_in: int):
  """PyTorch's default Linear weight: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
  bound = 1.0 / np.sqrt(fan_in)
  return lambda key, shape, dtype=jnp.float32: jax.random.uniform(
      key, shape, dtype, -bound, bound)


class Attention(nnx.Module):
  """z + proj_2(gate(GELU(proj_1(z))))."""

  def __init__(self, dim, kind, *, rngs):
    init = _attention_init(kind)
    self.proj_1 = layers.Conv(dim, dim, 1, rngs=rngs, init=init)
    self.gate = LargeKernelGate(dim, kind, rngs=rngs)
    self.proj_2 = layers.Conv(dim, dim, 1, rngs=rngs, init=init)

  def __call__(self, z):
    return z + self.proj_2(self.gate(layers.gelu(self.proj_1(z))))


class MixMlp(nnx.Module):
  """1x1 -> depthwise 3x3 -> GELU -> 1x1."""

  def __init__(self, dim, hidden, *, rngs):
    self.fc1 = layers.Conv(dim, hidden, 1, rngs=rngs, init="fan_out")
    self.dwconv = layers.Conv(hidden, hidden, 3, groups=hidden, rngs=rngs, init="fan_out")
    self.fc2 = layers.Conv(hidden, dim, 1, rngs=rngs, init="fan_out")

  def __call__(self, x):
    return self.fc2(layers.gelu(self.dwconv(self.fc1(x))))


class MetaBlock(nnx.Module):
  """x + s1 * attn(BN(x)); x + s2 * mlp(BN(x)); a 1x1 reduction if widths differ."""

  def __init__(self, in_ch, out_ch, kind, mlp_ratio, drop_path, *, rngs):
    self.drop_path = drop_path
    self.norm1 = layers.batch_norm(in_ch, rngs=rngs)
    self.attn = Attention(in_ch, kind, rngs=rngs)
    self.norm2 = layers.batch_norm(in_ch, rngs=rngs)
    self.mlp = MixMlp(in_ch, int(in_ch * mlp_ratio), rngs=rngs)
    self.layer_scale_1 = nnx.Param(jnp.full((in_ch,), 1e-2))
    self.layer_scale_2 = nnx.Param(jnp.full((in_ch,), 1e-2))
    self.reduction = (layers.Conv(in_ch, out_ch, 1, rngs=rngs)
                      if in_ch != out_ch else None)

  def __call__(self, x, *, train, key):
    k1, k2 = layers.split_key(key, 2)
    eval_stats = not train
    x = x + layers.drop_path(
        self.layer_scale_1[...] * self.attn(self.norm1(x, eval_stats)),
        self.drop_path, k1)
    x = x + layers.drop_path(
        self.layer_scale_2[...] * self.mlp(self.norm2(x, eval_stats)),
        self.drop_path, k2)
    return x if self.reduction is None else self.reduction(x)


class ConvBlock(nnx.Module):
  """The TAU paper's "Conv Baseline" block (its Table 6): a vanilla 3x3
  convolution in place of a TAU block, x + GELU(BN(conv3x3(x))), then a 1x1
  reduction if widths differ. The paper gives no more detail than "the same
  number of convolutional blocks with vanilla 3x3 convolutions"; the norm,
  activation and residual are stjax's choice, those of the blocks it replaces."""

  def __init__(self, in_ch, out_ch, *, rngs):
    self.conv = layers.Conv(in_ch, in_ch, 3, rngs=rngs, init="fan_out")
    self.norm = layers.batch_norm(in_ch, rngs=rngs)
    self.reduction = (layers.Conv(in_ch, out_ch, 1, rngs=rngs)
                      if in_ch != out_ch else None)

  def __call__(self, x, *, train, key):
    del key
    x = x + layers.gelu(self.norm(self.conv(x), not train))
    return x if self.reduction is None else self.reduction(x)


def drop_path_rates(drop_path: float, depth: int) -> list[float]:
  """Per-block stochastic-depth rates, OpenSTL's rule.

  The reference spaces the rates linearly from 0.01 to `drop_path` over the
  blocks and gives the last block `drop_path` itself, so even drop_path=0
  drops a little in the first blocks. We keep that rule: the published
  numbers were trained with it.
  """
  rates = [float(r) for r in np.linspace(1e-2, drop_path, depth)]
  rates[-1] = drop_path
  return rates


class MetaTranslator(nnx.Module):
  """A stack of gSTA (SimVP v2), TAU or OpenSTL's other MetaFormer blocks
  (metaformers.BLOCKS) on the stacked latent frames (or of plain 3x3
  convolution blocks: kind "conv", TAU's Conv Baseline). `resolution` is
  the latent map's (H', W'): MLP-Mixer's token MLP and Swin's windows are
  built for it."""

  def __init__(self, channels, hidden, depth, kind, mlp_ratio=8.0, drop_path=0.0,
               *, stochastic_depth: bool = True, resolution=None,
               swin_shift_mask: bool = False, rngs):
    if depth < 2:
      raise ValueError(f"The {kind} translator needs N_T >= 2, got {depth}.")
    # stochastic_depth=False: no block drops (the training-parity fixtures
    # turn the reference's random draws off); else the reference's rates.
    rates = (drop_path_rates(drop_path, depth) if stochastic_depth
             else [0.0] * depth)
    widths = [channels] + [hidden] * (depth - 1) + [channels]
    if kind == "conv":
      self.blocks = nnx.List([ConvBlock(widths[i], widths[i + 1], rngs=rngs)
                              for i in range(depth)])
      return
    if metaformers.ALIASES.get(kind, kind) in metaformers.BLOCKS:
      self.blocks = nnx.List([
          metaformers.make_block(kind, widths[i], widths[i + 1], layer_i=i,
                                 resolution=resolution, mlp_ratio=mlp_ratio,
                                 drop_path=rates[i],
                                 swin_shift_mask=swin_shift_mask, rngs=rngs)
          for i in range(depth)])
      return
    self.blocks = nnx.List([
        MetaBlock(widths[i], widths[i + 1], kind, mlp_ratio, rates[i], rngs=rngs)
        for i in range(depth)])

  def __call__(self, z, *, train=False, key=None):
    for block, k in zip(self.blocks, layers.split_key(key, len(self.blocks))):
      z = block(z, train=train, key=k)
    return z
