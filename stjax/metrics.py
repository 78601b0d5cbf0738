"""Evaluation metrics, per sequence and frame, jit-able.

Each function takes (B, T, H, W, C) predictions and targets in [0, 1] and
returns (B, T) values; the tables average them over sequences and frames.

MSE/MAE follow the field's convention (OpenSTL's tables): summed over the
pixels and channels of a frame, then averaged, so Moving MNIST "MSE 26.69" is
0.0065 per pixel; computed before clipping, as OpenSTL, or after
(MetricSpec.clip_errors, eval.clip_errors), as the PredRNN/TMU code. SSIM has two modes:
  - "gaussian": Wang et al. 2004 as usually meant today: 11x11 Gaussian window
    (sigma 1.5), data range 1, population covariance.
  - "openstl": what OpenSTL's tables report (scikit-image <= 0.19 on float
    frames): 7x7 uniform window, data range 2, sample covariance. Use it to
    compare with published numbers.
  - "uint8": what the TMU and PredRNN code reports: frames cast to uint8
    (x * 255 truncated), then scikit-image's defaults for uint8: 7x7 uniform
    window, data range 255, sample covariance.
Both average the SSIM map over the pixels whose window lies inside the frame
(scikit-image's border crop) and over channels.
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Callable

import chex
import jax
import jax.numpy as jnp
import numpy as np

from stjax.registry import METRICS

SSIM_MODES = ("gaussian", "openstl", "uint8")


def mse_per_frame(pred, target):
  return jnp.sum(jnp.square(pred - target), axis=(2, 3, 4))


def mae_per_frame(pred, target):
  return jnp.sum(jnp.abs(pred - target), axis=(2, 3, 4))


def psnr_per_frame(pred, target, data_range: float = 1.0):
  mse = jnp.mean(jnp.square(pred - target), axis=(2, 3, 4))
  return 20 * jnp.log10(data_range) - 10 * jnp.log10(jnp.maximum(mse, 1e-10))


def psnr_eps_per_frame(pred, target, eps: float = 1e-5):
  """The MS-LSTM authors' PSNR: 10 log10(1 / (mse + 1e-5)) on the [0, 1]
  scale, mse the frame's per-pixel mean (their util/evaluation.py)."""
  mse = jnp.mean(jnp.square(pred - target), axis=(2, 3, 4))
  return -10 * jnp.log10(mse + eps)


def _window(mode: str):
  if mode in ("openstl", "uint8"):
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
  data_range, cov_norm = {"openstl": (2.0, 49 / 48), "uint8": (255.0, 49 / 48),
                          "gaussian": (1.0, 1.0)}[mode]
  x = pred.transpose(0, 1, 4, 2, 3).reshape(-1, h, w_).astype(jnp.float32)
  y = target.transpose(0, 1, 4, 2, 3).reshape(-1, h, w_).astype(jnp.float32)
  if mode == "uint8":  # the frames as the TMU/PredRNN code scores them
    x, y = jnp.floor(x * 255.0), jnp.floor(y * 255.0)
  ux, uy = _filter_valid(x, win), _filter_valid(y, win)
  vx = cov_norm * (_filter_valid(x * x, win) - ux * ux)
  vy = cov_norm * (_filter_valid(y * y, win) - uy * uy)
  vxy = cov_norm * (_filter_valid(x * y, win) - ux * uy)
  c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
  ssim_map = ((2 * ux * uy + c1) * (2 * vxy + c2) /
              ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2)))
  return ssim_map.mean(axis=(1, 2)).reshape(b, t, c).mean(axis=-1)


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


def weighted_mae_per_frame(pred, target, lat_weights):
  """(B, T, H=lat, W=lon, C) in the variable's units -> (B, T): the
  latitude-weighted mean absolute error of each frame, averaged over channels
  (WeatherBench's MAE, per forecast time)."""
  return jnp.mean(_latitude_mean(jnp.abs(pred - target), lat_weights), axis=-1)


def weighted_mse_per_frame(pred, target, lat_weights):
  """(B, T) latitude-weighted MSE of each frame, averaged over channels; the
  evaluation sums it over sequences and takes the root at the end, which is
  WeatherBench's RMSE (root of the mean over times and grid)."""
  return jnp.mean(_latitude_mean(jnp.square(pred - target), lat_weights), axis=-1)


