"""Pictures of predictions: a PNG grid and an animated GIF per evaluation."""
from __future__ import annotations

import pathlib

import numpy as np
from PIL import Image


def _to_uint8(frames: np.ndarray) -> np.ndarray:
  """(..., H, W, C) floats in [0, 1] -> uint8 RGB."""
  frames = np.clip(np.asarray(frames, np.float32), 0, 1)
  if frames.shape[-1] == 1:
    frames = np.repeat(frames, 3, axis=-1)
  elif frames.shape[-1] != 3:
    frames = np.repeat(frames[..., :1], 3, axis=-1)  # show the first channel
  return (frames * 255 + 0.5).astype(np.uint8)


def prediction_grid(inputs, targets, preds, gap: int = 2) -> np.ndarray:
  """One block per sequence: rows are inputs, ground truth, prediction."""
  t_in, t_out = inputs.shape[1], targets.shape[1]
  h, w = inputs.shape[2:4]
  cols = max(t_in, t_out)
  blocks = []
  for seq in range(inputs.shape[0]):
    rows = [inputs[seq], targets[seq], preds[seq]]
    block = np.full((3 * (h + gap), cols * (w + gap), 3), 255, np.uint8)
    for r, row in enumerate(rows):
      for c, frame in enumerate(_to_uint8(row)):
        block[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = frame
    blocks.append(block)
  return np.concatenate(blocks, axis=0)


def save_predictions(path_stem: str | pathlib.Path, inputs, targets, preds,
                     max_sequences: int = 4) -> list[pathlib.Path]:
  """Writes STEM.png (grid) and STEM.gif (truth | prediction over time)."""
  path_stem = pathlib.Path(path_stem)
  path_stem.parent.mkdir(parents=True, exist_ok=True)
  n = min(max_sequences, inputs.shape[0])
  inputs, targets, preds = (np.asarray(a[:n]) for a in (inputs, targets, preds))
  png = path_stem.with_suffix(".png")
  Image.fromarray(prediction_grid(inputs, targets, preds)).save(png)
  truth = np.concatenate([inputs, targets], axis=1)
  guess = np.concatenate([inputs, preds], axis=1)
  frames = []
  for t in range(truth.shape[1]):
    pair = np.concatenate([_to_uint8(truth[:, t]), _to_uint8(guess[:, t])], axis=2)
    frames.append(Image.fromarray(np.concatenate(list(pair), axis=0)))
  gif = path_stem.with_suffix(".gif")
  frames[0].save(gif, save_all=True, append_images=frames[1:], duration=200, loop=0)
  return [png, gif]


def line_plot(path: str | pathlib.Path, curves: dict, *, title: str,
              ylabel: str, xlabel: str = "predicted frame",
              size=(640, 400)) -> pathlib.Path:
  """A PNG line chart of named curves (lists of numbers over frames 1..T),
  drawn with Pillow alone: axes with their ranges, one colour per curve, a
  legend. Enough to compare runs at a glance; the numbers are in the JSON."""
  from PIL import ImageDraw  # pylint: disable=import-outside-toplevel
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  w, h = size
  left, right, top, bottom = 70, 170, 30, 45
  img = Image.new("RGB", size, "white")
  draw = ImageDraw.Draw(img)
  values = [float(v) for c in curves.values() for v in c if np.isfinite(v)]
  lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
  if hi <= lo:
    lo, hi = lo - 0.5, hi + 0.5
  n = max((len(c) for c in curves.values()), default=1)
  x_of = lambda i: left + (w - left - right) * (i / max(n - 1, 1))
  y_of = lambda v: top + (h - top - bottom) * (1 - (v - lo) / (hi - lo))
  draw.rectangle([left, top, w - right, h - bottom], outline="black")
  draw.text((left, 8), title, fill="black")
  for v in (lo, (lo + hi) / 2, hi):
    draw.text((4, y_of(v) - 6), f"{v:.4g}", fill="black")
  for i in range(n):
    draw.text((x_of(i) - 3, h - bottom + 4), str(i + 1), fill="black")
  draw.text((left + (w - left - right) // 2 - 40, h - 18), xlabel, fill="black")
  draw.text((4, top - 18), ylabel, fill="black")
  colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
             "#8c564b", "#e377c2", "#17becf"]
  for k, (name, curve) in enumerate(curves.items()):
    colour = colours[k % len(colours)]
    points = [(x_of(i), y_of(float(v))) for i, v in enumerate(curve)
              if np.isfinite(v)]
    if len(points) > 1:
      draw.line(points, fill=colour, width=2)
    for x, y in points:
      draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
    ly = top + 16 * k
    draw.line([(w - right + 10, ly + 6), (w - right + 30, ly + 6)], fill=colour, width=3)
    draw.text((w - right + 36, ly), str(name), fill="black")
  img.save(path)
  return path
