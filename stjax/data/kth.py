"""KTH human actions (Schuldt et al. 2004) as the video-prediction papers use it.

Layout (the frames PredRNN/OpenSTL extract from the distributed AVIs; the
script experiments/download_kth.sh makes it):

    ROOT/<action>/person<PP>_<action>_d<K>_uncomp/image_<NNNN>.png

with the six actions boxing, handclapping, handwaving, jogging, running,
walking. Frames are grayscale (channel 0 of an RGB file), resized bilinearly
(OpenCV's INTER_LINEAR, as the reference) to `image_size`^2 and scaled to
[0, 1]. Persons 1-16 train and 17-25 test.

Sequences follow the reference's sampling: walking each video backwards from
its last frame, a window of consecutive frame numbers is taken, then the walk
jumps a whole window for boxing, handclapping, handwaving and walking, and
only 3 frames for jogging and running (short clips, where the person soon
leaves the picture). The test windows are as long as the test horizon needs
(10 + 40 frames for 10 -> 40).

Validation: the reference validates on the test persons; here `val_persons`
(person 16 by default) are held out of training instead; `val_persons = ()`
validates on the test persons, as the reference.

`data.clip_list` (the MS-LSTM protocol) restricts the windows to the clips
where the person is in the picture, listed in a text file, either as the
MS-LSTM code's kth_txt lists (`person01_jogging_d1 FIRST LAST` per line) or
as KTH's own 00sequences.txt (`person01_jogging_d1  frames  1-95, 96-185`);
inside each clip a window starts every `data.clip_strides[action]` frames
(the MS-LSTM code: running 3, jogging and walking 10).
"""
from __future__ import annotations

import pathlib

import numpy as np

from stjax.data import frames as frames_lib
from stjax.data.dataset import file_dataset
from stjax.errors import ConfigError, DataError
from stjax.registry import DATASETS

ACTIONS = ("boxing", "handclapping", "handwaving", "jogging", "running",
           "walking")
FAST_ACTIONS = ("jogging", "running")  # windows every 3 frames
TRAIN_PERSONS = tuple(range(1, 17))
TEST_PERSONS = tuple(range(17, 26))


def video_windows(numbers: list[int], length: int, fast: bool) -> list[int]:
  """Start positions (into the sorted frame list) of the reference's windows."""
  starts, i = [], len(numbers) - 1
  while i >= length - 1:
    if numbers[i] - numbers[i - length + 1] == length - 1:
      starts.append(i - length + 1)
      i -= 3 if fast else length
    else:
      i -= 1
  return starts