# -- What each community reports: metrics by name, one spec per dataset.

@dataclasses.dataclass(frozen=True)
class Metric:
  """One registered metric (stjax.registry.METRICS).

  values(pred, target, spec) -> (B, T, ...) per sequence and frame; the
    evaluation sums them over every sequence and divides by the count.
  report(name, mean, spec) -> (curves, summary): the mean values (T, ...) as
    named per-frame curves (T,) and headline numbers. The default reports
    the mean itself as the curve `name` and its mean over the finite frames.
  """
  values: Callable
  report: Callable | None = None


def _finite_mean(v) -> float:
  v = np.asarray(v, np.float64)
  finite = v[np.isfinite(v)]
  return float(finite.mean()) if finite.size else float("nan")


def _as_curve(name, mean, spec):
  del spec
  return {name: np.asarray(mean)}, {name: _finite_mean(mean)}


def _clip(pred):
  return jnp.clip(pred, 0.0, 1.0)


def _pixel_mse(pred, target, spec=None):
  """The mean over a frame's pixels and channels (physical fields)."""
  del spec
  return jnp.mean(jnp.square(pred - target), axis=(2, 3, 4))


def _mse(pred, target, spec):
  """Image: summed over a frame's pixels (the field's tables, "MSE 26.69" on
  Moving MNIST), before clipping as OpenSTL (`spec.clip_errors`: after, as
  the PredRNN/TMU code); field: the mean, in the variable's units squared."""
  if spec.kind == "field":
    return _pixel_mse(pred, target)
  return mse_per_frame(_clip(pred) if spec.clip_errors else pred, target)


def _mae(pred, target, spec):
  if spec.kind == "field":
    return jnp.mean(jnp.abs(pred - target), axis=(2, 3, 4))
  return mae_per_frame(_clip(pred) if spec.clip_errors else pred, target)


def _root_of_mean(name, mean, spec):
  """RMSE: the root of the per-frame mean squared error, and the root of its
  mean over all frames (not a mean of roots)."""
  del spec
  mean = np.asarray(mean)
  return {name: np.sqrt(mean)}, {name: float(np.sqrt(np.mean(mean)))}


def _latitudes(spec):
  if not spec.latitudes:
    raise ValueError("Latitude-weighted metrics need the grid's latitudes in "
                     "the dataset's MetricSpec(latitudes=...).")
  return latitude_weights(spec.latitudes)


_COUNTS = ("hits", "misses", "false_alarms", "correct_negatives")


def _counts(pred, target, spec):
  """(B, T, K, 4) contingency counts per threshold."""
  if not spec.thresholds:
    raise ValueError("Skill scores need thresholds in the dataset's "
                     "MetricSpec(thresholds=..., threshold_names=...).")
  c = contingency_per_frame(pred, target, spec.thresholds)
  return jnp.stack([c[k] for k in _COUNTS], axis=-1)


def _skill(score):
  """CSI/POD/FAR/HSS from counts summed over sequences, per frame and
  threshold: one curve per threshold, averaged over frames (NaN skipped)."""
  def report(name, mean, spec):
    counts = {k: np.asarray(mean)[..., i] for i, k in enumerate(_COUNTS)}
    v = np.asarray(skill_scores(counts)[score])           # (T, K)
    curves = {f"{name}_{t}": v[:, j] for j, t in enumerate(spec.threshold_names)}
    return curves, {k: _finite_mean(c) for k, c in curves.items()}
  return Metric(_counts, report)


METRICS.register("mse", Metric(_mse))
METRICS.register("mae", Metric(_mae))
METRICS.register("rmse", Metric(_pixel_mse, _root_of_mean))
METRICS.register("ssim", Metric(
    lambda p, t, spec: ssim_per_frame(_clip(p), t, "gaussian")))
METRICS.register("ssim_openstl", Metric(
    lambda p, t, spec: ssim_per_frame(_clip(p), t, "openstl")))
METRICS.register("ssim_uint8", Metric(
    lambda p, t, spec: ssim_per_frame(_clip(p), t, "uint8")))
