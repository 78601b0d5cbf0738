"""TMU transfer (Yao et al. 2020): a target recurrent network that learns a
new task with the help of the memories of frozen source networks.

    TMU = a target network + its memory transfers + frozen sources
    per time step, inside the one lax.scan every recurrent model shares:
      target steps on its input; its TMU layers distil their new memory C~
        into one C^_m per source and gate them in (stjax.cells.tmu, Eq. 5)
      training only: each source steps too  -> its memories C^m
    distillation: (C^_m - C^m)^2 over the TMU layers, sources and steps

`model.tmu_variant` reads the method as a whole in one of two ways:

| | "paper" (Sec. 3, Eqs. 2-6) | "code" (thuml/transferable-memory) |
|---|---|---|
| TMU layers | every layer of the backbone (K = L) | layer 0 only; ConvLSTM layers above |
| backbones | ConvLSTM, PredRNN, MIM | ConvLSTM (the release has no other) |
| gates a_m | own convolutions of X_t, H_t-1 | from the layer's one joint conv + LayerNorm |
| hidden state | tanh of the transferred C | tanh of C~ (before the transfer) |
| distillers | 1x1 conv without bias + LayerNorm | the same |
| sources read | the target's input x_t | their own rollout: the same mask, their own predictions where it is 0 |
| distillation | Eq. 4: sum over layers, sources, steps and elements (mean over the batch) | computed (sum over steps of per-element means / (B T)) and never added to the objective |

In "code" the value is reported as `distill_code` and the objective's
`distill` term is 0, so `loss.terms.distill` weighs nothing. `model.
tmu_distill` overrides the distillation's form: "eq6", "code", or "mean" (a
normalised form: the mean over steps and elements, summed over layers and
sources; stjax's first reading, kept as an option). The sources sit under
the attribute `sources`, which the train step leaves out of the optimised
parameters (step.TRAINABLE); their memories pass through stop_gradient. At
test time (`model(x)`, `rollout(..., train=False)`) they are not run.

Sub-scaling (paper variant): a source must have the target's layer count and
widths, and states of the same H x W. A source trained on smaller frames
reads the target frames average-pooled down to its own size (an integer
factor), with its own patch size; anything else is refused at start-up.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from stjax.cells import ConvLSTMCell
from stjax.cells.gates import zeros
from stjax.cells.tmu import MemoryTransfer, TMUCell
from stjax.errors import ConfigError
from stjax.models.finetune import require_loader
from stjax.models.recurrent import (MIM, ConvLSTM, PredRNN, RecurrentNet,
                                    common_kwargs, forecast, patchify,
                                    roll_out, unpatchify)
from stjax.models.recurrent import defaults as recurrent_defaults
from stjax.models.recurrent import smoke as recurrent_smoke
from stjax.models.entry import entry, register_model

BACKBONES = {"convlstm": ConvLSTM, "predrnn": PredRNN, "mim": MIM}
VARIANTS = ("paper", "code")
DISTILL_FORMS = ("eq6", "code", "mean")
DEFAULT_FORM = {"paper": "eq6", "code": "code"}


class TMUConvLSTM(RecurrentNet):
  """The authors' target network (their adaptive_model.RNN): a TMUCell at
  layer 0, then ConvLSTM cells with one bias per gate (their ConvLSTMCell)."""

  def __init__(self, *, num_sources: int, **kwargs):
    self.num_sources = num_sources
    super().__init__(**kwargs)

  def build(self, kw):
    if kw.pop("layer_norm"):
      raise ConfigError("The authors' TMU target has no LayerNorm in its "
                        "ConvLSTM layers (its TMU layer always has one); set "
                        "model.layer_norm=False.")
    n0 = self.num_hidden[0]
    self.tmu = TMUCell(self.in_channels(0), n0, self.num_sources,
                       spatial=kw["spatial"], filter_size=kw["filter_size"],
                       rngs=kw["rngs"])
    self.cells = nnx.List([
        ConvLSTMCell(self.in_channels(i), n, layer_norm=False,
                     input_bias=True, **kw)
        for i, n in enumerate(self.num_hidden) if i > 0])

  def init_carry(self, batch, dtype):
    return tuple((zeros(batch, self.spatial, n, dtype),) * 2
                 for n in self.num_hidden)

  def cell_step(self, carry, x, t, transfers=None):
    """Also returns layer 0's (distilled memories, gates) under aux['tmu']."""
    del transfers
    state, x, distilled, gates = self.tmu(carry[0], x)
    new = [state]
    for cell, state in zip(self.cells, carry[1:]):
      state, x = cell(state, x)
      new.append(state)
    return tuple(new), x, {"tmu": [(distilled, gates)]}

  def memories(self, carry):
    return tuple(c for _, c in carry)


