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

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

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


# -- Nowcasting skill (radar echo): counts per frame, scores from summed counts.
#
# A pixel is an "event" where its value reaches the threshold (>=). The counts
# are summed over the whole evaluation set per frame and threshold before the
# scores are formed, as the HKO-7 benchmark and the MIM/MS-LSTM code do, so a
# frame with no rain anywhere does not turn a score undefined. A score whose
# denominator is still zero over the whole set is NaN: undefined, not 0 or 1.

def contingency_per_frame(pred, target, thresholds):
  """(B, T, H, W, C) arrays and K thresholds (in the arrays' units) -> dict of
  (B, T, K) counts: hits, misses, false_alarms, correct_negatives."""
  thr = jnp.asarray(thresholds, jnp.float32)
  p = pred[..., None] >= thr   # (B, T, H, W, C, K)
  t = target[..., None] >= thr
  count = lambda m: jnp.sum(m, axis=(2, 3, 4), dtype=jnp.float32)
  return {"hits": count(p & t), "misses": count(~p & t),
          "false_alarms": count(p & ~t), "correct_negatives": count(~p & ~t)}


def skill_scores(counts):
  """Counts (any matching shapes, e.g. summed to (T, K)) -> CSI, POD, FAR, HSS.

      CSI = H / (H + M + F)          POD = H / (H + M)          FAR = F / (H + F)
      HSS = 2 (H N - M F) / ((H + M)(M + N) + (H + F)(F + N))
  with H hits, M misses, F false alarms, N correct negatives.
  """
  h, m, f, n = (jnp.asarray(counts[k], jnp.float32) for k in
                ("hits", "misses", "false_alarms", "correct_negatives"))
  ratio = lambda a, b: jnp.where(b > 0, a / jnp.where(b > 0, b, 1.0), jnp.nan)
  return {"csi": ratio(h, h + m + f), "pod": ratio(h, h + m),
          "far": ratio(f, h + f),
          "hss": ratio(2 * (h * n - m * f), (h + m) * (m + n) + (h + f) * (f + n))}


# -- Gridded weather (WeatherBench): area-weighted errors on a lat-lon grid.

def latitude_weights(latitudes_deg) -> jax.Array:
  """cos(latitude), normalised to mean 1 over the grid's rows (WeatherBench)."""
  w = jnp.cos(jnp.deg2rad(jnp.asarray(latitudes_deg, jnp.float32)))
  return w / jnp.mean(w)


def _latitude_mean(x, lat_weights):
  """(B, T, H=lat, W=lon, C) -> (B, T, C): the area-weighted mean of a frame."""
  return jnp.mean(x * lat_weights[:, None, None], axis=(2, 3))


def weighted_rmse_per_frame(pred, target, lat_weights):
  """(B, T, H=lat, W=lon, C) in the variable's units -> (B, T): the square root
  of the latitude-weighted mean squared error of each frame, averaged over
  channels (WeatherBench's RMSE, per forecast time)."""
  mse = _latitude_mean(jnp.square(pred - target), lat_weights)
  return jnp.mean(jnp.sqrt(mse), axis=-1)


def weighted_mae_per_frame(pred, target, lat_weights):
  """As weighted_rmse_per_frame, for the absolute error."""
  return jnp.mean(_latitude_mean(jnp.abs(pred - target), lat_weights), axis=-1)


def weighted_mse_per_frame(pred, target, lat_weights):
  """(B, T) latitude-weighted MSE of each frame, averaged over channels; the
  evaluation sums it over sequences and takes the root at the end, which is
  WeatherBench's RMSE (root of the mean over times and grid)."""
  return jnp.mean(_latitude_mean(jnp.square(pred - target), lat_weights), axis=-1)


# -- What each community reports: one spec per dataset, applied in eval steps.

@dataclasses.dataclass(frozen=True)
class MetricSpec:
  """How a dataset's predictions are scored.

  kind "image": frames in [0, 1]; MSE/MAE (per-frame sums), SSIM (both
    modes), PSNR, on predictions clipped to [0, 1]. `thresholds` (in [0, 1]
    units, named by `threshold_names`) add CSI/POD/FAR/HSS (radar echo).
  kind "field": normalised physical fields; values are mapped back with
    `scale` and `offset` (per channel) and scored in the variable's units: plain
    per-pixel MSE/MAE/RMSE as OpenSTL's weather tables, and with `latitudes`
    the latitude-weighted RMSE/MAE of WeatherBench. No clipping, no SSIM.
  """
  kind: str = "image"
  scale: tuple = ()
  offset: tuple = ()
  latitudes: tuple = ()
  thresholds: tuple = ()
  threshold_names: tuple = ()


def eval_metrics(pred, target, spec: MetricSpec):
  """(B, T, H, W, C) arrays -> dict of per-sequence (B, T) values and, for
  thresholds, (B, T, K) contingency counts (keys starting with 'n_')."""
  pred, target = pred.astype(jnp.float32), target.astype(jnp.float32)
  if spec.kind == "field":
    scale = jnp.asarray(spec.scale, jnp.float32)
    offset = jnp.asarray(spec.offset, jnp.float32)
    pred, target = pred * scale + offset, target * scale + offset
    err = pred - target
    out = {"mse": jnp.mean(jnp.square(err), axis=(2, 3, 4)),
           "mae": jnp.mean(jnp.abs(err), axis=(2, 3, 4))}
    if spec.latitudes:
      w = latitude_weights(spec.latitudes)
      out["wmse"] = weighted_mse_per_frame(pred, target, w)
      out["wmae"] = weighted_mae_per_frame(pred, target, w)
    return out
  out = frame_metrics(pred, target, "gaussian")
  out["ssim_openstl"] = ssim_per_frame(jnp.clip(pred, 0, 1), target, "openstl")
  if spec.thresholds:
    counts = contingency_per_frame(pred, target, spec.thresholds)
    out.update({f"n_{k}": v for k, v in counts.items()})
  return out


def summarize(sums: dict, spec: MetricSpec) -> dict:
  """Sums over the evaluated sequences (and 'count') -> per-frame curves and
  their means. Skill scores come from counts summed over sequences, per frame
  and threshold, and are averaged over frames (NaN frames skipped)."""
  sums = dict(sums)
  count = float(sums.pop("count"))
  counts = {k[2:]: np.asarray(sums.pop(k)) for k in list(sums) if k.startswith("n_")}
  per_frame = {k: np.asarray(v) / count for k, v in sums.items()}
  if spec.kind == "field":
    per_frame["rmse"] = np.sqrt(per_frame["mse"])
    if "wmse" in per_frame:
      per_frame["wrmse"] = np.sqrt(per_frame.pop("wmse"))
  if counts:
    scores = {k: np.asarray(v) for k, v in skill_scores(counts).items()}
    for k, v in scores.items():  # (T, K)
      for j, name in enumerate(spec.threshold_names):
        per_frame[f"{k}_{name}"] = v[:, j]
  summary = {}
  for k, v in per_frame.items():
    finite = v[np.isfinite(v)]
    summary[k] = float(finite.mean()) if finite.size else float("nan")
  if spec.kind == "field":  # roots of the means over all frames, not means of roots
    summary["rmse"] = float(np.sqrt(np.mean(np.asarray(sums["mse"]) / count)))
    if "wmse" in sums:
      summary["wrmse"] = float(np.sqrt(np.mean(np.asarray(sums["wmse"]) / count)))
  return {**summary, "num_sequences": int(count),
          "per_frame": {k: v.tolist() for k, v in per_frame.items()}}