def _lpips(pred, target, spec):
  """(B, T) LPIPS of each frame (stjax.lpips), on clipped predictions."""
  from stjax import lpips  # pylint: disable=import-outside-toplevel
  weights = lpips.load_weights(spec.lpips_weights)
  b, t = pred.shape[:2]
  flat = lambda x: x.reshape(b * t, *x.shape[2:])
  return lpips.distance(flat(_clip(pred)), flat(target), weights).reshape(b, t)


METRICS.register("lpips", Metric(_lpips))
METRICS.register("psnr", Metric(lambda p, t, spec: psnr_per_frame(_clip(p), t)))
METRICS.register("psnr_msrnn", Metric(
    lambda p, t, spec: psnr_eps_per_frame(_clip(p), t)))
METRICS.register("wrmse", Metric(
    lambda p, t, spec: weighted_mse_per_frame(p, t, _latitudes(spec)),
    _root_of_mean))
METRICS.register("wmae", Metric(
    lambda p, t, spec: weighted_mae_per_frame(p, t, _latitudes(spec))))
for _score in ("csi", "pod", "far", "hss"):
  METRICS.register(_score, _skill(_score))

IMAGE_METRICS = ("mse", "mae", "ssim", "psnr", "ssim_openstl")
FIELD_METRICS = ("mse", "mae", "rmse")


@dataclasses.dataclass(frozen=True)
class MetricSpec:
  """How a dataset's predictions are scored, and which metrics it reports.

  kind "image": frames in [0, 1]; by default MSE/MAE (per-frame sums), SSIM
    (both modes), PSNR, on predictions clipped to [0, 1]. `thresholds` (in
    [0, 1] units, named by `threshold_names`) add CSI/POD/FAR/HSS (radar).
  kind "field": normalised physical fields; values are mapped back with
    `scale` and `offset` (per channel) and scored in the variable's units: by
    default plain per-pixel MSE/MAE/RMSE as OpenSTL's weather tables, and with
    `latitudes` the latitude-weighted RMSE/MAE of WeatherBench. No clipping.
  `names` lists the registered metrics (stjax.registry.METRICS) to report, in
  the order they are printed; empty means the kind's defaults above.
  """
  kind: str = "image"
  scale: tuple = ()
  offset: tuple = ()
  latitudes: tuple = ()
  thresholds: tuple = ()
  threshold_names: tuple = ()
  names: tuple = ()
  clip_errors: bool = False  # image MSE/MAE on predictions clipped to [0, 1] first
  lpips_weights: str = ""    # the AlexNet/LPIPS weights file, for "lpips"

  def __post_init__(self):
    if self.kind not in ("image", "field"):
      raise ValueError(f"MetricSpec kind={self.kind!r}; choose 'image' or "
                       f"'field'.")
    if len(self.thresholds) != len(self.threshold_names):
      raise ValueError("MetricSpec needs one name per threshold.")
    if not self.names:
      if self.kind == "field":
        names = FIELD_METRICS + (("wrmse", "wmae") if self.latitudes else ())
      else:
        names = IMAGE_METRICS + (("csi", "pod", "far", "hss")
                                 if self.thresholds else ())
      object.__setattr__(self, "names", names)
    object.__setattr__(self, "names", tuple(self.names))
    for name in self.names:
      METRICS.get(name)  # an unknown name fails here, not mid-evaluation
    if "lpips" in self.names:  # a missing weights file fails here too
      from stjax import lpips  # pylint: disable=import-outside-toplevel
      lpips.load_weights(self.lpips_weights)

  @property
  def note(self) -> str:
    """What the numbers mean, written next to them in results.json."""
    if self.kind == "image":
      return ("mse/mae: per-frame sums over pixels, on predictions "
              + ("clipped to [0, 1] (PredRNN/TMU code)" if self.clip_errors
                 else "before clipping (OpenSTL)")
              + "; psnr: per frame, data range 1, clipped predictions, mean "
              "over frames (OpenSTL's convention; the PredRNN/TMU code scores "
              "uint8 frames, MS-LSTM adds 1e-5: psnr_msrnn); ssim: Gaussian "
              "11x11, data range 1; ssim_openstl: OpenSTL's table convention "
              "(7x7 uniform, range 2); ssim_uint8: the TMU/PredRNN code's")
    return ("errors in the variable's units; rmse/wrmse: roots of the mean "
            "over all frames; w*: latitude-weighted")


