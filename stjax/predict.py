"""Prediction from a trained run (or an imported OpenSTL checkpoint).

    import stjax
    run = stjax.load_run("runs/smoke")            # best checkpoint; step=N for another
    future = run.predict(clips)                   # (B, T_in, H, W, C) in [0, 1] -> (B, T_out, H, W, C) float32 in [0, 1]
    scores = run.evaluate(clips, truth)           # the metrics the run was scored with

`predict` takes numpy or jax arrays, float in [0, 1] or uint8 (scaled by
1/255), (B, T, H, W, C) or (B, T, H, W) for one channel. It is jitted once
per input shape and horizon, and splits the batch over every local device
(padding it to a multiple of their count). A wrong shape, frame count,
channel count or value range raises stjax.errors.DataError, naming what the
run expects. `from_openstl(checkpoint, openstl_config)` gives the same
object for an OpenSTL model (stjax.interop.openstl imports the weights).
"""
from __future__ import annotations

import dataclasses
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from stjax import metrics
from stjax.errors import DataError

@dataclasses.dataclass
class Predictor:
  """A model ready to predict: see the module docstring."""
  model: nnx.Module
  in_frames: int                        # T_in the model reads
  frame_shape: tuple[int, int, int]     # (H, W, C)
  out_frames: int                       # the horizon it was trained for
  spec: metrics.MetricSpec = metrics.MetricSpec()
  config: object = None                 # the run's config (None for OpenSTL imports)
  step: int | None = None               # the checkpoint's step
  source: str = ""                      # where it came from, for messages

  def __post_init__(self):
    self._graphdef, self._state = nnx.split(self.model)
    self._forward = jax.jit(
        lambda state, x, horizon: nnx.merge(self._graphdef, state)(
            x, out_frames=horizon), static_argnums=2)

  def check_frames(self, frames, what: str = "frames") -> np.ndarray:
    """(B, T, H, W, C) float32 in [0, 1], or a DataError naming the problem."""
    x = np.asarray(frames)
    h, w, c = self.frame_shape
    if x.ndim == 4 and x.shape[1:] == (h, w, c):
      raise DataError(f"{what} of shape {x.shape} look like one clip (T, H, W, "
                      f"C); give a batch of clips, e.g. clips[None].")
    if x.ndim == 4 and c == 1:
      x = x[..., None]
    if x.ndim != 5:
      raise DataError(f"{what} must be (B, T, H, W, C) = (B, T, {h}, {w}, {c})"
                      f"{' or (B, T, H, W)' if c == 1 else ''}; got shape {x.shape}.")
    if x.shape[2:4] != (h, w):
      raise DataError(f"{self.source} predicts {h}x{w} frames; {what} are "
                      f"{x.shape[2]}x{x.shape[3]}.")
    if x.shape[4] != c:
      raise DataError(f"{self.source} predicts frames of {c} channel(s); "
                      f"{what} have {x.shape[4]}.")
    if x.dtype == np.uint8:
      return x.astype(np.float32) / 255.0
    if not np.issubdtype(x.dtype, np.floating):
      raise DataError(f"{what} are {x.dtype}; give floats in [0, 1] or uint8.")
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
      raise DataError(f"{what} contain NaN or infinite values.")
    lo, hi = float(x.min()), float(x.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
      raise DataError(f"{what} span [{lo:.4g}, {hi:.4g}]; {self.source} expects "
                      f"frames scaled to [0, 1] (uint8 frames are scaled for you).")
    return x

  def predict(self, frames, out_frames: int | None = None,
              clip: bool = True) -> np.ndarray:
    """(B, T_in, H, W, C) observed frames -> (B, out_frames, H, W, C) float32
    predictions, clipped to the frames' range [0, 1] for image data
    (`clip=False`: the model's raw output, which can leave it slightly;
    OpenSTL scores its MSE/MAE on that, and `evaluate` does as the run was
    scored). Field data (WeatherBench) is never clipped."""
    x = self.check_frames(frames, "input frames")
    if x.shape[1] != self.in_frames:
      raise DataError(f"{self.source} reads {self.in_frames} input frames; got "
                      f"{x.shape[1]} (slice the clips to their last "
                      f"{self.in_frames}).")
    horizon = int(out_frames or self.out_frames)
    if horizon < 1:
      raise DataError(f"out_frames={horizon} must be at least 1.")
    devices = jax.local_devices()
    b = x.shape[0]
    pad = (-b) % len(devices)
    if pad:  # every device gets the same share
      x = np.concatenate([x, np.repeat(x[-1:], pad, axis=0)])
    sharding = jax.sharding.NamedSharding(
        jax.sharding.Mesh(np.asarray(devices), ("data",)),
        jax.sharding.PartitionSpec("data"))
    out = self._forward(self._state, jax.device_put(jnp.asarray(x), sharding),
                        horizon)
    out = np.asarray(out, np.float32)[:b]
    image = self.spec.kind == "image"  # fields keep their normalised values
    return np.clip(out, 0.0, 1.0) if clip and image else out

  def evaluate(self, frames, targets) -> dict:
    """The run's metrics of its predictions of `targets` from `frames`:
    headline numbers, `num_sequences` and `per_frame` curves."""
    y = self.check_frames(targets, "target frames")
    pred = self.predict(frames, out_frames=y.shape[1], clip=False)  # the spec clips where its metric does
    if y.shape[0] != pred.shape[0]:
      raise DataError(f"{y.shape[0]} target sequences for {pred.shape[0]} inputs.")
    values = metrics.eval_metrics(jnp.asarray(pred), jnp.asarray(y), self.spec)
    sums = {k: np.asarray(v).sum(axis=0) for k, v in values.items()}
    return metrics.summarize({**sums, "count": pred.shape[0]}, self.spec)


def load_run(workdir, step: int | None = None) -> Predictor:
  """The model of the run in `workdir`: its best checkpoint (lowest
  validation MSE; else its latest), or the one of training step `step`.
  Only the weights are read: no optimizer is built."""
  # Imported here: stjax.train imports this module's neighbours.
  from stjax.data import frame_shape  # pylint: disable=import-outside-toplevel
  from stjax.train.pretrained import load_weights  # pylint: disable=import-outside-toplevel
  workdir = pathlib.Path(workdir)
  weights, meta = load_weights(workdir, step)
  config = weights.config
  d = config.data
  return Predictor(weights.model, in_frames=d.pre_seq_length,
                   frame_shape=tuple(frame_shape(d)),
                   out_frames=d.aft_seq_length, spec=metrics.read_metric_spec(workdir),
                   config=config, step=int(meta["step"]),
                   source=f"the run in {workdir}")


def from_openstl(checkpoint, openstl_config: dict) -> Predictor:
  """An OpenSTL model as a Predictor: `checkpoint` is a .pth path (needs
  PyTorch) or a state_dict of numpy arrays; `openstl_config` the model's
  OpenSTL settings in the parity fixtures' .json form (e.g. {"model":
  "SimVP", "model_type": "gSTA", "in_shape": [10, 1, 64, 64], "hid_S": 64,
  ...}; stjax.interop.openstl.model_from_config says which keys)."""
  from stjax.interop import openstl  # pylint: disable=import-outside-toplevel
  state_dict = (openstl.load_torch_state_dict(str(checkpoint))
                if isinstance(checkpoint, (str, pathlib.Path)) else checkpoint)
  model = openstl.model_from_config(openstl_config)
  openstl.import_state_dict(model, state_dict)
  t, c, h, w = openstl_config["in_shape"]
  out = openstl_config.get("aft_seq_length", t)
  return Predictor(model, in_frames=openstl_config.get("pre_seq_length", t),
                   frame_shape=(h, w, c), out_frames=out,
                   source=f"the OpenSTL {openstl_config['model']} model")
