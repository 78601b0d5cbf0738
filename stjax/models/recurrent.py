"""Recurrent predictors: a stack of cells rolled out over time in one lax.scan.

    frames (B, T, H, W, C) -> space-to-depth patches (B, T, H/p, W/p, p*p*C)
    for t in 0 .. T-2 (one jax.lax.scan step each):
        x_t = w_t * frame_t + (1 - w_t) * prediction_{t-1}
        cells (layers unrolled inside the step) -> 1x1 conv -> prediction_t
    -> predictions of frames 1 .. T-1, patches put back

w is the true-frame weight per sequence and step: 1 feeds the ground truth,
0 the model's own previous output. Training draws it by scheduled sampling
(stjax.train.sampling); inference feeds the T_in observed frames and then its
own predictions. `rollout` is the training and parity interface; calling the
model maps T_in observed frames to T_out predictions like every stjax model.
"""
from __future__ import annotations

import chex
import jax
import ml_collections
import jax.numpy as jnp
from flax import nnx

from stjax import layers, losses
from stjax.cells import (GHU, CausalLSTMCell, ConvLSTMCell, MIMBlock, MIMCell,
                         STLSTMCell)
from stjax.cells.gates import zeros
from stjax.errors import ConfigError
from stjax.models.finetune import start_from
from stjax.models.entry import register_model


def set_scan_unroll(module: nnx.Module, unroll: int | bool) -> nnx.Module:
  """Sets how far every recurrent rollout in `module` is unrolled (True:
  fully, for counting FLOPs: XLA's cost analysis counts a loop body once,
  not once per step). Part of the graph definition, like the conv lowering."""
  for _, m in nnx.iter_modules(module):
    if hasattr(m, "scan_unroll"):  # RecurrentNet, or composed around one
      m.scan_unroll = unroll
  return module