METRIC_SPEC_FILE = "metric_spec.json"  # in every run's workdir


def save_metric_spec(spec: MetricSpec, workdir) -> None:
  """Records how a run scores its predictions (stjax.predict reads it)."""
  path = pathlib.Path(workdir) / METRIC_SPEC_FILE
  path.write_text(json.dumps(dataclasses.asdict(spec), indent=1))


def read_metric_spec(workdir) -> MetricSpec:
  """The MetricSpec a run saved; the default image spec for runs older
  than the file."""
  path = pathlib.Path(workdir) / METRIC_SPEC_FILE
  if not path.is_file():
    return MetricSpec()
  fields = json.loads(path.read_text())
  return MetricSpec(**{k: tuple(v) if isinstance(v, list) else v
                       for k, v in fields.items()})


def eval_metrics(pred, target, spec: MetricSpec):
  """(B, T, H, W, C) arrays -> {metric name: per-sequence values (B, T, ...)}."""
  chex.assert_equal_shape([pred, target])
  chex.assert_rank(pred, 5)
  pred, target = pred.astype(jnp.float32), target.astype(jnp.float32)
  if spec.kind == "field":
    scale = jnp.asarray(spec.scale, jnp.float32)
    offset = jnp.asarray(spec.offset, jnp.float32)
    pred, target = pred * scale + offset, target * scale + offset
  return {name: METRICS.get(name).values(pred, target, spec)
          for name in spec.names}


def summarize(sums: dict, spec: MetricSpec, future_frames: int = 0) -> dict:
  """Sums over the evaluated sequences (and 'count') -> headline numbers in
  the spec's order, `num_sequences`, and `per_frame` curves.

  `future_frames` > 0, when the curves also cover reconstructed observed
  frames (eval.all_steps), adds each number over the last `future_frames`
  frames only, as `<name>_future`: the figure the other papers report."""
  sums = dict(sums)
  count = float(sums.pop("count"))
  summary, per_frame, future = {}, {}, {}
  for name in spec.names:
    metric = METRICS.get(name)
    mean = np.asarray(sums[name], np.float64) / count
    curves, numbers = (metric.report or _as_curve)(name, mean, spec)
    per_frame.update(curves)
    summary.update(numbers)
    if 0 < future_frames < mean.shape[0]:
      _, numbers = (metric.report or _as_curve)(name, mean[-future_frames:], spec)
      future.update({f"{k}_future": v for k, v in numbers.items()})
  summary.update(future)
  return {**summary, "num_sequences": int(count),
          "per_frame": {k: np.asarray(v).tolist() for k, v in per_frame.items()}}


def units(spec: "MetricSpec") -> dict[str, str]:
  """Each headline number's unit, as results.json and the console give it."""
  if spec.kind == "field":
    per = {"mse": "squared variable units", "rmse": "variable units",
           "wrmse": "variable units", "mae": "variable units",
           "wmae": "variable units", "wmse": "squared variable units"}
  else:
    frame = "per frame: sum over the frame's pixels, mean over frames and sequences"
    per = {"mse": frame, "mae": frame, "psnr": "dB, per frame", "psnr_msrnn":
           "dB, per frame", "lpips": "per frame"}
  return {n: per.get(n.removesuffix("_future"), "unitless, per frame")
          for n in spec.names}


_SHORT = {"per frame: sum over the frame's pixels, mean over frames and "
          "sequences": "/frame", "dB, per frame": " dB"}


def headline(summary: dict, spec: "MetricSpec | None" = None) -> str:
  """The numbers of an evaluation on one line, in the spec's order, with
  their units (mse 187.5/frame: a per-frame sum over pixels; psnr 13.7 dB)."""
  unit = units(spec) if spec is not None else {}
  return " ".join(
      f"{k} {v:.4g}{_SHORT.get(unit.get(k.removesuffix('_future'), ''), '')}"
      for k, v in summary.items() if isinstance(v, float))
