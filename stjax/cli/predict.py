"""Predict future frames with a trained run.

  python -m experiments.predict --workdir=runs/smoke --input=clips.npy \\
      --output=pred.npy [--pictures] [--step=N] [--out_frames=N]

(`stjax-predict` once installed.) --input is a .npy array, an .npz (its
`inputs` array, else its only one; --input_key names another) or a folder of
image files (one clip, in file-name order). Clips are (B, T_in, H, W, C) or
(B, T_in, H, W), uint8 or floats in [0, 1]; one clip may drop the B axis.
Writes the predictions (B, T_out, H, W, C), float32 clipped to [0, 1] (the
frames' range; --noclip for the model's raw output), to --output (.npy, or
.npz with `predictions`), and with --pictures a labelled PNG grid and a GIF
per clip batch next to it (OUTPUT_STEM.png/.gif). Any mismatch with what the
run expects is a one-line error that says what the run reads.
"""
from __future__ import annotations

import pathlib

from absl import app, flags

from stjax import cli

_WORKDIR = flags.DEFINE_string("workdir", None, "A trained run's workdir.")
_INPUT = flags.DEFINE_string("input", None, ".npy, .npz or a folder of frames.")
_INPUT_KEY = flags.DEFINE_string("input_key", "", "The .npz array to read.")
_OUTPUT = flags.DEFINE_string("output", None, "Where the predictions go (.npy/.npz).")
_STEP = flags.DEFINE_integer("step", None, "A checkpoint's step; default the best.")
_OUT_FRAMES = flags.DEFINE_integer("out_frames", None,
                                   "Frames to predict; default the run's horizon.")
_PICTURES = flags.DEFINE_bool("pictures", False, "Also write a PNG grid and a GIF.")
_CLIP = flags.DEFINE_bool("clip", True, "Clip the predictions to [0, 1].")
flags.mark_flags_as_required(["workdir", "input", "output"])


def read_clips(path, key: str = ""):
  """The clips in `path` (see the module docstring) as a numpy array."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  from PIL import Image  # pylint: disable=import-outside-toplevel
  from stjax.errors import DataError  # pylint: disable=import-outside-toplevel
  path = pathlib.Path(path)
  if path.is_dir():
    files = sorted(p for p in path.iterdir()
                   if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".tif"))
    if not files:
      raise DataError(f"{path} holds no image files (.png, .jpg, .bmp, .tif).")
    frames = [np.asarray(Image.open(f)) for f in files]
    if len({f.shape for f in frames}) > 1:
      raise DataError(f"The images in {path} differ in size or channels.")
    return np.stack(frames)[None]
  if not path.is_file():
    raise FileNotFoundError(f"--input={path} does not exist.")
  try:
    data = np.load(path)
  except (ValueError, OSError, EOFError) as e:
    raise DataError(f"{path} is not a readable .npy/.npz file.") from e
  if isinstance(data, np.ndarray):
    return data
  with data:
    names = data.files
    name = key or ("inputs" if "inputs" in names else
                   names[0] if len(names) == 1 else "")
    if name not in names:
      raise DataError(f"{path} holds {names}; name the clips with --input_key.")
    return data[name]


def main(argv) -> int:
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  cli.prepare()
  import numpy as np  # pylint: disable=import-outside-toplevel
  from stjax import predict, viz  # pylint: disable=import-outside-toplevel
  from stjax.errors import StjaxError  # pylint: disable=import-outside-toplevel
  try:
    run = predict.load_run(_WORKDIR.value, step=_STEP.value)
    clips = read_clips(_INPUT.value, _INPUT_KEY.value)
    h, w, c = run.frame_shape
    one = ((clips.ndim == 4 and clips.shape[1:] == (h, w, c)) or
           (clips.ndim == 3 and c == 1 and clips.shape[1:] == (h, w)))
    if one:  # a single clip without its batch axis
      clips = clips[None]
    preds = run.predict(clips, out_frames=_OUT_FRAMES.value, clip=_CLIP.value)
    out = pathlib.Path(_OUTPUT.value)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npz":
      np.savez(out, predictions=preds)
    else:
      np.save(out.with_suffix(".npy"), preds)
    print(f"predicted {preds.shape[0]} clip(s) x {preds.shape[1]} frames with "
          f"the checkpoint of step {run.step}; written to {out}")
    if _PICTURES.value:
      written = viz.save_predictions(
          out.with_suffix(""), run.check_frames(clips), None, preds,
          max_sequences=8, title=f"{pathlib.Path(_WORKDIR.value).name}: "
          f"{pathlib.Path(_INPUT.value).name}, checkpoint of step {run.step}")
      print("pictures: " + ", ".join(map(str, written)))
  except (StjaxError, *cli.USER_ERRORS) as e:
    return cli.report(e)
  return 0


def run() -> None:
  """The console script `stjax-predict`."""
  cli.run(main)
