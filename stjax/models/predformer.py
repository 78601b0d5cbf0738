"""PredFormer (Tang et al., "PredFormer: Video Prediction Transformers
without Recurrence or Convolution", arXiv 2410.04733; code:
github.com/yyyujintang/PredFormer).

    frames -> patches (p x p) -> Linear to `dim` + sinusoidal position
           -> gated transformers, each attending over one axis
           -> LayerNorm + Linear to p*p*C per patch -> frames

A gated transformer is `depth` pre-norm blocks, x + attn(LN(x)) then
x + SwiGLU(LN(x)), and a final LayerNorm. What it attends over is its axis:
"s" the N patches of one frame, "t" the T steps of one patch, "st" all T * N
tokens of a clip. The nine layouts of the paper are sequences of axes:

    full                ("st",)           one transformer, Ndepth blocks
    facst / facts       ("s", "t") / ("t", "s")   two, Ndepth blocks each
    binary_st / _ts     Ndepth x ("s", "t") / ("t", "s")    each `depth` blocks
    triplet_sts / _tst  Ndepth x ("s", "t", "s") / ("t", "s", "t")
    quadruplet_stts / _tsst   Ndepth x ("s", "t", "t", "s") / ("t", "s", "s", "t")

Between transformers there is no residual: each takes the last one's output
(the reference keeps its `x += x_ori` commented out). `layer_residual` adds
x to each PredFormer layer's output, as the paper did for its Human3.6M
triplets (Table 3, "*": "a skip connection for each PredFormer Layer for
stable training"; the code's comment: "we only add this for human3.6m").
FacST hands its head the tokens in the reference's scrambled order (see
PredFormer.step). The model maps T_in frames to T_in frames; other
horizons truncate or run again on its own output, as the reference's
method does.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from stjax import layers
from stjax.errors import ConfigError
from stjax.models.entry import register_model

# layout -> (axes of one PredFormer layer, whether the layer repeats Ndepth
# times with `depth` blocks per transformer (False: one layer, Ndepth blocks)).
LAYOUTS = {
    "full": (("st",), False),
    "facst": (("s", "t"), False),
    "facts": (("t", "s"), False),
    "binary_st": (("s", "t"), True),
    "binary_ts": (("t", "s"), True),
    "triplet_sts": (("s", "t", "s"), True),
    "triplet_tst": (("t", "s", "t"), True),
    "quadruplet_stts": (("s", "t", "t", "s"), True),
    "quadruplet_tsst": (("t", "s", "s", "t"), True),
}
# The reference's file names and the short names its scripts use.
ALIASES = {"fullattention": "full", "sts": "triplet_sts", "tst": "triplet_tst",
           "stts": "quadruplet_stts", "tsst": "quadruplet_tsst"}
LAYOUT_NAMES = tuple(LAYOUTS) + tuple(ALIASES)
# Ndepth at the repository's Moving MNIST setting (configs/mmnist/
# PredFormer.py: "FullAttention-24, BinaryST, BinaryTS, FacST, FacTS-12,
# TST, STS-8, TSST, STTS-6"): 24 gated blocks in every layout.
MMNIST_NDEPTH = {"full": 24, "facst": 12, "facts": 12, "binary_st": 12,
                 "binary_ts": 12, "triplet_sts": 8, "triplet_tst": 8,
                 "quadruplet_stts": 6, "quadruplet_tsst": 6}


def layout_name(layout: str) -> str:
  """The canonical layout for any spelling: "tsst", "Quadruplet_TSST", ..."""
  kind = str(layout).lower()
  kind = ALIASES.get(kind, kind)
  if kind not in LAYOUTS:
    raise ConfigError(f"model.layout={layout!r}; choose one of "
                      f"{tuple(LAYOUTS)} (or {tuple(ALIASES)}).")
  return kind


@functools.lru_cache(maxsize=16)
def sinusoidal_embedding(positions: int, dim: int) -> np.ndarray:
  """(positions, dim) float32: sin(p / 10000^(2 (i // 2) / dim)) in the even
  columns, cos in the odd. The reference builds the table in float32 (a
  torch.FloatTensor) even when it runs in float64, so it is rounded to
  float32 here too, each sine correctly rounded from the float32 angle
  (torch's vectorised float32 sine is one ulp away in ~5% of the entries,
  which bounds a float64 comparison with the reference at ~3e-8)."""
  p = np.arange(positions, dtype=np.float64)[:, None]
  i = np.arange(dim)
  angle = (p / 10000.0 ** (2 * (i // 2) / dim)).astype(np.float32)
  angle = angle.astype(np.float64)
  table = np.where(i % 2 == 0, np.sin(angle), np.cos(angle))
  return table.astype(np.float32)


def dropout(x: jax.Array, rate: float, key: jax.Array | None) -> jax.Array:
  """Elementwise dropout, kept values scaled by 1 / (1 - rate) (nn.Dropout);
  `key` None means evaluation (identity)."""
  if key is None or rate <= 0.0:
    return x
  keep = 1.0 - rate
  return jnp.where(jax.random.bernoulli(key, keep, x.shape), x / keep,
                   0.0).astype(x.dtype)


class Attention(nnx.Module):
  """Multi-head self-attention over the sequence axis of (B, L, dim): a
  bias-free qkv projection, softmax(q k^T / sqrt(dim_head)) v, and an output
  Linear with dropout (absent, as in the reference, when one head is as wide
  as the model)."""

  def __init__(self, dim, heads, dim_head, dropout_rate, *, rngs):
    self.heads, self.dim_head, self.dropout = heads, dim_head, dropout_rate
    inner = heads * dim_head
    self.qkv = layers.linear(dim, 3 * inner, use_bias=False, rngs=rngs)
    self.out = (None if heads == 1 and dim_head == dim
                else layers.linear(inner, dim, rngs=rngs))

  def __call__(self, x, key=None):
    b, n, _ = x.shape
    q, k, v = jnp.split(self.qkv(x).reshape(b, n, 3, self.heads, self.dim_head),
                        3, axis=2)
    q, k, v = q[:, :, 0], k[:, :, 0], v[:, :, 0]
    scale = self.dim_head ** -0.5
    if x.dtype == jnp.float64:
      # dot_product_attention takes its softmax in float32 whatever the
      # input; the float64 parity replays need it in float64.
      w = jax.nn.softmax(jnp.einsum("bqhd,bkhd->bhqk", q, k) * scale, axis=-1)
      o = jnp.einsum("bhqk,bkhd->bqhd", w, v)
    else:
      o = jax.nn.dot_product_attention(q, k, v, scale=scale)
    o = o.reshape(b, n, self.heads * self.dim_head)
    if self.out is None:
      return o
    return dropout(self.out(o), self.dropout, key)


class SwiGLU(nnx.Module):
  """fc2(dropout(SiLU(fc1_g(x)) * fc1_x(x))), then dropout."""

  def __init__(self, dim, hidden, dropout_rate, *, rngs):
    self.dropout = dropout_rate
    self.fc1_g = layers.linear(dim, hidden, rngs=rngs)
    self.fc1_x = layers.linear(dim, hidden, rngs=rngs)
    self.fc2 = layers.linear(hidden, dim, rngs=rngs)

  def __call__(self, x, key=None):
    k1, k2 = layers.split_key(key, 2)

    def mlp(rows):
      h = dropout(jax.nn.silu(self.fc1_g(rows)) * self.fc1_x(rows), self.dropout, k1)
      return dropout(self.fc2(h), self.dropout, k2)
    return layers.on_rows(mlp, x)


class Block(nnx.Module):
  """x + drop_path(attn(LN(x))); x + drop_path(SwiGLU(LN(x)))."""

  def __init__(self, dim, heads, dim_head, mlp_dim, dropout_rate, attn_dropout,
               drop_path, *, rngs):
    self.drop_path = drop_path
    self.attn_norm = layers.layer_norm(dim, rngs=rngs)
    self.attn = Attention(dim, heads, dim_head, attn_dropout, rngs=rngs)
    self.mlp_norm = layers.layer_norm(dim, rngs=rngs)
    self.mlp = SwiGLU(dim, mlp_dim, dropout_rate, rngs=rngs)

  def __call__(self, x, key=None):
    k_attn, k_dp1, k_mlp, k_dp2 = layers.split_key(key, 4)
    x = x + layers.drop_path(self.attn(self.attn_norm(x), k_attn),
                             self.drop_path, k_dp1)
    return x + layers.drop_path(self.mlp(self.mlp_norm(x), k_mlp),
                                self.drop_path, k_dp2)


class GatedTransformer(nnx.Module):
  """`depth` blocks and a final LayerNorm, attending over `axis` of a
  (B, T, N, dim) tensor: each frame's patches ("s"), each patch's steps
  ("t") or the whole clip ("st")."""

  def __init__(self, axis, depth, dim, heads, dim_head, mlp_dim, dropout_rate,
               attn_dropout, drop_path, *, rngs):
    self.axis = axis
    self.blocks = nnx.List([
        Block(dim, heads, dim_head, mlp_dim, dropout_rate, attn_dropout,
              drop_path, rngs=rngs) for _ in range(depth)])
    self.norm = layers.layer_norm(dim, rngs=rngs)

  def __call__(self, x, key=None):
    b, t, n, d = x.shape
    if self.axis == "s":
      seq = x.reshape(b * t, n, d)
    elif self.axis == "t":
      seq = x.transpose(0, 2, 1, 3).reshape(b * n, t, d)
    else:
      seq = x.reshape(b, t * n, d)
    for block, k in zip(self.blocks, layers.split_key(key, len(self.blocks))):
      seq = block(seq, k)
    seq = self.norm(seq)
    if self.axis == "t":
      return seq.reshape(b, n, t, d).transpose(0, 2, 1, 3)
    return seq.reshape(b, t, n, d)


class Layer(nnx.Module):
  """One PredFormer layer: its gated transformers in order, no residual
  between them."""

  def __init__(self, axes, depth, *args, residual=False, rngs):
    self.residual = residual
    self.transformers = nnx.List([GatedTransformer(a, depth, *args, rngs=rngs)
                                  for a in axes])

  def __call__(self, x, key=None):
    y = x
    for tr, k in zip(self.transformers,
                     layers.split_key(key, len(self.transformers))):
      y = tr(y, k)
    return x + y if self.residual else y


class PredFormer(nnx.Module):
  """(B, T_in, H, W, C) -> (B, T_out, H, W, C); see the module docstring.

  Initialisation as the reference: the transformers' Linears timm's
  trunc_normal_(std 0.02) with zero bias (their _init_weights), LayerNorms
  one and zero, the patch embedding and head Linears PyTorch's default.
  """

  def __init__(self, *, in_shape, out_frames, layout="quadruplet_tsst",
               patch_size=8, dim=256, heads=8, dim_head=32, dropout=0.0,
               attn_dropout=0.0, drop_path=0.0, scale_dim=4, depth=1, Ndepth=6,
               layer_residual=False, rngs: nnx.Rngs):
    t, h, w, c = (int(d) for d in in_shape)
    p = int(patch_size)
    if h % p or w % p:
      raise ValueError(f"PredFormer needs H and W divisible by patch_size={p}; "
                       f"got {h}x{w}.")
    if min(depth, Ndepth, dim, heads, dim_head, scale_dim) < 1:
      raise ValueError("PredFormer needs depth, Ndepth, dim, heads, dim_head "
                       "and scale_dim of at least 1.")
    self.layout = layout_name(layout)
    self.in_shape, self.out_frames, self.patch = (t, h, w, c), int(out_frames), p
    self.rates = (float(dropout), float(attn_dropout), float(drop_path))
    axes, repeated = LAYOUTS[self.layout]
    n_layers, per = (Ndepth, depth) if repeated else (1, Ndepth)
    args = (dim, heads, dim_head, dim * scale_dim, dropout, attn_dropout,
            drop_path)
    self.embed = layers.linear(p * p * c, dim, init="torch", rngs=rngs)
    self.layers = nnx.List([Layer(axes, per, *args,
                                  residual=bool(layer_residual), rngs=rngs)
                            for _ in range(n_layers)])
    self.head_norm = layers.layer_norm(dim, rngs=rngs)
    self.head = layers.linear(dim, c * p * p, init="torch", rngs=rngs)

  def step(self, x, key=None):
    """One pass: T_in frames in, T_in frames out."""
    b, t, h, w, c = x.shape
    p = self.patch
    hp, wp = h // p, w // p
    # Patches in (p1, p2, c) order, row-major over the patch grid.
    z = x.reshape(b, t, hp, p, wp, p, c).transpose(0, 1, 2, 4, 3, 5, 6)
    z = self.embed(z.reshape(b, t, hp * wp, p * p * c))
    pos = sinusoidal_embedding(t * hp * wp, z.shape[-1])
    z = z + jnp.asarray(pos, z.dtype).reshape(1, t, hp * wp, -1)
    for layer, k in zip(self.layers, layers.split_key(key, len(self.layers))):
      z = layer(z, k)
    if self.layout == "facst":
      # The reference's FacST hands its temporal transformer's output to the
      # head in (patch, step) order, unpermuted, and reads it as (step,
      # patch): token k of the flat N x T sequence becomes step k // N,
      # patch k % N. A fixed permutation, kept so weights carry over.
      z = z.transpose(0, 2, 1, 3).reshape(z.shape)
    y = self.head(self.head_norm(z))
    # The head's output is read per patch as (c, p1, p2), not the
    # embedding's (p1, p2, c).
    y = y.reshape(b, t, hp, wp, c, p, p).transpose(0, 1, 2, 5, 3, 6, 4)
    return y.reshape(b, t, h, w, c)

  def __call__(self, x, *, train=False, key=None, out_frames=None):
    """Dropout and drop path act only with train=True and a key. Beyond
    T_in frames the model runs again on its own last T_in predictions."""
    if tuple(x.shape[1:]) != self.in_shape:
      raise ValueError(f"PredFormer was built for frames {self.in_shape} "
                       f"(T, H, W, C), got {tuple(x.shape[1:])}.")
    out_frames = out_frames or self.out_frames
    if not train or not any(self.rates):
      key = None
    chunks = -(-out_frames // self.in_shape[0])
    outputs = []
    for k in layers.split_key(key, chunks):
      x = self.step(x, k)
      outputs.append(x)
    return jnp.concatenate(outputs, axis=1)[:, :out_frames]


# The reference's model_config keys that configure the model itself.
KEYS = ("patch_size", "dim", "heads", "dim_head", "dropout", "attn_dropout",
        "drop_path", "scale_dim", "depth", "Ndepth")


def defaults(c, layout: str = "quadruplet_tsst", **options) -> None:
  """PredFormer at the repository's Moving MNIST setting (configs/mmnist/
  PredFormer.py): patch 8, dim 256, 8 heads of 32, SwiGLU 4x, no dropout,
  depth 1, and the Ndepth its comment gives the layout."""
  if options:
    raise ConfigError(f"model.name='predformer' takes the option `layout`; "
                      f"got {sorted(options)} (set c.model.<key> instead).")
  m = c.model
  m.layout = layout_name(layout)
  m.patch_size, m.dim, m.heads, m.dim_head = 8, 256, 8, 32
  m.dropout = m.attn_dropout = m.drop_path = 0.0
  m.scale_dim, m.depth = 4, 1
  m.Ndepth = MMNIST_NDEPTH[m.layout]
  m.layer_residual = False  # True: x + layer(x) (the paper's Human3.6M triplets)


def smoke(c) -> None:
  c.model.dim, c.model.heads, c.model.dim_head, c.model.scale_dim = 16, 2, 8, 2
  c.model.depth, c.model.Ndepth = 1, 1


@register_model("predformer", family="parallel", defaults=defaults, smoke=smoke)
def build(cfg, *, in_shape, out_frames, seed=0, pretrained=None):
  del pretrained  # no model.init_from
  return PredFormer(in_shape=in_shape, out_frames=out_frames, layout=cfg.layout,
                    layer_residual=cfg.get("layer_residual", False),
                    **{k: cfg[k] for k in KEYS}, rngs=nnx.Rngs(seed))
