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
