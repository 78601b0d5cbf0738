"""PhyDNet (Le Guen & Thome, CVPR 2020) as OpenSTL runs it
(openstl/models/phydnet_model.py, modules/phydnet_modules.py,
methods/phydnet.py).

    frame -> encoder E (3 convs, the first stride 2, the third stride
             patch_size / 2; GroupNorm(16), LeakyReLU 0.2) -> 64 channels
          -> E_p -> PhyCell:   H~ = H + F(H)  (F: 7x7 conv to 49, GroupNorm(7),
                               1x1 conv back), K = sigmoid(conv3x3([x, H])),
                               H' = H~ + K (x - H~)
          -> E_r -> ConvLSTM:  3 layers (128, 128, 64), 3x3, with biases
    sigmoid(D(D_p(H_phys) + D_r(H_conv)))  (transposed convs mirroring E)

It steps as the recurrent models do (stjax.models.recurrent): the T_in - 1
encoding steps see the true frames; the decoder starts from the last
observed frame and is teacher forced (fed the true next frame) or fed its
own prediction, one coin per iteration with chance max(0, 1 - 0.003
epoch) (`sampling.schedule = "teacher_forcing"`).

The moment loss (the physical constraint): each of the 64 input channels'
49 kernels of F's 7x7 conv, turned into moments by K2M (m = M k M^T with
M[i, j] = (j - 3)^i / i!), should be the 49 unit moment matrices; the loss
is the sum over channels of their MSE. The model's objective (reported in
aux as "phydnet", the config's only loss term) is
    L = sum over the T-1 steps of MSE(prediction, next frame) + moment loss,
which is what the PhyDNet authors' code minimises (`objective = "paper"`).
OpenSTL's training step hands L to its criterion as if it were the
prediction, MSE(L, future frames) = mean((L - y)^2), and minimises that
(`objective = "openstl"`, the configs' default, its tables' setting).
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import nnx

from stjax import layers
from stjax.cells.gates import split
from stjax.errors import ConfigError
from stjax.models.entry import register_model
from stjax.models.finetune import start_from
from stjax.models.mau import ConvTranspose
from stjax.models.recurrent import RecurrentNet, sampling_defaults

OBJECTIVES = ("openstl", "paper")
_SLOPE = 0.2
_MOMENT_KERNEL = 7


def moment_matrix(size: int = _MOMENT_KERNEL) -> np.ndarray:
  """K2M's M: M[i, j] = (j - (size - 1) // 2)^i / i! (float64)."""
  j = np.arange(size) - (size - 1) // 2
  return np.stack([j.astype(np.float64) ** i / math.factorial(i) for i in range(size)])


class ConvBlock(nnx.Module):
  """OpenSTL's dcgan_conv / dcgan_upconv: (transposed) 3x3 conv, GroupNorm(16),
  LeakyReLU(0.2)."""

  def __init__(self, cin: int, cout: int, stride: int, *, up: bool, rngs: nnx.Rngs):
    self.conv = (ConvTranspose(cin, cout, 3, stride=stride, padding=1,
                               output_padding=int(stride == 2), rngs=rngs)
                 if up else layers.Conv(cin, cout, 3, stride=stride, padding=1, rngs=rngs))
    self.norm = layers.group_norm(cout, 16, rngs=rngs)

  def __call__(self, x):
    return jax.nn.leaky_relu(self.norm(self.conv(x)), _SLOPE)


class PhyCell(nnx.Module):
  """OpenSTL's PhyCell_Cell (one layer, as its PhyDNet builds it)."""

  def __init__(self, width: int, hidden: int, *, rngs: nnx.Rngs):
    self.conv1 = layers.Conv(width, hidden, _MOMENT_KERNEL, rngs=rngs)
    self.norm = layers.group_norm(hidden, 7, rngs=rngs)
    self.conv2 = layers.Conv(hidden, width, 1, rngs=rngs)
    self.convgate = layers.Conv(2 * width, width, 3, rngs=rngs)

  def __call__(self, x, h):
    k = jax.nn.sigmoid(self.convgate(jnp.concatenate([x, h], axis=-1)))
    h_tilde = h + self.conv2(self.norm(self.conv1(h)))
    return h_tilde + k * (x - h_tilde)

  def moment_loss(self) -> jax.Array:
    """Sum over input channels of MSE(K2M(kernels), unit moments). The
    moments pass through float32 as OpenSTL's `k2m(filters.double()).float()`
    (a no-op when training in float32)."""
    kernel = self.conv1.kernel[...]                  # (7, 7, C_in, 49)
    kernel = kernel.astype(jnp.promote_types(kernel.dtype, jnp.float32))
    m = jnp.asarray(moment_matrix(), kernel.dtype)
    moments = jnp.einsum("ai,bj,ijco->coab", m, m, kernel)
    moments = moments.astype(jnp.float32).astype(kernel.dtype)
    n = kernel.shape[-1]
    target = jnp.eye(_MOMENT_KERNEL * _MOMENT_KERNEL, n, dtype=kernel.dtype).T.reshape(
        n, _MOMENT_KERNEL, _MOMENT_KERNEL)
    return jnp.sum(jnp.mean(jnp.square(moments - target), axis=(1, 2, 3)))


