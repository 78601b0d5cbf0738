"""Evaluation metrics, per sequence and frame, jit-able.

Each function takes (B, T, H, W, C) predictions and targets in [0, 1] and
returns (B, T) values; the tables average them over sequences and frames.

MSE/MAE follow the field's convention (OpenSTL's tables): summed over the
pixels and channels of a frame, then averaged, so Moving MNIST "MSE 26.69" is
0.0065 per pixel. SSIM has two modes:
  - "gaussian": Wang et al. 2004 as usually meant today: 11x11 Gaussian window
    (sigma 1.5), data range 1, population covariance.
  - "openstl": what OpenSTL's tables report (scikit-image <= 0.19 on float
    frames): 7x7 uniform window, data range 2, sample covariance. Use it to
    compare with published numbers.
Both average the SSIM map over the pixels whose window lies inside the frame
(scikit-image's border crop) and over channels.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

SSIM_MODES = ("gaussian", "openstl")


def mse_per_frame(pred, target):
  return jnp.sum(jnp.square(pred - target), axis=(2, 3, 4))


def mae_per_frame(pred, target):
  return jnp.sum(jnp.abs(pred - target), axis=(2, 3, 4))


def psnr_per_frame(pred, target, data_range: float = 1.0):
  mse = jnp.mean(jnp.square(pred - target), axis=(2, 3, 4))
  return 20 * jnp.log10(data_range) - 10 * jnp.log10(jnp.maximum(mse, 1e-10))


def _window(mode: str):
  if mode == "openstl":
    return jnp.full((7,), 1.0 / 7)
  if mode == "gaussian":
    r = jnp.arange(11) - 5.0
    w = jnp.exp(-0.5 * (r / 1.5) ** 2)
    return w / w.sum()
  raise ValueError(f"Unknown SSIM mode {mode!r}; choose one of {SSIM_MODES}.")


def _filter_valid(x, w):
  """Separable filtering of (N, H, W) maps, 'valid' (no border)."""
  k = w.shape[0]
  x = x[:, None]  # N, 1, H, W
  x = jax.lax.conv(x, w.reshape(1, 1, k, 1), (1, 1), "VALID")
  x = jax.lax.conv(x, w.reshape(1, 1, 1, k), (1, 1), "VALID")
  return x[:, 0]


def ssim_per_frame(pred, target, mode: str = "gaussian"):
  b, t, h, w_, c = pred.shape
  win = _window(mode)
  if h < win.shape[0] or w_ < win.shape[0]:
    raise ValueError(f"SSIM ({mode}) needs frames of at least "
                     f"{win.shape[0]}x{win.shape[0]}; got {h}x{w_}.")
  data_range, cov_norm = (2.0, 49 / 48) if mode == "openstl" else (1.0, 1.0)
  x = pred.transpose(0, 1, 4, 2, 3).reshape(-1, h, w_).astype(jnp.float32)
  y = target.transpose(0, 1, 4, 2, 3).reshape(-1, h, w_).astype(jnp.float32)
  ux, uy = _filter_valid(x, win), _filter_valid(y, win)
  vx = cov_norm * (_filter_valid(x * x, win) - ux * ux)
  vy = cov_norm * (_filter_valid(y * y, win) - uy * uy)
  vxy = cov_norm * (_filter_valid(x * y, win) - ux * uy)
  c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
  ssim_map = ((2 * ux * uy + c1) * (2 * vxy + c2) /
              ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2)))
  return ssim_map.mean(axis=(1, 2)).reshape(b, t, c).mean(axis=-1)


def frame_metrics(pred, target, ssim_mode: str = "gaussian"):
  """All metrics as a dict of (B, T) arrays."""
  pred = jnp.clip(pred.astype(jnp.float32), 0.0, 1.0)
  target = target.astype(jnp.float32)
  return {"mse": mse_per_frame(pred, target),
          "mae": mae_per_frame(pred, target),
          "ssim": ssim_per_frame(pred, target, ssim_mode),
          "psnr": psnr_per_frame(pred, target)}
