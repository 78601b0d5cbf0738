"""TMU transfer (Yao et al. 2020): a target recurrent network that learns a
new task while distilling the memories of frozen source networks.

    per time step, inside the one lax.scan of the rollout:
      sources (frozen) step on the true frame      -> their memories C^m per layer
      target steps on its input; at every layer
        the TMU rewrite (stjax.cells.tmu)          -> distilled C^_m, gates a_m
    loss = frame MSE + beta * sum_{layers, sources} mean_{t, pixels} (C^_m - C^m)^2

The sources read the ground-truth frames (teacher forced, whatever the
target's scheduled sampling feeds it): their memories then describe the
true sequence, which is what they learned to encode. The frame term
averages over time and pixels; the distillation term does too rather than
summing over time as the paper writes it, so beta keeps its meaning for any
sequence length. The sources sit under the attribute `sources`, which the
train step leaves out of the optimised parameters (step.TRAINABLE), and
their memories pass through stop_gradient: no gradient reaches them. At
test time (`model(x)`, `rollout(..., train=False)`) they are not run.

Sub-scaling: a source must have the target's layer count and widths, and
states of the same H x W. A source trained on smaller frames reads the
target frames average-pooled down to its own size (an integer factor), with
its own patch size; anything else is refused at start-up.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from stjax.cells.tmu import MemoryTransfer
from stjax.errors import ConfigError
from stjax.models.finetune import require_loader
from stjax.models.recurrent import (MIM, ConvLSTM, PredRNN, RecurrentNet,
                                    patchify, unpatchify)
from stjax.registry import MODELS

BACKBONES = {"convlstm": ConvLSTM, "predrnn": PredRNN, "mim": MIM}


def _check_source(target: RecurrentNet, source: RecurrentNet, where: str) -> int:
  """The frame down-scaling factor for `source`; raises if it cannot fit."""
  kind = type(source).__name__
  if not isinstance(source, tuple(BACKBONES.values())):
    raise ValueError(f"Source {where} is a {kind}; TMU distils the memories "
                     f"of ConvLSTM, PredRNN or MIM models.")
  if source.num_hidden != target.num_hidden:
    raise ValueError(f"Source {where} has layers {source.num_hidden}, the "
                     f"target {target.num_hidden}: TMU pairs memories layer by "
                     f"layer, so set the target's model.num_hidden to match.")
  if source.spatial != target.spatial:
    size = target.in_shape[1] * source.patch_size // source.in_shape[1]
    hint = (f"model.patch_size={size}" if size and
            target.in_shape[1] // size == source.spatial[0] else
            "a frame size and patch size that give the same state size")
    raise ValueError(f"Source {where} keeps {source.spatial} states, the target "
                     f"{target.spatial}: choose {hint}.")
  factor = target.in_shape[1] // source.in_shape[1]
  if (factor < 1 or target.in_shape[1] != factor * source.in_shape[1]
      or target.in_shape[2] != factor * source.in_shape[2]
      or target.in_shape[3] != source.in_shape[3]):
    raise ValueError(f"Source {where} was trained on {source.in_shape[1:]} "
                     f"frames and cannot read the target's {target.in_shape[1:]}"
                     f" (only an integer down-scaling of the same channels).")
  return factor


class TMU(RecurrentNet):
  """A backbone target, its per-layer memory transfers and frozen sources."""

  def __init__(self, target: RecurrentNet, sources, *, rngs: nnx.Rngs,
               source_names=None):
    # pylint: disable=super-init-not-called  (the target is the network)
    if not isinstance(target, tuple(BACKBONES.values())):
      raise ValueError(f"TMU wraps ConvLSTM, PredRNN or MIM; got "
                       f"{type(target).__name__}.")
    names = list(source_names or range(len(sources)))
    self.scales = tuple(_check_source(target, s, str(n))
                        for s, n in zip(sources, names))
    self.target, self.sources = target, nnx.List(list(sources))
    self.in_shape, self.out_frames = target.in_shape, target.out_frames
    self.patch_size, self.num_hidden = target.patch_size, target.num_hidden
    self.remat, self.spatial = target.remat, target.spatial
    self.scan_unroll = target.scan_unroll
    self.transfers = nnx.List([
        MemoryTransfer(target.in_channels(i), n, len(sources),
                       spatial=target.spatial, filter_size=target.filter_size,
                       rngs=rngs)
        for i, n in enumerate(target.num_hidden)] if sources else [])

  @property
  def conv_last(self):
    return self.target.conv_last

  def init_carry(self, batch, dtype):
    return (self.target.init_carry(batch, dtype),
            tuple(s.init_carry(batch, dtype) for s in self.sources))

  def _source_input(self, frame, source, factor):
    """The target's true-frame patches as `source` patches its frames."""
    if factor == 1 and source.patch_size == self.patch_size:
      return frame
    x = unpatchify(frame[:, None], self.patch_size)
    b, _, h, w, c = x.shape
    x = x.reshape(b, 1, h // factor, factor, w // factor, factor, c).mean((3, 5))
    return patchify(x, source.patch_size)[:, 0]

  def advance(self, carry, net, frame, t, train):
    target_carry, source_carries = carry
    if not self.sources:  # nothing to distill: the backbone alone
      target_carry, top, aux = self.target.cell_step(target_carry, net, t)
      aux = {**aux, "distill": jnp.zeros((), jnp.float32)}
      return (target_carry, source_carries), self.conv_last(top), aux
    records = []

    def hook(layer):
      def transfer(c, x, h):
        c, distilled, gates = self.transfers[layer](c, x, h)
        records.append((distilled, gates))
        return c
      return transfer
    target_carry, top, aux = self.target.cell_step(
        target_carry, net, t, [hook(i) for i in range(len(self.num_hidden))])
    aux = dict(aux)
    for j in range(len(self.sources)):
      aux[f"gate_{j}"] = jnp.mean(jnp.stack(
          [jnp.mean(gates[j]) for _, gates in records]))
    if train:
      new_carries, distill = [], 0.0
      for j, (source, s_carry, factor) in enumerate(
          zip(self.sources, source_carries, self.scales)):
        s_carry, _, _ = source.cell_step(
            s_carry, self._source_input(frame, source, factor), t)
        s_carry = jax.lax.stop_gradient(s_carry)
        for (distilled, _), memory in zip(records, source.memories(s_carry)):
          distill = distill + jnp.mean(jnp.square(distilled[j] - memory))
        new_carries.append(s_carry)
      source_carries, aux["distill"] = tuple(new_carries), distill
    return (target_carry, source_carries), self.conv_last(top), aux


@MODELS.register("tmu")
def build(cfg, *, in_shape, out_frames, seed=0, pretrained=None):
  """The backbone target (started from model.init_from, if set), wrapped with
  the frozen models of the `model.sources` workdirs."""
  if cfg.backbone not in BACKBONES:
    raise ConfigError(f"model.backbone={cfg.backbone!r}; TMU wraps one of "
                      f"{tuple(BACKBONES)}.")
  if isinstance(cfg.sources, str):
    raise ConfigError("model.sources is a list of workdirs, not one string; "
                      "write ('path',) for a single source.")
  target = MODELS.get(cfg.backbone)(cfg, in_shape=in_shape,
                                    out_frames=out_frames, seed=seed,
                                    pretrained=pretrained)
  sources = list(cfg.sources)
  load = require_loader(pretrained, "model.sources") if sources else None
  return TMU(target, [load(path) for path in sources], rngs=nnx.Rngs(seed + 1),
             source_names=sources)