def read_clip_list(path) -> dict[str, list[tuple[int, int]]]:
  """{video name: [(first, last) frame numbers, inclusive]} from an MS-LSTM
  kth_txt list or KTH's 00sequences.txt (lines not naming a person skipped)."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"data.clip_list={path} does not exist; give the "
                            f"clip list (docs/datasets.md: KTH).")
  clips: dict[str, list[tuple[int, int]]] = {}
  for n, line in enumerate(path.read_text().splitlines(), 1):
    tokens = line.split()
    if not tokens or not tokens[0].startswith("person"):
      continue
    try:
      if len(tokens) >= 3 and tokens[1] == "frames":
        ranges = [r.split("-") for r in "".join(tokens[2:]).split(",") if r]
        spans = [(int(a), int(b)) for a, b in ranges]
      elif len(tokens) == 3:
        spans = [(int(tokens[1]), int(tokens[2]))]
      else:
        raise ValueError(line)
    except ValueError as e:
      raise DataError(f"{path}:{n}: {line.strip()!r} is neither 'NAME FIRST "
                      f"LAST' nor 'NAME frames A-B, C-D'.") from e
    clips.setdefault(tokens[0], []).extend(spans)
  if not clips:
    raise DataError(f"{path} lists no clip (lines 'personPP_action_dK ...').")
  return clips


def clip_windows(numbers: list[int], clips, length: int, stride: int) -> list[int]:
  """Start positions (into the sorted frame list) of windows inside the
  listed clips: first, first + stride, ... while the window ends by `last`."""
  position = {n: i for i, n in enumerate(numbers)}
  starts = []
  for first, last in clips:
    for f in range(first, last - length + 2, stride):
      if any(f + k not in position for k in range(length)):
        raise DataError(f"clip {first}-{last} needs frames {f}..{f + length - 1}, "
                        f"which are not all on disk.")
      starts.append(position[f])
  return starts


def _videos(root: pathlib.Path, actions, persons):
  """[(action, frame paths sorted by number, numbers)] for these persons."""
  out = []
  for action in actions:
    folder = frames_lib.require_dir(root / action, f"KTH action {action!r}")
    for video in sorted(p for p in folder.iterdir() if p.is_dir()):
      if not video.name.startswith("person") or not video.name[6:8].isdigit():
        raise ValueError(f"{video}: KTH video folders are named "
                         f"personPP_{action}_dK_uncomp.")
      if int(video.name[6:8]) not in persons:
        continue
      files = [p for p in frames_lib.image_files(video)
               if p.name.startswith("image")]
      numbered = sorted((frames_lib.frame_number(p.name, "image"), p) for p in files)
      if any(n is None for n, _ in numbered):
        raise ValueError(f"{video}: frame files must be named image_NNNN.*")
      out.append((action, [p for _, p in numbered], [n for n, _ in numbered]))
  return out


class KTHSequences:
  """Random-access (T, S, S, 1) float32 windows in [0, 1], decoded on demand."""

  def __init__(self, root, actions, persons, length: int, image_size: int,
               clips=None, clip_strides=None):
    self.image_size, self.length = image_size, length
    self.windows = []  # (frame paths of one window)
    for action, paths, numbers in _videos(pathlib.Path(root), actions, persons):
      if clips is None:
        starts = reversed(video_windows(numbers, length, action in FAST_ACTIONS))
      else:
        name = paths[0].parent.name.removesuffix("_uncomp")
        try:
          starts = clip_windows(numbers, clips.get(name, []), length,
                                clip_strides[action])
        except DataError as e:
          raise DataError(f"{paths[0].parent}: {e}") from e
      for s in starts:
        self.windows.append(paths[s:s + length])

  def __len__(self) -> int:
    return len(self.windows)

  def frame(self, path) -> np.ndarray:
    img = frames_lib.read_image(path)
    img = img[..., 0] if img.ndim == 3 else img
    img = frames_lib.resize_linear(img, self.image_size, self.image_size)
    return img[..., None] / np.float32(255)

  def __getitem__(self, index: int) -> np.ndarray:
    return np.stack([self.frame(p) for p in self.windows[int(index)]])


def load(cfg, test_frames: int):
  """(train, val, test) sources; `test_frames` = pre + the test horizon."""
  root = frames_lib.require_dir(cfg.path, "data.path (KTH frames)")
  actions = tuple(cfg.actions)
  unknown = [a for a in actions if a not in ACTIONS]
  if unknown:
    raise ValueError(f"data.actions has {unknown}; KTH's are {ACTIONS}.")
  val = tuple(cfg.val_persons)
  if any(p not in TRAIN_PERSONS for p in val):
    raise ValueError(f"data.val_persons={val} must be some of the training "
                     f"persons 1-16 (or empty: validate on the test persons).")
  train_persons = tuple(p for p in TRAIN_PERSONS if p not in val)
  length = cfg.pre_seq_length + cfg.aft_seq_length
  clips, strides = None, None
  if cfg.get("clip_list", ""):
    clips = read_clip_list(cfg.clip_list)
    strides = dict(cfg.clip_strides)
    if any(a not in strides or int(strides[a]) < 1 for a in actions):
      raise ConfigError(f"data.clip_strides={strides} needs a stride >= 1 for "
                        f"each of data.actions {actions}.")
  make = lambda persons, n: KTHSequences(root, actions, persons, n,
                                         cfg.image_size, clips, strides)
  sources = (make(train_persons, length),
             make(val or TEST_PERSONS, length),
             make(TEST_PERSONS, test_frames))
  for name, s in zip(("training", "validation", "test"), sources):
    if not len(s):
      raise ValueError(f"{root} gives no {name} sequence of {s.length} frames "
                       f"for actions {actions}; check the layout (docs/datasets.md).")
  return sources


DATASETS.register("kth", file_dataset(
    lambda cfg: (cfg.image_size, cfg.image_size, 1), load, "KTH persons 17-25"))