def patchify(frames: jax.Array, p: int) -> jax.Array:
  """(B, T, H, W, C) -> (B, T, H/p, W/p, p*p*C) in the reference's order."""
  b, t, h, w, c = frames.shape
  x = frames.reshape(b, t, h // p, p, w // p, p, c).transpose(0, 1, 2, 4, 3, 5, 6)
  return x.reshape(b, t, h // p, w // p, p * p * c)


def unpatchify(patches: jax.Array, p: int) -> jax.Array:
  b, t, hp, wp, pc = patches.shape
  c = pc // (p * p)
  x = patches.reshape(b, t, hp, wp, p, p, c).transpose(0, 1, 2, 4, 3, 5, 6)
  return x.reshape(b, t, hp * p, wp * p, c)


def inference_weights(batch: int, pre: int, aft: int) -> jax.Array:
  """True frames for the T_in observed steps, own predictions after."""
  w = (jnp.arange(pre + aft - 1) < pre).astype(jnp.float32)
  return jnp.broadcast_to(w, (batch, pre + aft - 1))


class RecurrentNet(nnx.Module):
  """Shared by every recurrent model; a subclass builds its cells and says how
  one time step runs through them (`init_carry`, `cell_step`)."""

  shared_memory = False  # True: one spatiotemporal memory zigzags through all layers
  output_bias = False    # the 1x1 output conv's bias (OpenSTL has none)
  output_conv = True     # False: cell_step's top output is the frame itself

  def __init__(self, *, in_shape, out_frames: int, num_hidden, filter_size: int = 5,
               patch_size: int = 4, layer_norm: bool = False, remat: bool = False,
               scan_unroll: int | bool = 1, rngs: nnx.Rngs):
    t, h, w, c = in_shape
    num_hidden = tuple(int(n) for n in num_hidden)
    if h % patch_size or w % patch_size:
      raise ValueError(f"Frames of {h}x{w} do not split into {patch_size}x"
                       f"{patch_size} patches; set model.patch_size to a "
                       f"divisor of both.")
    if not num_hidden or min(num_hidden) <= 0:
      raise ValueError(f"model.num_hidden={num_hidden} needs one positive "
                       f"width per layer.")
    if self.shared_memory and len(set(num_hidden)) > 1:
      raise ValueError(f"{type(self).__name__} passes one memory through every "
                       f"layer, so all widths must be equal; got "
                       f"model.num_hidden={num_hidden}.")
    if filter_size % 2 == 0:
      raise ValueError(f"model.filter_size={filter_size} must be odd so the "
                       f"states keep their size.")
    self.in_shape, self.out_frames = tuple(in_shape), out_frames
    self.patch_size, self.num_hidden, self.remat = patch_size, num_hidden, remat
    self.filter_size, self.scan_unroll = filter_size, scan_unroll
    self.spatial = (h // patch_size, w // patch_size)
    self.frame_channels = patch_size * patch_size * c
    self.build(dict(spatial=self.spatial, filter_size=filter_size,
                    layer_norm=bool(layer_norm), rngs=rngs))
    if self.output_conv:
      self.conv_last = layers.Conv(self.top_channels(), self.frame_channels, 1,
                                   use_bias=self.output_bias, rngs=rngs)

  def top_channels(self) -> int:
    """The channels of the top state cell_step hands the 1x1 output conv."""
    return self.num_hidden[-1]

  def in_channels(self, i: int) -> int:
    return self.frame_channels if i == 0 else self.num_hidden[i - 1]

  # -- what a subclass defines ------------------------------------------------
  def build(self, kw: dict) -> None:
    """Creates the cells; kw holds the cell arguments shared by all layers."""
    raise NotImplementedError

  def init_carry(self, batch: int, dtype):
    raise NotImplementedError

  def cell_step(self, carry, x, t, transfers=None):
    """(carry, input patches, step index) -> (carry, top hidden state, aux).

    `transfers`, one callable per layer, rewrite each layer's new temporal
    memory (TMU); the backbones TMU wraps (ConvLSTM, PredRNN, MIM) take them.
    """
    raise NotImplementedError

  def memories(self, carry) -> tuple:
    """Each layer's temporal memory c in a carry (what TMU distils)."""
    raise NotImplementedError(f"{type(self).__name__} exposes no memories.")

  def advance(self, carry, net, frame, w, t, train: bool):
    """One time step: (carry, input patches, true frame patches, true-frame
    weight (B, 1, 1, 1), step index) -> (carry, predicted patches, aux). TMU
    (composed around a backbone) has its own, to step its sources."""
    del frame, w, train
    carry, top, aux = self.cell_step(carry, net, t)
    return carry, self.conv_last(top) if self.output_conv else top, aux

  # -- the rollout ----------------------------------------------------------------
  def rollout(self, frames: jax.Array, true_weight: jax.Array, *,
              train: bool = True):
    """frames (B, T, H, W, C), true_weight (B, T-1) -> (predictions of frames
    1..T-1 (B, T-1, H, W, C), aux: per-step auxiliary terms averaged)."""
    return roll_out(self, frames, true_weight, train=train)

  def __call__(self, x: jax.Array, *, train: bool = False, key=None,
               out_frames: int | None = None) -> jax.Array:
    """(B, T_in, H, W, C) observed frames -> (B, T_out, H, W, C) predictions;
    `out_frames` overrides the horizon it was built for (a longer test one)."""
    del train, key  # no dropout; scheduled sampling is rollout's business
    return forecast(self, x, out_frames)


def roll_out(net, frames: jax.Array, true_weight: jax.Array, *, train: bool):
  """The rollout every recurrent model shares, one lax.scan over time.

  `net` is a RecurrentNet, or a module composed around one (TMU), that has
  `in_shape`, `patch_size`, `remat`, `scan_unroll`, `init_carry(batch,
  dtype)` and `advance(carry, input patches, true frame patches, true-frame
  weight, step, train) -> (carry, predicted patches, aux)`. `train=False` lets it skip
  what only the training loss needs (TMU's sources). Returns the
  predictions of frames 1..T-1 and the per-step aux averaged over steps.
  """
  b, t = frames.shape[:2]
  name = type(net).__name__
  if frames.shape[2:] != tuple(net.in_shape[1:]):
    raise ValueError(f"{name} was built for frames {tuple(net.in_shape[1:])} "
                     f"(H, W, C), got {frames.shape[2:]}.")
  if true_weight.shape != (b, t - 1):
    raise ValueError(f"true_weight must be (B, T-1) = {(b, t - 1)}, got "
                     f"{true_weight.shape}.")
  patches = patchify(frames, net.patch_size)
  xs = (jnp.swapaxes(patches[:, :-1], 0, 1),
        jnp.swapaxes(true_weight, 0, 1).astype(patches.dtype),
        jnp.arange(t - 1))
  init = (net.init_carry(b, patches.dtype), jnp.zeros_like(patches[:, 0]))
  graphdef, state = nnx.split(net)

  def step(state, carry, x):
    model = nnx.merge(graphdef, state)
    cells, prev = carry
    frame, w, i = x
    w = w[:, None, None, None]
    inp = w * frame + (1 - w) * prev
    new_cells, pred, aux = model.advance(cells, inp, frame, w, i, train)
    # Traced once: a step keeps the carry's structure and the frame shape.
    chex.assert_trees_all_equal_shapes_and_dtypes(new_cells, cells)
    chex.assert_equal_shape([pred, frame])
    return (new_cells, pred), (pred, aux)

  if net.remat:  # keep only the carries; recompute each step's gates
    step = jax.checkpoint(step)
  _, (preds, aux) = jax.lax.scan(lambda c, x: step(state, c, x), init, xs,
                                 unroll=net.scan_unroll)
  preds = unpatchify(jnp.swapaxes(preds, 0, 1), net.patch_size)
  return preds, jax.tree.map(jnp.mean, aux)


def forecast(net, x: jax.Array, out_frames: int | None = None) -> jax.Array:
  """(B, T_in, H, W, C) observed frames -> (B, T_out, H, W, C) predictions,
  feeding back the model's own output after the observed frames."""
  out_frames = out_frames or net.out_frames
  b, pre = x.shape[:2]
  if pre != net.in_shape[0]:
    raise ValueError(f"{type(net).__name__} was built for {net.in_shape[0]} "
                     f"input frames, got {pre}.")
  future = jnp.zeros((b, out_frames, *x.shape[2:]), x.dtype)
  preds, _ = net.rollout(jnp.concatenate([x, future], axis=1),
                         inference_weights(b, pre, out_frames), train=False)
  return preds[:, pre - 1:]


class ConvLSTM(RecurrentNet):
  """Stacked ConvLSTM (Shi et al. 2015): each layer keeps its own (h, c).
  `legacy` computes the equations of OpenSTL's released weights (docs/from_openstl.md);
  `gate_bias` gives every gate one bias, as Shi et al.'s equations and the
  TMU authors' ConvLSTM (OpenSTL's has none)."""

  def __init__(self, *, legacy: bool = False, gate_bias: bool = False, **kwargs):
    self.legacy, self.gate_bias = legacy, gate_bias
    super().__init__(**kwargs)

  def build(self, kw):
    self.cells = nnx.List([
        ConvLSTMCell(self.in_channels(i), n, legacy=self.legacy,
                     input_bias=self.gate_bias, **kw)
        for i, n in enumerate(self.num_hidden)])

  def init_carry(self, batch, dtype):
    return tuple((zeros(batch, self.spatial, n, dtype),) * 2 for n in self.num_hidden)

  def cell_step(self, carry, x, t, transfers=None):
    new = []
    for i, (cell, state) in enumerate(zip(self.cells, carry)):
      state, x = cell(state, x, transfers[i] if transfers else None)
      new.append(state)
    return tuple(new), x, {}

  def memories(self, carry):
    return tuple(c for _, c in carry)


class PredRNN(RecurrentNet):
  """PredRNN (Wang et al. 2017): ST-LSTM layers whose memory m flows up the
  stack and from the top layer back to the bottom at the next step."""

  shared_memory = True

  def build(self, kw):
    self.cells = nnx.List([
        STLSTMCell(self.in_channels(i), n, **kw)
        for i, n in enumerate(self.num_hidden)])

  def init_carry(self, batch, dtype):
    n = self.num_hidden[0]
    hc = tuple((zeros(batch, self.spatial, n, dtype),) * 2 for _ in self.num_hidden)
    return hc, zeros(batch, self.spatial, n, dtype)

  def layer(self, cell, state, m, x, transfer=None):
    (h, c, m), h, _ = cell.step((*state, m), x, transfer)
    return (h, c), m, h, {}

  def cell_step(self, carry, x, t, transfers=None):
    hc, m = carry
    new, extras = [], []
    for i, (cell, state) in enumerate(zip(self.cells, hc)):
      state, m, x, extra = self.layer(cell, state, m, x,
                                      transfers[i] if transfers else None)
      new.append(state)
      extras.append(extra)
    return (tuple(new), m), x, self.combine(extras)

  def memories(self, carry):
    return tuple(c for _, c in carry[0])

  def combine(self, extras):
    return {}


class PredRNNv2(PredRNN):
  """PredRNN-V2 (Wang et al. 2022): PredRNN plus the memory-decoupling loss.

  A shared 1x1 `adapter` maps each layer's increments delta_c = i * g and
  delta_m = i' * g'; the loss is |cos| between them per channel (flattened
  over H*W), averaged over batch, channels, layers and steps (Eq. 6).
  Reverse scheduled sampling is a training choice (config `sampling`).
  """

  def build(self, kw):
    super().build(kw)
    n = self.num_hidden[0]
    self.adapter = layers.Conv(n, n, 1, use_bias=False, rngs=kw["rngs"])

  def layer(self, cell, state, m, x, transfer=None):
    (h, c, m), h, (delta_c, delta_m) = cell.step((*state, m), x, transfer)
    return (h, c), m, h, {"decouple": losses.decoupling(
        self.adapter(delta_c), self.adapter(delta_m))}

  def combine(self, extras):
    return {"decouple": jnp.mean(jnp.stack([e["decouple"] for e in extras]))}


class PredRNNpp(RecurrentNet):
  """PredRNN++ (Wang et al. 2018): Causal LSTM layers with the zigzag memory
  and a Gradient Highway Unit between the first and second layer. `legacy`
  as ConvLSTM's."""

  shared_memory = True

  def __init__(self, *, legacy: bool = False, **kwargs):
    self.legacy = legacy
    super().__init__(**kwargs)

  def build(self, kw):
    if len(self.num_hidden) < 2:
      raise ValueError("PredRNN++ puts its gradient highway between the first "
                       "two layers; model.num_hidden needs at least 2 layers.")
    self.cells = nnx.List([
        CausalLSTMCell(self.in_channels(i), n, legacy=self.legacy, **kw)
        for i, n in enumerate(self.num_hidden)])
    n = self.num_hidden[0]
    self.ghu = GHU(n, n, **kw)

  def init_carry(self, batch, dtype):
    n = self.num_hidden[0]
    hc = tuple((zeros(batch, self.spatial, n, dtype),) * 2 for _ in self.num_hidden)
    return hc, zeros(batch, self.spatial, n, dtype), zeros(batch, self.spatial, n, dtype)

  def cell_step(self, carry, x, t, transfers=None):
    if transfers:
      raise ValueError("TMU wraps ConvLSTM, PredRNN and MIM, not PredRNN++.")
    hc, m, z = carry
    new = []
    for i, (cell, (h, c)) in enumerate(zip(self.cells, hc)):
      (h, c, m), x = cell((h, c, m), x)
      new.append((h, c))
      if i == 0:
        z, x = self.ghu(z, x)
    return (tuple(new), m, z), x, {}


class MIM(RecurrentNet):
  """MIM (Wang et al. 2019): an ST-LSTM first layer, MIM blocks above it, and
  one MIM-N per block fed the difference of consecutive hidden states of the
  layer below (MIM-N outputs cascade upwards). At the first step there is no
  difference yet: the blocks read zeros and MIM-N keeps its zero state.

  `stop_mim_s_gradient` (OpenSTL, whose tables were trained so) cuts the
  gradient along each block's MIM-S memory between time steps; the authors'
  code lets it flow (False). The forward pass is the same either way.

  `ablation` gives the paper's Table 3 rows: "no_mim_n" drops MIM-N, so each
  block's MIM-S reads the difference of consecutive hidden states of the
  layer below itself (Eq. 4's input); "no_mim_s" drops MIM-S (MIMBlock says
  what stands in for it).
  """

  shared_memory = True
  ABLATIONS = ("", "no_mim_n", "no_mim_s")

  def __init__(self, *, stop_mim_s_gradient: bool = True, ablation: str = "",
               **kwargs):
    if ablation not in self.ABLATIONS:
      raise ConfigError(f"model.mim_ablation={ablation!r}; choose one of "
                        f"{self.ABLATIONS}.")
    self.stop_mim_s_gradient, self.ablation = stop_mim_s_gradient, ablation
    super().__init__(**kwargs)

  def build(self, kw):
    if len(self.num_hidden) < 2:
      raise ValueError("MIM needs at least 2 layers (an ST-LSTM, then MIM "
                       "blocks); set model.num_hidden accordingly.")
    self.cells = nnx.List(
        [STLSTMCell(self.frame_channels, self.num_hidden[0], **kw)]
        + [MIMBlock(self.in_channels(i), n, stationary=self.ablation != "no_mim_s",
                    **kw)
           for i, n in enumerate(self.num_hidden) if i > 0])
    self.mim_n = nnx.List([
        MIMCell(self.num_hidden[i], self.num_hidden[i + 1], **kw)
        for i in range(len(self.num_hidden) - 1)]
        if self.ablation != "no_mim_n" else [])

  def init_carry(self, batch, dtype):
    z = zeros(batch, self.spatial, self.num_hidden[0], dtype)
    layers_ = len(self.num_hidden)
    first = (z, z)                                  # h, c of the ST-LSTM
    blocks = tuple((z, z, z) for _ in range(layers_ - 1))   # h, c, MIM-S memory
    diffs = tuple((z, z) for _ in range(layers_ - 1))       # MIM-N h, c
    return first, blocks, diffs, z                   # z: the zigzag memory m

  def cell_step(self, carry, x, t, transfers=None):
    transfers = transfers or (None,) * len(self.num_hidden)
    (h0, c0), blocks, diffs, m = carry
    (h, c0, m), _, _ = self.cells[0].step((h0, c0, m), x, transfers[0])
    below, new_blocks, new_diffs, d = h, [], [], None
    below_prev = h0
    for i, (block, (hb, cb, sb), diff) in enumerate(
        zip(self.cells[1:], blocks, diffs)):
      if self.ablation == "no_mim_n":  # the raw difference, zero at t = 0
        d = jnp.where(t > 0, below - below_prev, jnp.zeros_like(below))
        below_prev = hb
      else:
        d_in = h - h0 if i == 0 else d
        stepped, _ = self.mim_n[i](diff, d_in)
        diff = jax.tree.map(lambda n, o: jnp.where(t > 0, n, o), stepped, diff)
        d = diff[0]
      if self.stop_mim_s_gradient:  # OpenSTL detaches the carried MIM-S memory
        sb = jax.lax.stop_gradient(sb)
      (hb, cb, m, sb), below = block((hb, cb, m, sb), (below, d),
                                     transfers[i + 1])
      new_blocks.append((hb, cb, sb))
      new_diffs.append(diff)
    return ((h, c0), tuple(new_blocks), tuple(new_diffs), m), below, {}

  def memories(self, carry):
    (_, c0), blocks, _, _ = carry
    return (c0,) + tuple(c for _, c, _ in blocks)


_LEGACY = (ConvLSTM, PredRNNpp)  # the models whose cells have a legacy form
# Model-specific config keys: (class, key, default for configs without it).
_OPTIONS = ((MIM, "stop_mim_s_gradient", True), (ConvLSTM, "gate_bias", False))
# Options read as strings (not booleans): (owner, config key, constructor key, default)
_STR_OPTIONS = ((MIM, "mim_ablation", "ablation", ""),)


def common_kwargs(cfg, *, in_shape, out_frames, seed) -> dict:
  """The constructor arguments every recurrent model reads from its config."""
  return dict(in_shape=in_shape, out_frames=out_frames,
              num_hidden=tuple(cfg.num_hidden), patch_size=cfg.patch_size,
              layer_norm=cfg.layer_norm, remat=cfg.remat, rngs=nnx.Rngs(seed))


def sampling_defaults(c) -> None:
  """The `sampling` section a recurrent family trains with: OpenSTL's
  scheduled sampling, eta from 1.0 by 2e-5 per iteration until 50000 (the
  reverse sampling fields used when switched on; stjax.train.sampling)."""
  c.sampling = ml_collections.ConfigDict()
  s = c.sampling
  s.scheduled_sampling = True
  # "openstl": eta from start_value by changing_rate per step until stop_iter;
  # "linear_over_run": from start_value to 0 over the whole run (MS-LSTM code).
  s.schedule = "openstl"
  s.sampling_start_value = 1.0
  s.sampling_changing_rate = 2e-5
  s.sampling_stop_iter = 50000
  s.reverse_scheduled_sampling = False
  s.r_sampling_step_1 = 25000
  s.r_sampling_step_2 = 50000
  s.r_exp_alpha = 5000.0


def stack_defaults(c, *, num_hidden, patch_size) -> None:
  """What every stacked recurrent model reads, and its sampling section."""
  m = c.model
  m.num_hidden = tuple(num_hidden)
  m.patch_size = patch_size
  m.layer_norm = False
  m.remat = False           # recompute each step's gates in the backward pass
  sampling_defaults(c)


def defaults(c, **options) -> None:
  """A recurrent model at the OpenSTL Moving MNIST setting: 4 layers of 128,
  filter 5, patch 4, lr 5e-4, OpenSTL's scheduled sampling."""
  if options:
    raise ConfigError(f"model.name={c.model.name!r} takes no options; got "
                      f"{sorted(options)} (set c.model.<key> instead).")
  name = c.model.name
  stack_defaults(c, num_hidden=(128, 128, 128, 128), patch_size=4)
  if name == "predrnnv2":
    c.loss.terms.decouple = 0.1  # the reference's decouple_beta
  if name in ("mim", "tmu"):  # TMU: for a MIM backbone
    # OpenSTL cuts the gradient along MIM-S between steps (its tables were
    # trained so); the MIM authors' code keeps it (False).
    c.model.stop_mim_s_gradient = True
  c.model.filter_size = 5
  c.model.legacy_openstl = False  # equations of OpenSTL's released weights (docs/from_openstl.md)
  c.model.init_from = ""  # a finished run's workdir: start from its parameters
  c.optim.lr = 5e-4


def smoke(c) -> None:
  c.model.num_hidden = (16, 16)


def _register(name: str, cls) -> None:
  def build(cfg, *, in_shape, out_frames, seed=0, pretrained=None):
    kwargs = common_kwargs(cfg, in_shape=in_shape, out_frames=out_frames,
                           seed=seed)
    legacy = bool(cfg.get("legacy_openstl", False))
    if cls in _LEGACY:
      kwargs["legacy"] = legacy
    elif legacy:
      raise ConfigError(f"model.legacy_openstl=True changes the ConvLSTM and "
                        f"PredRNN++ cells only; {name} has no legacy form.")
    for owner, key, default in _OPTIONS:
      if cls is owner:
        kwargs[key] = bool(cfg.get(key, default))
    for owner, key, arg, default in _STR_OPTIONS:
      if cls is owner:
        kwargs[arg] = str(cfg.get(key, default))
    model = cls(filter_size=cfg.filter_size, **kwargs)
    return start_from(model, cfg.get("init_from", ""), pretrained)
  register_model(name, family="recurrent", defaults=defaults,
                 smoke=smoke)(build)


# The stacked models of OpenSTL's recurrent methods, by config name.
STACKS = {"convlstm": ConvLSTM, "predrnn": PredRNN, "predrnnpp": PredRNNpp,
          "predrnnv2": PredRNNv2, "mim": MIM}
for _name, _cls in STACKS.items():
  _register(_name, _cls)
