"""E3D-LSTM, the eidetic 3D LSTM (Wang et al., ICLR 2019), as OpenSTL runs it
(openstl/models/e3dlstm_model.py, modules/e3dlstm_modules.py).

Every state is a window of D = 2 frames, kept (B, H, W, D, C). Step t sees
the window (x_{t-1}, x_t) of its inputs (x_{-1} = 0). OpenSTL's 3-D gate
convs have kernel (2, 5, 5) with no temporal padding over a window of 2, so
each is a 2-D 5x5 conv over the window's frames stacked on the channels,
its single output frame repeated over the window (`tf_Conv3d`'s nearest
interpolation back to depth 2). Per layer (sigma the sigmoid):
    i_h g_h r_h o_h = conv_h(H);  i_x g_x r_x o_x i'_x g'_x f'_x = conv_x(X)
    i = sigma(i_x + i_h), r = sigma(r_x + r_h), g = tanh(g_x + g_h)
    C' = LN(C + Attn(r, history of C)) + i g           (the eidetic cell)
    i_m f_m g_m m_m = conv_gm(M)
    M' = sigma(f'_x + f_m + 1) tanh(m_m) + sigma(i'_x + i_m) tanh(g'_x + g_m)
    o = tanh(o_x + o_h + conv_new_cell(C') + conv_new_gm(M'))
    H' = tanh(conv_last([C', M'])) sigma(o)                (1x1, per frame)
and the prediction is a conv of kernel (2, 1, 1) over the top H' window
(a 1x1 conv over its two frames' channels).

OpenSTL's quirks, reproduced (docs/models/openstl_methods.md):
- Attn(q, K) = softmax(q K^T) K with no scaling, over arrays *reshaped*, not
  permuted: the (C, D, H, W) memory of each state read as rows of C
  consecutive numbers, (D H W) rows per state; the history is every earlier
  C (the zero initial one first), concatenated along channels, so it grows
  by D H W keys a step. Under lax.scan it is a fixed buffer of T-1 states
  with the not-yet-written ones masked out of the softmax.
- The cell hands back the global memory it was given, not M', so the
  memory passed between layers and steps stays the zeros it starts as
  (`model.e3d_memory = "openstl"`); `"updated"` passes M' on, as the
  paper's Eq. 4-5 do.
- Its loss is MSE + L1 (`loss.terms = {mse: 1, mae: 1}`).
- `stride` (OpenSTL's KTH config: 2) strides the five gate convs, whose
  outputs tf_Conv3d brings back to the map's size by nearest interpolation.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from stjax import layers
from stjax.cells.gates import LayerNorm, split
from stjax.errors import ConfigError
from stjax.models.entry import register_model
from stjax.models.finetune import start_from
from stjax.models.recurrent import RecurrentNet, common_kwargs, stack_defaults

WINDOW = 2  # OpenSTL's window_length (window_stride 1)
MEMORY_FORMS = ("openstl", "updated")
_FORGET_BIAS = 1.0


def nearest_indices(size_in: int, size_out: int) -> np.ndarray:
  """PyTorch's F.interpolate(mode="nearest") source index of each output
  position: min(floor(i * in / out), in - 1)."""
  scale = np.float32(size_in) / np.float32(size_out)
  return np.minimum(np.floor(np.arange(size_out, dtype=np.float32) * scale).astype(int),
                    size_in - 1)


class WindowConv(nnx.Module):
  """OpenSTL's tf_Conv3d with kernel (2, k, k) over a window of 2 frames:
  a 2-D conv over both frames' channels (with `stride`, then PyTorch's
  nearest interpolation back to the map's size), repeated over the window,
  [-> the LayerNorm over (H, W, D, C) of `layer_norm = 1`]."""

  def __init__(self, in_ch: int, out_ch: int, kernel: int, *, norm_shape, stride: int = 1,
               rngs):
    self.stride = stride
    self.conv = layers.Conv(WINDOW * in_ch, out_ch, kernel, stride=stride,
                            padding=kernel // 2, use_bias=False, rngs=rngs)
    self.norm = LayerNorm((*norm_shape, WINDOW, out_ch)) if norm_shape else None

  def __call__(self, x: jax.Array) -> jax.Array:
    b, h, w, d, c = x.shape
    y = self.conv(x.reshape(b, h, w, d * c))
    if self.stride > 1:  # tf_Conv3d's F.interpolate(size=input size, "nearest")
      y = y[:, nearest_indices(y.shape[1], h)][:, :, nearest_indices(y.shape[2], w)]
    y = jnp.broadcast_to(y[:, :, :, None], (b, h, w, WINDOW, y.shape[-1]))
    return y if self.norm is None else self.norm(y)


def _as_rows(x: jax.Array) -> jax.Array:
  """(B, H, W, D, C) -> (B, D H W, C): PyTorch's (B, C, D, H, W) memory read
  as rows of C numbers (the reference's `reshape(batch, -1, C)`)."""
  b = x.shape[0]
  return jnp.transpose(x, (0, 4, 3, 1, 2)).reshape(b, -1, x.shape[-1])


def _from_rows(rows: jax.Array, shape) -> jax.Array:
  """The inverse of _as_rows for a state of `shape` (B, H, W, D, C)."""
  b, h, w, d, c = shape
  return jnp.transpose(rows.reshape(b, c, d, h, w), (0, 3, 4, 2, 1))


def eidetic_attention(query: jax.Array, keys: jax.Array, valid: jax.Array, *,
                      fused: bool) -> jax.Array:
  """softmax(q k^T) k over the valid keys, unscaled: query (B, N, C), keys
  (B, S N, C) (S history slots), valid (S N,) booleans. `fused`: through
  jax.nn.dot_product_attention (the fused kernel on GPUs); else written out,
  as on the CPU, where XLA ran the former 17x slower forward (B 8, N 512,
  S 19, C 8: 2.9 s against 0.17 s), and for float64 (the parity checks),
  which the fused form computes in float32."""
  if fused and query.dtype != jnp.float64:
    out = jax.nn.dot_product_attention(query[:, :, None], keys[:, :, None],
                                       keys[:, :, None], scale=1.0,
                                       mask=valid[None, None, None, :])
    return out[:, :, 0]
  logits = jnp.einsum("bnc,bmc->bnm", query, keys)
  logits = jnp.where(valid, logits, -jnp.inf)
  return jnp.einsum("bnm,bmc->bnc", jax.nn.softmax(logits, axis=-1), keys)


class EideticCell(nnx.Module):
  """One E3D-LSTM layer (the module docstring's equations)."""

  def __init__(self, in_ch: int, width: int, *, spatial, layer_norm: bool,
               kernel: int, stride: int = 1, rngs: nnx.Rngs):
    norm = spatial if layer_norm else None
    conv = lambda i, o, k=kernel: WindowConv(i, o, k, norm_shape=norm, stride=stride,
                                             rngs=rngs)
    self.conv_x = conv(in_ch, 7 * width)
    self.conv_h = conv(width, 4 * width)
    self.conv_gm = conv(width, 4 * width)
    self.conv_new_cell = conv(width, width)
    self.conv_new_gm = conv(width, width)
    self.conv_last = layers.Conv(2 * width, width, 1, use_bias=False, rngs=rngs)
    self.norm_c = LayerNorm((*spatial, WINDOW, width))
    self.fused_attention = not layers.cpu_lowering_default()

  def __call__(self, x, h, c, m, history, valid):
    i_h, g_h, r_h, o_h = split(self.conv_h(h), 4)
    i_x, g_x, r_x, o_x, ti_x, tg_x, tf_x = split(self.conv_x(x), 7)
    i = jax.nn.sigmoid(i_x + i_h)
    r = jax.nn.sigmoid(r_x + r_h)
    g = jnp.tanh(g_x + g_h)
    recalled = _from_rows(eidetic_attention(_as_rows(r), history, valid,
                                             fused=self.fused_attention), c.shape)
    c_new = self.norm_c(c + recalled) + i * g
    i_m, f_m, g_m, m_m = split(self.conv_gm(m), 4)
    m_new = (jax.nn.sigmoid(tf_x + f_m + _FORGET_BIAS) * jnp.tanh(m_m)
             + jax.nn.sigmoid(ti_x + i_m) * jnp.tanh(tg_x + g_m))
    o = jnp.tanh(o_x + o_h + self.conv_new_cell(c_new) + self.conv_new_gm(m_new))
    memory = self.conv_last(jnp.concatenate([c_new, m_new], axis=-1))
    return jnp.tanh(memory) * jax.nn.sigmoid(o), c_new, m_new


class E3DLSTM(RecurrentNet):
  """OpenSTL's E3DLSTM_Model (module docstring)."""

  shared_memory = True  # one global memory through every layer

  def __init__(self, *, memory: str = "openstl", stride: int = 1, **kwargs):
    if memory not in MEMORY_FORMS:
      raise ConfigError(f"model.e3d_memory={memory!r}; choose one of {MEMORY_FORMS}.")
    if stride < 1:
      raise ConfigError(f"model.stride={stride} must be >= 1 (the gate convs' stride).")
    self.memory_form, self.stride = memory, int(stride)
    super().__init__(**kwargs)

  def top_channels(self) -> int:
    # The prediction: a (2, 1, 1) conv over the top window, i.e. a 1x1 conv
    # over both frames' channels.
    return WINDOW * self.num_hidden[-1]

  def build(self, kw):
    # The history's slots: one per rollout step (`rollout` resizes it).
    self.steps = self.in_shape[0] + self.out_frames - 1
    # OpenSTL's 3-D kernels are (2, 5, 5) whatever filter_size says.
    self.cells = nnx.List([
        EideticCell(self.in_channels(i), n, spatial=kw["spatial"],
                    layer_norm=kw["layer_norm"], kernel=5, stride=self.stride,
                    rngs=kw["rngs"])
        for i, n in enumerate(self.num_hidden)])

  def rollout(self, frames, true_weight, *, train: bool = True):
    # A longer horizon (a longer test) needs a longer history.
    self.steps = frames.shape[1] - 1
    return super().rollout(frames, true_weight, train=train)

  def init_carry(self, batch, dtype):
    h, w = self.spatial
    state = lambda c: jnp.zeros((batch, h, w, WINDOW, c), dtype)
    rows = WINDOW * h * w
    layers_ = tuple((state(n), state(n), jnp.zeros((batch, self.steps * rows, n), dtype))
                    for n in self.num_hidden)
    prev = jnp.zeros((batch, h, w, self.frame_channels), dtype)
    return prev, layers_, state(self.num_hidden[0])

  def cell_step(self, carry, x, t, transfers=None):
    if transfers:
      raise ValueError("TMU wraps ConvLSTM, PredRNN and MIM, not E3D-LSTM.")
    prev, states, m = carry
    h_, w_ = self.spatial
    rows = WINDOW * h_ * w_
    slots = states[0][2].shape[1] // rows
    # History slot s holds the cell state before step s: valid up to slot t.
    valid = jnp.arange(slots * rows) < (t + 1) * rows
    below = jnp.stack([prev, x], axis=3)  # the window (x_{t-1}, x_t)
    new = []
    for cell, (h, c, history) in zip(self.cells, states):
      h, c_new, m_new = cell(below, h, c, m, history, valid)
      # The next step's history gains this step's state (slot t + 1).
      history = jax.lax.dynamic_update_slice_in_dim(
          history, _as_rows(c_new), jnp.minimum(t + 1, slots - 1) * rows, axis=1)
      if self.memory_form == "updated":
        m = m_new
      new.append((h, c_new, history))
      below = h
    b = h.shape[0]
    return (x, tuple(new), m), h.reshape(b, h_, w_, -1), {}

  def memories(self, carry):
    return tuple(c for _, c, _ in carry[1])


def defaults(c, **options) -> None:
  """OpenSTL's Moving MNIST E3D-LSTM (configs/mmnist/E3DLSTM.py): 4 layers of
  128, patch 4, lr 1e-4 (one-cycle, batch 16), PredRNN's scheduled sampling,
  MSE + L1."""
  if options:
    raise ConfigError(f"model.name='e3dlstm' takes no options; got {sorted(options)}.")
  stack_defaults(c, num_hidden=(128, 128, 128, 128), patch_size=4)
  c.model.filter_size = 5  # read by nothing: the kernels are (2, 5, 5), as OpenSTL's
  c.model.e3d_memory = "openstl"  # or "updated": the new global memory flows on
  c.model.stride = 1        # the gate convs' stride (OpenSTL's KTH file: 2)
  c.model.init_from = ""
  c.loss.terms.mae = 1.0    # the model's own loss: MSE + L1
  c.optim.lr = 1e-4


def smoke(c) -> None:
  # Patches of 8: the attention over the history grows with the state's
  # map squared times the steps (64 x 64 frames: 8 x 8 states).
  c.model.num_hidden = (8, 8)
  c.model.patch_size = 8


@register_model("e3dlstm", family="recurrent", defaults=defaults, smoke=smoke)
def build(cfg, *, in_shape, out_frames, seed=0, pretrained=None):
  model = E3DLSTM(memory=cfg.get("e3d_memory", "openstl"), stride=cfg.get("stride", 1),
                  filter_size=5,
                  **common_kwargs(cfg, in_shape=in_shape, out_frames=out_frames,
                                  seed=seed))
  return start_from(model, cfg.get("init_from", ""), pretrained)