def _check_source(target, source, where: str, variant: str) -> int:
  """The frame down-scaling factor for `source`; raises if it cannot fit."""
  kind = type(source).__name__
  allowed = (ConvLSTM,) if variant == "code" else tuple(BACKBONES.values())
  if not isinstance(source, allowed):
    raise ValueError(f"Source {where} is a {kind}; the {variant!r} TMU "
                     f"distils the memories of "
                     f"{', '.join(c.__name__ for c in allowed)} models.")
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
  if variant == "code" and (factor != 1 or source.patch_size != target.patch_size):
    raise ValueError(f"Source {where}: the authors' code runs its sources on "
                     f"the target's own patches; train it at the target's "
                     f"frame size and patch size.")
  return factor


class TMU(nnx.Module):
  """A target network, its memory transfers (paper variant) and frozen
  sources: see the module docstring. Composed, not derived: the target is
  an ordinary backbone (or the authors' TMUConvLSTM) that steps itself."""


  def __init__(self, target: RecurrentNet, sources, *, variant: str = "paper",
               distill_form: str = "", rngs: nnx.Rngs, source_names=None):
    if variant not in VARIANTS:
      raise ConfigError(f"model.tmu_variant={variant!r}; choose one of "
                        f"{VARIANTS}.")
    distill_form = distill_form or DEFAULT_FORM[variant]
    if distill_form not in DISTILL_FORMS:
      raise ConfigError(f"model.tmu_distill={distill_form!r}; choose one of "
                        f"{DISTILL_FORMS} (or '' for the variant's own).")
    want = TMUConvLSTM if variant == "code" else tuple(BACKBONES.values())
    if not isinstance(target, want):
      raise ValueError(f"The {variant!r} TMU's target is a "
                       f"{getattr(want, '__name__', 'ConvLSTM, PredRNN or MIM')}"
                       f"; got {type(target).__name__}.")
    if variant == "code" and target.num_sources != len(sources):
      raise ValueError(f"The target has {target.num_sources} transfer gates "
                       f"for {len(sources)} sources.")
    names = list(source_names or range(len(sources)))
    self.scales = tuple(_check_source(target, s, str(n), variant)
                        for s, n in zip(sources, names))
    self.variant, self.distill_form = variant, distill_form
    self.target, self.sources = target, nnx.List(list(sources))
    self.in_shape, self.out_frames = target.in_shape, target.out_frames
    self.patch_size, self.num_hidden = target.patch_size, target.num_hidden
    self.remat, self.scan_unroll = target.remat, target.scan_unroll
    self.transfers = nnx.List([
        MemoryTransfer(target.in_channels(i), n, len(sources),
                       spatial=target.spatial, filter_size=target.filter_size,
                       rngs=rngs)
        for i, n in enumerate(target.num_hidden)]
        if sources and variant == "paper" else [])

  # -- the rollout (stjax.models.recurrent.roll_out) ---------------------------
  def rollout(self, frames, true_weight, *, train: bool = True):
    preds, aux = roll_out(self, frames, true_weight, train=train)
    key = "distill_code" if self.variant == "code" else "distill"
    if train:  # per-step means -> the form's total
      b, steps = frames.shape[0], frames.shape[1] - 1
      if self.distill_form == "eq6":
        aux[key] = aux[key] * steps
      elif self.distill_form == "code":  # their divisor: B x total_length
        aux[key] = aux[key] * steps / (b * (steps + 1))
      if self.variant == "code":
        aux["distill"] = jnp.zeros_like(aux[key])
    return preds, aux

  def __call__(self, x, *, train: bool = False, key=None, out_frames=None):
    del train, key
    return forecast(self, x, out_frames)

  def init_carry(self, batch, dtype):
    sources = []
    for s in self.sources:
      carry = s.init_carry(batch, dtype)
      if self.variant == "code":  # a source feeds back its own predictions
        carry = (carry, jnp.zeros((batch, *s.spatial, s.frame_channels), dtype))
      sources.append(carry)
    return self.target.init_carry(batch, dtype), tuple(sources)

  def _source_input(self, x, source, factor):
    """Target patches as `source` patches its (down-scaled) frames."""
    if factor == 1 and source.patch_size == self.patch_size:
      return x
    x = unpatchify(x[:, None], self.patch_size)
    b, _, h, w, c = x.shape
    x = x.reshape(b, 1, h // factor, factor, w // factor, factor, c).mean((3, 5))
    return patchify(x, source.patch_size)[:, 0]

  def _target_step(self, carry, x, t):
    """-> (carry, top hidden state, aux, [(distilled, gates)] per TMU layer)."""
    if self.variant == "code":
      carry, top, aux = self.target.cell_step(carry, x, t)
      aux = dict(aux)
      return carry, top, aux, aux.pop("tmu")
    if not self.sources:
      carry, top, aux = self.target.cell_step(carry, x, t)
      return carry, top, dict(aux), []
    records = []

    def hook(layer):
      def transfer(c, x, h):
        c, distilled, gates = self.transfers[layer](c, x, h)
        records.append((distilled, gates))
        return c
      return transfer
    carry, top, aux = self.target.cell_step(
        carry, x, t, [hook(i) for i in range(len(self.num_hidden))])
    return carry, top, dict(aux), records

  def advance(self, carry, x, frame, w, t, train):
    target_carry, source_carries = carry
    target_carry, top, aux, records = self._target_step(target_carry, x, t)
    for j in range(len(self.sources)):
      aux[f"gate_{j}"] = jnp.mean(jnp.stack(
          [jnp.mean(gates[j]) for _, gates in records]))
    if train:
      new_carries, distill = [], jnp.zeros((), x.dtype)
      for j, (source, s_carry, factor) in enumerate(
          zip(self.sources, source_carries, self.scales)):
        if self.variant == "code":
          s_carry, prev = s_carry
          s_in = w * frame + (1 - w) * prev
        else:
          s_in = self._source_input(x, source, factor)
        s_carry, s_top, _ = source.cell_step(s_carry, s_in, t)
        s_carry = jax.lax.stop_gradient(s_carry)
        for (distilled, _), memory in zip(records, source.memories(s_carry)):
          err = jnp.square(distilled[j] - memory)
          distill = distill + (jnp.sum(err) / err.shape[0]
                               if self.distill_form == "eq6" else jnp.mean(err))
        if self.variant == "code":
          s_carry = (s_carry, jax.lax.stop_gradient(source.conv_last(s_top)))
        new_carries.append(s_carry)
      source_carries = tuple(new_carries)
      aux["distill_code" if self.variant == "code" else "distill"] = distill
    return (target_carry, source_carries), self.target.conv_last(top), aux


def defaults(c, *, backbone: str = "predrnn", sources=(),
             variant: str = "paper") -> None:
  """TMU transfer (Yao et al. 2020): a `backbone` target (convlstm, predrnn or
  mim) at the OpenSTL setting, distilling the memories of the frozen models
  trained in the `sources` workdirs. `variant` reads TMU as the paper
  ("paper": Eq. 6's objective, frame errors and distillation both summed,
  beta 0.1) or as its authors' code ("code": the distillation computed and
  not added; the table above)."""
  recurrent_defaults(c)
  m = c.model
  m.backbone = backbone
  m.sources = tuple(sources)
  m.untrained_sources = 0  # frozen, freshly initialised sources
  m.tmu_variant = variant
  m.tmu_distill = ""       # "" = the variant's form; "eq6", "code", "mean"
  m.gate_bias = False      # ConvLSTM backbone: one bias per gate (TMU code)
  c.loss.terms.distill = 0.1     # beta; the code variant adds nothing
  c.loss.reduction = "sequence_sum" if variant == "paper" else "mean"


@register_model("tmu", family="recurrent", defaults=defaults,
                smoke=recurrent_smoke)
def build(cfg, *, in_shape, out_frames, seed=0, pretrained=None):
  """The target (the backbone, or the authors' TMU ConvLSTM), and the frozen
  sources: the models of the `model.sources` workdirs, then
  `model.untrained_sources` freshly initialised backbones (the paper's
  "TMU (train from scratch)" row)."""
  if cfg.backbone not in BACKBONES:
    raise ConfigError(f"model.backbone={cfg.backbone!r}; TMU wraps one of "
                      f"{tuple(BACKBONES)}.")
  if isinstance(cfg.sources, str):
    raise ConfigError("model.sources is a list of workdirs, not one string; "
                      "write ('path',) for a single source.")
  variant = cfg.get("tmu_variant", "paper")
  paths, untrained = list(cfg.sources), int(cfg.get("untrained_sources", 0))
  if untrained < 0:
    raise ConfigError(f"model.untrained_sources={untrained} must be >= 0.")
  backbone = entry(cfg.backbone).build
  if variant == "code":
    if cfg.backbone != "convlstm":
      raise ConfigError(f"model.tmu_variant='code' is the authors' release, "
                        f"which has a ConvLSTM target only; got "
                        f"model.backbone={cfg.backbone!r} (use 'paper').")
    if cfg.get("init_from", ""):
      raise ConfigError("model.init_from: the authors' TMU layer has no "
                        "counterpart in a plain ConvLSTM to start from.")
    target = TMUConvLSTM(num_sources=len(paths) + untrained,
                         filter_size=cfg.filter_size, **common_kwargs(
                             cfg, in_shape=in_shape, out_frames=out_frames,
                             seed=seed))
  else:
    target = backbone(cfg, in_shape=in_shape, out_frames=out_frames, seed=seed,
                      pretrained=pretrained)
  load = require_loader(pretrained, "model.sources") if paths else None
  fresh = cfg.copy_and_resolve_references()
  fresh.init_from = ""
  sources = [load(path) for path in paths] + [
      backbone(fresh, in_shape=in_shape, out_frames=out_frames,
               seed=seed + 1000 + k) for k in range(untrained)]
  names = paths + [f"untrained {k}" for k in range(untrained)]
  return TMU(target, sources, variant=variant,
             distill_form=cfg.get("tmu_distill", ""), rngs=nnx.Rngs(seed + 1),
             source_names=names)