class ConvLSTMCell(nnx.Module):
  """OpenSTL's PhyD_ConvLSTM_Cell: one conv over [x, h] with a bias, gates i,
  f, o, g."""

  def __init__(self, cin: int, width: int, *, rngs: nnx.Rngs):
    self.conv = layers.Conv(cin + width, 4 * width, 3, rngs=rngs)

  def __call__(self, x, h, c):
    i, f, o, g = split(self.conv(jnp.concatenate([x, h], axis=-1)), 4)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    return jax.nn.sigmoid(o) * jnp.tanh(c), c


def run(blocks, x):
  """x through a chain of blocks."""
  for block in blocks:
    x = block(x)
  return x


class PhyDNet(RecurrentNet):
  """OpenSTL's PhyDNet_Model (module docstring); `num_hidden` are the
  ConvLSTM's widths, the last one twice `encoder_width` (it is added to the
  PhyCell branch); OpenSTL's are (128, 128, 64) and 32."""

  output_conv = False  # the decoder makes the frame

  def __init__(self, *, stride: int = 4, phycell_hidden: int = 49,
               encoder_width: int = 32, objective: str = "openstl", **kwargs):
    if stride not in (2, 4):
      raise ConfigError(f"model.patch_size={stride}: PhyDNet's encoder shrinks "
                        f"the frame by 2 or 4 (OpenSTL takes 4 for anything else).")
    if objective not in OBJECTIVES:
      raise ConfigError(f"model.phydnet_objective={objective!r}; choose one of "
                        f"{OBJECTIVES}.")
    if encoder_width % 16:
      raise ConfigError(f"model.encoder_width={encoder_width} must divide into "
                        f"GroupNorm's 16 groups.")
    if phycell_hidden % 7:
      raise ConfigError(f"model.phycell_hidden={phycell_hidden} must divide into "
                        f"GroupNorm's 7 groups.")
    self.stride, self.phycell_hidden, self.objective = stride, phycell_hidden, objective
    self.nf = encoder_width  # E's first width; the branches run at 2 * nf
    super().__init__(patch_size=1, filter_size=3, **kwargs)

  def build(self, kw):
    rngs, (h, w), nf = kw["rngs"], kw["spatial"], self.nf
    width = 2 * nf
    if h % self.stride or w % self.stride:
      raise ConfigError(f"PhyDNet's encoder shrinks {h}x{w} frames by "
                        f"{self.stride}; both must divide.")
    if self.num_hidden[-1] != width:
      raise ConfigError(f"model.num_hidden={self.num_hidden}: the last ConvLSTM "
                        f"width must be {width}, the PhyCell branch's.")
    self.state_spatial = (h // self.stride, w // self.stride)
    conv = lambda i, o, s=1: ConvBlock(i, o, s, up=False, rngs=rngs)
    up = lambda i, o, s=1: ConvBlock(i, o, s, up=True, rngs=rngs)
    self.encoder_E = nnx.List([conv(self.frame_channels, nf, 2), conv(nf, nf),
                               conv(nf, width, self.stride // 2)])
    self.encoder_Ep = nnx.List([conv(width, width), conv(width, width)])
    self.encoder_Er = nnx.List([conv(width, width), conv(width, width)])
    self.decoder_Dp = nnx.List([up(width, width), up(width, width)])
    self.decoder_Dr = nnx.List([up(width, width), up(width, width)])
    self.decoder_D = nnx.List([up(width, nf, 2), up(nf, nf)])
    s2 = self.stride // 2
    self.decoder_out = ConvTranspose(nf, self.frame_channels, 3, stride=s2, padding=1,
                                     output_padding=int(s2 == 2), rngs=rngs)
    self.phycell = PhyCell(width, self.phycell_hidden, rngs=rngs)
    self.convcells = nnx.List([
        ConvLSTMCell(width if i == 0 else self.num_hidden[i - 1], n, rngs=rngs)
        for i, n in enumerate(self.num_hidden)])

  def init_carry(self, batch, dtype):
    z = lambda c: jnp.zeros((batch, *self.state_spatial, c), dtype)
    return z(2 * self.nf), tuple((z(n), z(n)) for n in self.num_hidden)

  def cell_step(self, carry, x, t, transfers=None):
    if transfers:
      raise ValueError("TMU wraps ConvLSTM, PredRNN and MIM, not PhyDNet.")
    h_phys, lstm = carry
    e = run(self.encoder_E, x)
    h_phys = self.phycell(run(self.encoder_Ep, e), h_phys)
    y, new = run(self.encoder_Er, e), []
    for cell, (h, c) in zip(self.convcells, lstm):
      h, c = cell(y, h, c)
      new.append((h, c))
      y = h
    mixed = run(self.decoder_Dp, h_phys) + run(self.decoder_Dr, y)
    frame = jax.nn.sigmoid(self.decoder_out(run(self.decoder_D, mixed)))
    return (h_phys, tuple(new)), frame, {}

  def rollout(self, frames, true_weight, *, train: bool = True):
    preds, aux = super().rollout(frames, true_weight, train=train)
    moment = self.phycell.moment_loss()
    steps = preds.shape[1]
    wide = jnp.promote_types(preds.dtype, jnp.float32)  # bfloat16 compute: f32 losses
    err = jnp.square(preds.astype(wide) - frames[:, 1:].astype(wide))
    total = steps * jnp.mean(err) + moment.astype(wide)  # the sum of the step MSEs
    if self.objective == "openstl":  # MSE(L, batch_y): L taken for a prediction
      future = frames[:, self.in_shape[0]:].astype(wide)
      total = jnp.mean(jnp.square(total - future))
    # "mse" (the steps' mean) is logged beside the objective, which is no MSE.
    return preds, {**aux, "moment": moment, "mse": jnp.mean(err), "phydnet": total}


def defaults(c, **options) -> None:
  """OpenSTL's Moving MNIST PhyDNet (configs/mmnist/PhyDNet.py): patch 4 (the
  encoder's stride), lr 1e-3 one-cycle, batch 16; teacher forcing with chance
  1 - 0.003 epoch; OpenSTL's objective."""
  if options:
    raise ConfigError(f"model.name='phydnet' takes no options; got {sorted(options)}.")
  m = c.model
  m.num_hidden = (128, 128, 64)   # the ConvLSTM branch
  m.phycell_hidden = 49           # F's hidden width (7 x 7 moments)
  m.encoder_width = 32            # E's first width; the two branches run at twice it
  m.patch_size = 4                # the encoder's stride: 2 or 4
  m.phydnet_objective = "openstl"  # or "paper": L itself
  m.layer_norm = False
  m.remat = False
  m.init_from = ""
  sampling_defaults(c)
  c.sampling.schedule = "teacher_forcing"
  c.sampling.sampling_start_value = 1.0
  c.sampling.sampling_changing_rate = 0.003  # per epoch
  c.loss.terms = ml_collections.ConfigDict({"phydnet": 1.0})  # the model's objective
  c.optim.lr = 1e-3


def smoke(c) -> None:
  c.model.num_hidden = (16, 64)


@register_model("phydnet", family="recurrent", defaults=defaults, smoke=smoke)
def build(cfg, *, in_shape, out_frames, seed=0, pretrained=None):
  model = PhyDNet(in_shape=in_shape, out_frames=out_frames,
                  num_hidden=tuple(cfg.num_hidden), stride=cfg.patch_size,
                  phycell_hidden=cfg.phycell_hidden, encoder_width=cfg.encoder_width,
                  objective=cfg.phydnet_objective,
                  layer_norm=False, remat=cfg.remat, rngs=nnx.Rngs(seed))
  return start_from(model, cfg.get("init_from", ""), pretrained)
