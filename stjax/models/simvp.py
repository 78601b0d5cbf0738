"""SimVP (Gao et al. 2022; Tan et al. 2022) and TAU (Tan et al. 2023).

encoder (per frame) -> translator (frames stacked on channels) -> decoder
(per frame, with a skip from the first encoder layer). The translator is
IncepU, gSTA, TAU, or one of OpenSTL's other MetaFormer blocks
(stjax.models.metaformers: ConvMixer, ConvNeXt, HorNet, MLP-Mixer, MogaNet,
PoolFormer, Swin, Uniformer, VAN, ViT).
"""
from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
from flax import nnx

from stjax import layers, losses
from stjax.errors import ConfigError
from stjax.models.entry import register_model
from stjax.models import metaformers
from stjax.models.translators import IncepU, MetaTranslator

TRANSLATORS = ("incepu", "gsta", "tau", "conv") + metaformers.BLOCKS


def translator_name(model_type: str) -> str:
  """OpenSTL's model_type spelling (any case, 'mlp', 'moga') -> stjax's."""
  kind = model_type.lower()
  return metaformers.ALIASES.get(kind, kind)


class ConvSC(nnx.Module):
  """conv -> GroupNorm(2) -> SiLU; stride 2 to downsample, PixelShuffle to upsample."""

  def __init__(self, in_ch, out_ch, kernel, *, down=False, up=False, rngs):
    stride = 2 if down else 1
    padding = (kernel - stride + 1) // 2
    self.up = up
    self.conv = layers.Conv(in_ch, out_ch * 4 if up else out_ch, kernel,
                            stride=stride, padding=padding, rngs=rngs,
                            init="trunc_normal")
    self.norm = layers.group_norm(out_ch, 2, rngs=rngs)

  def __call__(self, x):
    y = self.conv(x)
    if self.up:
      y = layers.pixel_shuffle(y, 2)
    return jax.nn.silu(self.norm(y))


def _downsampling_pattern(n: int) -> list[bool]:
  """Every second layer (the 2nd, 4th, ...) changes resolution."""
  return [i % 2 == 1 for i in range(n)]


class Encoder(nnx.Module):

  def __init__(self, in_ch, hid, depth, kernel, *, rngs):
    pattern = _downsampling_pattern(depth)
    self.layers = nnx.List([
        ConvSC(in_ch if i == 0 else hid, hid, kernel, down=pattern[i], rngs=rngs)
        for i in range(depth)])

  def __call__(self, x):
    skip = self.layers[0](x)
    latent = skip
    for layer in self.layers[1:]:
      latent = layer(latent)
    return latent, skip


class Decoder(nnx.Module):

  def __init__(self, hid, out_ch, depth, kernel, *, rngs):
    pattern = _downsampling_pattern(depth)[::-1]
    self.layers = nnx.List([ConvSC(hid, hid, kernel, up=pattern[i], rngs=rngs)
                            for i in range(depth)])
    self.readout = layers.Conv(hid, out_ch, 1, rngs=rngs)

  def __call__(self, hid, skip):
    for layer in self.layers[:-1]:
      hid = layer(hid)
    return self.readout(self.layers[-1](hid + skip))


