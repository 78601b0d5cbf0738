"""MAU, the motion-aware unit (Chang et al., NeurIPS 2021), as OpenSTL runs it.

    frame (B, H, W, C) -> 1x1 conv, LeakyReLU(0.2)
                       -> log2(sr_size) x [3x3 conv stride 2, LeakyReLU(0.2)]
                       -> S (the spatial state, H/sr x W/sr)
    each layer i:  (T_i, S) -> MAU cell, attending over its last `tau`
                   temporal states T_i and spatial inputs S -> (T_i, S)
    S -> log2(sr_size) x [3x3 transposed conv stride 2 (padding 1, output
         padding 1), LeakyReLU(0.2) except after the last]
      (model_mode "recall": after each, plus the encoder's map of that size)
      -> 1x1 conv (OpenSTL's `srcnn`, with bias) -> the next frame

The MAU cell (OpenSTL's MAUCell; every conv has a bias and is followed by a
LayerNorm over (C, H, W), whatever `layer_norm` says):
    s_next = LN(conv_s_next(S)),  t_next = LN(conv_t_next(T))
    a_k = softmax_k(<S_{t-k}, s_next> / sqrt(C H W))    k = 1 .. tau
    T_trend = sum_k a_k T_{t-k}
    g = sigmoid(t_next);  T_fusion = g T + (1 - g) T_trend
    t_g, t_t, t_s = LN(conv_t(T_fusion));  s_g, s_t, s_s = LN(conv_s(S))
    T' = sigmoid(t_g) t_t + (1 - sigmoid(t_g)) s_t
    S' = sigmoid(s_g) s_s + (1 - sigmoid(s_g)) t_s   (+ S: cell_mode "residual")
The last `tau` states of each layer (zeros before the first steps) are two
ring buffers (tau, B, h, w, C) in the lax.scan carry; step t overwrites slot
t mod tau. The attention is a softmax-weighted sum over the slots, so their
order does not matter, only that a temporal state and the spatial input of
the same step share a slot.

OpenSTL quirks reproduced (docs/models/openstl_methods.md):
- the frames are fed unpatched (its configs use patch_size 1; stjax also
  takes larger patches, as its other recurrent models);
- `merge` and `conv_last_sr` are built but never used: they are kept as
  layers.Unused variables (so OpenSTL's checkpoints import), not trained:
  PyTorch's Adam skips them (no gradient), weight decay included;
- c74deb5's MAU method never stores the eta that schedule_sampling returns,
  so every iteration draws with eta = 1 - 2e-5 until 50000 iterations, then
  0. That is the default sampling here; `sampling="v0.3.0"` gives OpenSTL
  v0.3.0's (and PredRNN's) eta, falling by 2e-5 per iteration.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from stjax import layers
from stjax.cells.gates import GateConv, split, zeros
from stjax.errors import ConfigError
from stjax.models.entry import register_model
from stjax.models.finetune import start_from
from stjax.models.recurrent import RecurrentNet, sampling_defaults
from stjax.ops import cpu_conv

CELL_MODES = ("normal", "residual")
MODEL_MODES = ("normal", "recall")
SAMPLING_FORMS = ("c74deb5", "v0.3.0")
_SLOPE = 0.2  # LeakyReLU's negative slope in the encoder and decoder


class ConvTranspose(nnx.Module):
  """PyTorch's ConvTranspose2d on NHWC maps: output size (H - 1) * stride -
  2 * padding + kernel + output_padding.

  The kernel is kept as (kH, kW, C_out, C_in), the layout an OpenSTL weight
  (C_in, C_out, kH, kW) takes under the importer's conv transpose, i.e. the
  kernel of the convolution this one is the transpose of; it runs as
  stjax.ops.cpu_conv.conv_transpose2d (on the CPU one matmul and a scatter
  of the taps). PyTorch's initialisation: U(+-1/sqrt(fan_in)) for
  kernel and bias, with fan_in = C_out * kH * kW (PyTorch reads it off the
  weight's second axis).
  """

  def __init__(self, in_ch: int, out_ch: int, kernel: int, *, stride: int,
               padding: int, output_padding: int, rngs: nnx.Rngs):
    if not 0 <= padding <= kernel - 1 or not 0 <= output_padding < stride:
      raise ValueError(f"ConvTranspose padding={padding}, output_padding="
                       f"{output_padding} need 0 <= padding < kernel ({kernel}) "
                       f"and 0 <= output_padding < stride ({stride}).")
    self.stride, self.padding, self.output_padding = stride, padding, output_padding
    self.cpu_lowering = layers.cpu_lowering_default()
    k_init, b_init = layers._kernel_init(  # pylint: disable=protected-access
        "torch", out_ch * kernel * kernel, in_ch * kernel * kernel)
    self.kernel = nnx.Param(k_init(rngs.params(), (kernel, kernel, out_ch, in_ch),
                                   jnp.float32))
    self.bias = nnx.Param(b_init(rngs.params(), (out_ch,), jnp.float32))

  def __call__(self, x: jax.Array) -> jax.Array:
    kernel = jnp.transpose(self.kernel[...], (0, 1, 3, 2)).astype(x.dtype)
    y = cpu_conv.conv_transpose2d(x, kernel, stride=self.stride, padding=self.padding,
                                  output_padding=self.output_padding,
                                  cpu_lowering=self.cpu_lowering)
    return y + self.bias[...].astype(y.dtype)


class MAUCell(nnx.Module):
  """One MAU layer at the reduced resolution (the module docstring's
  equations); `spatial` is (H / sr, W / sr)."""

  def __init__(self, width: int, *, spatial: tuple[int, int], filter_size: int,
               residual: bool, rngs: nnx.Rngs):
    conv = lambda n: GateConv(width, n * width, filter_size, spatial=spatial,
                              layer_norm=True, use_bias=True, rngs=rngs)
    self.conv_t, self.conv_t_next = conv(3), conv(1)
    self.conv_s, self.conv_s_next = conv(3), conv(1)
    self.residual = residual
    self.sqrt_d = math.sqrt(width * spatial[0] * spatial[1])

  def __call__(self, T, S, t_att, s_att):
    """T, S (B, h, w, C); t_att, s_att (tau, B, h, w, C) -> (T', S')."""
    s_next = self.conv_s_next(S)
    t_next = self.conv_t_next(T)
    logits = jnp.sum(s_att * s_next[None], axis=(2, 3, 4)) / self.sqrt_d
    weights = jax.nn.softmax(logits, axis=0)                # over the tau states
    trend = jnp.einsum("kb,kbhwc->bhwc", weights, t_att)
    gate = jax.nn.sigmoid(t_next)
    fusion = T * gate + (1 - gate) * trend
    t_g, t_t, t_s = split(self.conv_t(fusion), 3)
    s_g, s_t, s_s = split(self.conv_s(S), 3)
    t_gate, s_gate = jax.nn.sigmoid(t_g), jax.nn.sigmoid(s_g)
    T_new = t_gate * t_t + (1 - t_gate) * s_t
    S_new = s_gate * s_s + (1 - s_gate) * t_s
    if self.residual:
      S_new = S_new + S
    return T_new, S_new


class MAU(RecurrentNet):
  """OpenSTL's MAU_Model (module docstring). All layers share one width (the
  reference builds layer i's temporal convs for layer i-1's width and feeds
  them layer i's state, so any other choice fails there)."""

  output_bias = True  # conv_last is OpenSTL's srcnn, a 1x1 conv with bias

  def __init__(self, *, sr_size: int = 4, tau: int = 5, cell_mode: str = "normal",
               model_mode: str = "normal", **kwargs):
    if cell_mode not in CELL_MODES:
      raise ConfigError(f"model.cell_mode={cell_mode!r}; choose one of {CELL_MODES}.")
    if model_mode not in MODEL_MODES:
      raise ConfigError(f"model.model_mode={model_mode!r}; choose one of "
                        f"{MODEL_MODES}.")
    if sr_size < 1 or sr_size & (sr_size - 1):
      raise ConfigError(f"model.sr_size={sr_size} must be a power of 2 (each "
                        f"encoder stage halves the frame); e.g. 1, 2 or 4.")
    if tau < 1:
      raise ConfigError(f"model.tau={tau} must be >= 1 (the states attended over).")
    self.sr_size, self.tau = int(sr_size), int(tau)
    self.cell_mode, self.model_mode = cell_mode, model_mode
    super().__init__(**kwargs)

  def build(self, kw):
    width = self.num_hidden[0]
    if len(set(self.num_hidden)) > 1:
      raise ConfigError(f"MAU's layers share one width; got model.num_hidden="
                        f"{self.num_hidden} (make them equal).")
    (h, w), sr = kw["spatial"], self.sr_size
    if h % sr or w % sr:
      raise ConfigError(f"model.sr_size={sr} must divide the patched frame "
                        f"{h}x{w} (frame size / model.patch_size).")
    self.cell_spatial = (h // sr, w // sr)
    rngs, stages = kw["rngs"], int(math.log2(sr))
    self.encoders = nnx.List(
        [layers.Conv(self.frame_channels, width, 1, rngs=rngs)]
        + [layers.Conv(width, width, 3, stride=2, padding=1, rngs=rngs)
           for _ in range(stages)])
    self.decoders = nnx.List([
        ConvTranspose(width, width, 3, stride=2, padding=1, output_padding=1,
                      rngs=rngs) for _ in range(stages)])
    self.cells = nnx.List([
        MAUCell(width, spatial=self.cell_spatial, filter_size=kw["filter_size"],
                residual=self.cell_mode == "residual", rngs=rngs)
        for _ in self.num_hidden])
    # Built by the reference, never used by its forward pass (module doc).
    self.merge = layers.unused(layers.Conv(2 * width, width, 1, rngs=rngs))
    self.conv_last_sr = layers.unused(layers.Conv(
        2 * self.frame_channels, self.frame_channels, 1, rngs=rngs))

  def init_carry(self, batch, dtype):
    z = zeros(batch, self.cell_spatial, self.num_hidden[0], dtype)
    ring = jnp.zeros((self.tau, *z.shape), dtype)
    # Per layer: T, the last tau temporal states, the last tau spatial inputs.
    return tuple((z, ring, ring) for _ in self.num_hidden)

  def cell_step(self, carry, x, t, transfers=None):
    if transfers:
      raise ValueError("TMU wraps ConvLSTM, PredRNN and MIM, not MAU.")
    features = []
    for encoder in self.encoders:
      x = jax.nn.leaky_relu(encoder(x), _SLOPE)
      features.append(x)
    S, slot = x, t % self.tau
    new = []
    for cell, (T, t_ring, s_ring) in zip(self.cells, carry):
      s_written = jax.lax.dynamic_update_index_in_dim(s_ring, S, slot, 0)
      T, S = cell(T, S, t_ring, s_ring)
      t_written = jax.lax.dynamic_update_index_in_dim(t_ring, T, slot, 0)
      new.append((T, t_written, s_written))
    out = S
    for i, decoder in enumerate(self.decoders):
      out = decoder(out)
      if i < len(self.decoders) - 1:
        out = jax.nn.leaky_relu(out, _SLOPE)
      if self.model_mode == "recall":  # the encoder's map of this size
        out = out + features[-2 - i]
    return tuple(new), out, {}


def defaults(c, *, sampling: str = "c74deb5") -> None:
  """OpenSTL's Moving MNIST MAU (configs/mmnist/MAU.py): 4 layers of 64,
  filter 5, patch 1, sr_size 4, tau 5, normal cell and model modes, lr 1e-3
  (one-cycle, batch 16: the base config's), scheduled sampling as the MAU
  method of `sampling` ("c74deb5": eta stuck at 1 - 2e-5 until 50000
  iterations, then 0; "v0.3.0": eta falling from 1 by 2e-5 per iteration)."""
  if sampling not in SAMPLING_FORMS:
    raise ConfigError(f"mau sampling={sampling!r}; choose one of {SAMPLING_FORMS}.")
  m = c.model
  m.num_hidden = (64, 64, 64, 64)
  m.filter_size = 5
  m.patch_size = 1
  m.sr_size = 4          # the encoder shrinks by this (a power of 2)
  m.tau = 5              # the past states each cell attends over
  m.cell_mode = "normal"   # or "residual": S' += S
  m.model_mode = "normal"  # or "recall": decoder maps plus the encoder's
  m.remat = False
  m.init_from = ""
  sampling_defaults(c)
  if sampling == "c74deb5":  # the method drops the eta it is handed back
    c.sampling.sampling_start_value = 1.0 - c.sampling.sampling_changing_rate
    c.sampling.sampling_changing_rate = 0.0
  c.optim.lr = 1e-3


def smoke(c) -> None:
  c.model.num_hidden = (8, 8)
  c.model.tau = 3


@register_model("mau", family="recurrent", defaults=defaults, smoke=smoke)
def build(cfg, *, in_shape, out_frames, seed=0, pretrained=None):
  model = MAU(in_shape=in_shape, out_frames=out_frames,
              num_hidden=tuple(cfg.num_hidden), filter_size=cfg.filter_size,
              patch_size=cfg.patch_size, sr_size=cfg.sr_size, tau=cfg.tau,
              cell_mode=cfg.cell_mode, model_mode=cfg.model_mode,
              remat=cfg.remat, rngs=nnx.Rngs(seed))
  return start_from(model, cfg.get("init_from", ""), pretrained)
