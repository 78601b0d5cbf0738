"""Pictures of predictions: a PNG grid and an animated GIF per evaluation."""
from __future__ import annotations

import pathlib

import numpy as np
from PIL import Image, ImageDraw


def _to_uint8(frames: np.ndarray) -> np.ndarray:
  """(..., H, W, C) floats in [0, 1] -> uint8 RGB."""
  frames = np.clip(np.asarray(frames, np.float32), 0, 1)
  if frames.shape[-1] == 1:
    frames = np.repeat(frames, 3, axis=-1)
  elif frames.shape[-1] != 3:
    frames = np.repeat(frames[..., :1], 3, axis=-1)  # show the first channel
  return (frames * 255 + 0.5).astype(np.uint8)


LABEL_WIDTH = 78   # the left margin that names each row
NUMBER_HEIGHT = 13  # the strip of frame numbers above a row
TITLE_HEIGHT = 18


def _text(img: Image.Image, xy, text: str, fill="black") -> None:
  ImageDraw.Draw(img).text(xy, text, fill=fill)


def _error_frames(targets, preds) -> np.ndarray:
  """|prediction - truth| per pixel, averaged over channels, on [0, 1]."""
  err = np.abs(np.clip(preds, 0, 1) - np.clip(targets, 0, 1)).mean(-1, keepdims=True)
  return err


def prediction_grid(inputs, targets, preds, *, title: str = "",
                    gap: int = 2) -> np.ndarray:
  """One block per sequence, each row named on the left and each frame
  numbered above (1..T_in observed, T_in+1.. predicted): input, truth,
  prediction and |prediction - truth| (white = an error of 1); without
  `targets` only input and prediction. `title` (run, split, step) on top."""
  t_in, t_out = inputs.shape[1], preds.shape[1]
  h, w = inputs.shape[2:4]
  cols = max(t_in, t_out)
  rows = [("input", inputs, 1)]
  if targets is not None:
    rows += [("truth", targets, t_in + 1), ("prediction", preds, None),
             ("|error|", _error_frames(targets, preds), None)]
  else:
    rows += [("prediction", preds, t_in + 1)]
  row_h = [h + gap + (NUMBER_HEIGHT if first else 0) for _, _, first in rows]
  width = LABEL_WIDTH + cols * (w + gap)
  blocks = []
  for seq in range(inputs.shape[0]):
    img = Image.new("RGB", (width, sum(row_h) + gap), "white")
    y = gap
    for (label, frames, first), rh in zip(rows, row_h):
      if first:
        for c in range(frames.shape[1]):
          _text(img, (LABEL_WIDTH + c * (w + gap) + 1, y), str(first + c), "gray")
        y += NUMBER_HEIGHT
      _text(img, (4, y + h // 2 - 6), label)
      for c, frame in enumerate(_to_uint8(frames[seq])):
        img.paste(Image.fromarray(frame), (LABEL_WIDTH + c * (w + gap), y))
      y += h + gap
    blocks.append(np.asarray(img))
  grid = np.concatenate(blocks, axis=0)
  if not title:
    return grid
  head = Image.new("RGB", (grid.shape[1], TITLE_HEIGHT), "white")
  _text(head, (4, 3), title)
  return np.concatenate([np.asarray(head), grid], axis=0)


def save_predictions(path_stem: str | pathlib.Path, inputs, targets, preds,
                     max_sequences: int = 4, title: str = "") -> list[pathlib.Path]:
  """Writes STEM.png (the labelled grid) and STEM.gif (truth beside
  prediction over time, or the prediction alone without `targets`)."""
  path_stem = pathlib.Path(path_stem)
  path_stem.parent.mkdir(parents=True, exist_ok=True)
  n = min(max_sequences, inputs.shape[0])
  inputs, preds = np.asarray(inputs[:n]), np.asarray(preds[:n])
  targets = None if targets is None else np.asarray(targets[:n])
  png = path_stem.with_suffix(".png")
  Image.fromarray(prediction_grid(inputs, targets, preds, title=title)).save(png)
  guess = np.concatenate([inputs, preds], axis=1)
  truth = None if targets is None else np.concatenate([inputs, targets], axis=1)
  h, w = inputs.shape[2:4]
  panels = 1 if truth is None else 2
  frames = []
  for t in range(guess.shape[1]):
    body = [_to_uint8(guess[:, t])] if truth is None else [
        _to_uint8(truth[:, t]), _to_uint8(guess[:, t])]
    pair = np.concatenate(body, axis=2)          # (n, h, panels * w, 3)
    img = Image.new("RGB", (max(panels * w, 160), 2 * NUMBER_HEIGHT + n * h),
                    "white")
    phase = "observed" if t < inputs.shape[1] else "predicted"
    _text(img, (2, 0), f"t={t + 1} ({phase})")
    _text(img, (2, NUMBER_HEIGHT), "truth | prediction" if truth is not None
          else "prediction")
    img.paste(Image.fromarray(np.concatenate(list(pair), axis=0)),
              (0, 2 * NUMBER_HEIGHT))
    frames.append(img)
  gif = path_stem.with_suffix(".gif")
  frames[0].save(gif, save_all=True, append_images=frames[1:], duration=200, loop=0)
  return [png, gif]

def line_plot(path: str | pathlib.Path, curves: dict, *, title: str,
              ylabel: str, xlabel: str = "predicted frame",
              size=(640, 400)) -> pathlib.Path:
  """A PNG line chart of named curves (lists of numbers over frames 1..T),
  drawn with Pillow alone: axes with their ranges, one colour per curve, a
  legend. Enough to compare runs at a glance; the numbers are in the JSON."""
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


def bar_plot(path: str | pathlib.Path, values: dict, *, title: str,
             ylabel: str, size=(640, 360)) -> pathlib.Path:
  """A PNG bar chart of named values (e.g. transfer gates), Pillow only."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  w, h = size
  left, top, bottom = 60, 30, 30 + 14 * max(1, len(values))
  img = Image.new("RGB", size, "white")
  draw = ImageDraw.Draw(img)
  draw.text((left, 8), title, fill="black")
  draw.text((4, top - 16), ylabel, fill="black")
  finite = [float(v) for v in values.values() if np.isfinite(v)]
  hi = max([abs(v) for v in finite] + [1e-12])
  base = h - bottom
  draw.line([(left, top), (left, base), (w - 10, base)], fill="black")
  draw.text((4, top - 6), f"{hi:.3g}", fill="black")
  draw.text((4, base - 6), "0", fill="black")
  slot = (w - 10 - left) / max(1, len(values))
  colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
  for k, (name, v) in enumerate(values.items()):
    v = float(v) if np.isfinite(v) else 0.0
    x0 = left + k * slot + slot * 0.15
    y = base - (base - top) * (v / hi)
    draw.rectangle([x0, min(y, base), x0 + slot * 0.7, max(y, base)],
                   fill=colours[k % len(colours)])
    draw.text((x0, min(y, base) - 12), f"{v:.3g}", fill="black")
    draw.text((left, base + 4 + 14 * k), f"{k + 1}: {name}", fill="black")
    draw.text((x0 + slot * 0.3, base - 12), str(k + 1), fill="white")
  img.save(path)
  return path