class SimVP(nnx.Module):
  """Maps (B, T_in, H, W, C) frames to (B, T_out, H, W, C) frames.

  The network itself predicts T_in frames at once; for T_out != T_in it
  truncates, or rolls out again on its own predictions, as OpenSTL does
  (the number of chunks is static, so this unrolls at trace time).
  """

  def __init__(self, *, in_shape, out_frames, hid_S=64, hid_T=512, N_S=4, N_T=8,
               translator="gsta", spatio_kernel_enc=3, spatio_kernel_dec=3,
               mlp_ratio=8.0, drop_path=0.0, stochastic_depth=True,
               swin_shift_mask=False, rngs: nnx.Rngs):
    t, h, w, c = in_shape
    translator = translator_name(translator)
    if translator not in TRANSLATORS:
      raise ValueError(f"Unknown translator {translator!r}; choose one of "
                       f"{TRANSLATORS}.")
    scale = 2 ** (N_S // 2)
    if h % scale or w % scale:
      raise ValueError(f"SimVP with N_S={N_S} needs H and W divisible by "
                       f"{scale}; got {h}x{w}.")
    self.in_shape = tuple(in_shape)
    self.out_frames = out_frames
    self.enc = Encoder(c, hid_S, N_S, spatio_kernel_enc, rngs=rngs)
    self.dec = Decoder(hid_S, c, N_S, spatio_kernel_dec, rngs=rngs)
    if translator == "incepu":
      self.hid = IncepU(t * hid_S, hid_T, N_T, rngs=rngs)
    else:
      self.hid = MetaTranslator(t * hid_S, hid_T, N_T, translator, mlp_ratio,
                                drop_path, stochastic_depth=stochastic_depth,
                                resolution=(h // scale, w // scale),
                                swin_shift_mask=swin_shift_mask, rngs=rngs)

  def step(self, x, *, train=False, key=None):
    """One forward pass: T_in frames in, T_in frames out."""
    b, t, h, w, c = x.shape
    embed, skip = self.enc(x.reshape(b * t, h, w, c))
    _, h2, w2, c2 = embed.shape
    z = embed.reshape(b, t, h2, w2, c2).transpose(0, 2, 3, 1, 4)
    z = z.reshape(b, h2, w2, t * c2)
    z = self.hid(z, train=train, key=key)
    z = z.reshape(b, h2, w2, t, c2).transpose(0, 3, 1, 2, 4)
    y = self.dec(z.reshape(b * t, h2, w2, c2), skip)
    chex.assert_shape(y, (b * t, h, w, c))
    return y.reshape(b, t, h, w, c)

  def __call__(self, x, *, train=False, key=None, out_frames=None):
    """(B, T_in, H, W, C) -> (B, out_frames, H, W, C). Beyond T_in frames the
    model runs again on its own last T_in predictions (autoregressive
    extension, as SimVP/TAU predict KTH 10 -> 40); `out_frames` overrides the
    horizon it was built for (a longer test horizon)."""
    out_frames = out_frames or self.out_frames
    t_in = x.shape[1]
    if x.shape[2:] != self.in_shape[1:] or t_in != self.in_shape[0]:
      raise ValueError(f"SimVP was built for frames {self.in_shape} "
                       f"(T, H, W, C), got {x.shape[1:]}.")
    chunks = -(-out_frames // t_in)
    outputs = []
    for k in layers.split_key(key, chunks):
      x = self.step(x, train=train, key=k)
      outputs.append(x)
    return jnp.concatenate(outputs, axis=1)[:, :out_frames]


def defaults(c, **options) -> None:
  """SimVP / TAU at the OpenSTL Moving MNIST setting."""
  if options:
    raise ConfigError(f"model.name={c.model.name!r} takes no options; got "
                      f"{sorted(options)} (set c.model.<key> instead).")
  m = c.model
  m.hid_S, m.hid_T, m.N_S, m.N_T = 64, 512, 4, 8
  m.spatio_kernel_enc = m.spatio_kernel_dec = 3
  m.mlp_ratio = 8.0
  m.drop_path = 0.0
  # False turns every drop-path module off, including the 0.01 the reference
  # keeps at drop_path 0 (docs/design.md: "Drop path"); True trains as the reference.
  m.stochastic_depth = True


def tau_defaults(c, **options) -> None:
  """TAU trains with its differential divergence (alpha 0.1, tau 0.1)."""
  defaults(c, **options)
  losses.add_ddr(c.loss, alpha=0.1, tau=0.1)


def swin_defaults(c, **options) -> None:
  """SimVP-Swin: OpenSTL's shifted windows attend without Swin's mask."""
  defaults(c, **options)
  # True: the Swin paper's SW-MSA mask (OpenSTL builds it but passes none).
  c.model.swin_shift_mask = False


def smoke(c) -> None:
  c.model.hid_S, c.model.hid_T, c.model.N_S, c.model.N_T = 8, 32, 4, 2


def _register(name: str, translator: str, model_defaults) -> None:
  def build(cfg, *, in_shape, out_frames, seed=0, pretrained=None):
    del pretrained  # SimVP has no model.init_from
    return SimVP(in_shape=in_shape, out_frames=out_frames, hid_S=cfg.hid_S,
                 hid_T=cfg.hid_T, N_S=cfg.N_S, N_T=cfg.N_T,
                 translator=translator,
                 spatio_kernel_enc=cfg.spatio_kernel_enc,
                 spatio_kernel_dec=cfg.spatio_kernel_dec,
                 mlp_ratio=cfg.mlp_ratio, drop_path=cfg.drop_path,
                 stochastic_depth=cfg.get("stochastic_depth", True),
                 swin_shift_mask=cfg.get("swin_shift_mask", False),
                 rngs=nnx.Rngs(seed))
  register_model(name, family="parallel", defaults=model_defaults,
                 smoke=smoke)(build)


# SimVP v1 / v2 and TAU share one architecture and differ by translator.
# "simvp_conv": TAU's Conv Baseline ablation (translators.ConvBlock).
for _name, _translator in (("simvp_incepu", "incepu"), ("simvp_gsta", "gsta"),
                           ("tau", "tau"), ("simvp_conv", "conv")):
  _register(_name, _translator, tau_defaults if _name == "tau" else defaults)
# OpenSTL's other translators: simvp_convmixer, simvp_convnext, ... simvp_vit.
for _translator in metaformers.BLOCKS:
  _register(f"simvp_{_translator}", _translator,
            swin_defaults if _translator == "swin" else defaults)
