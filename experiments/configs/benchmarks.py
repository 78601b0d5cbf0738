"""The seed papers' benchmarks: each dataset's data section and, per model,
the hyper-parameters of OpenSTL's config for that dataset.

`get(dataset, model, arg)` builds the config that
experiments/configs/<dataset>/<model>.py returns. Where OpenSTL has no config
for a (dataset, model) pair, the model takes the settings of the dataset's
PredRNN config (noted as "as PredRNN" below); every choice is written here
rather than scattered over files.
"""
from __future__ import annotations

import ml_collections

from experiments.configs import base


def kth_data(c, actions=("boxing", "handclapping", "handwaving", "jogging",
                         "running", "walking"), pre=10, aft=20, test_aft=40):
  """KTH (stjax/data/kth.py): persons 1-16 train (16 held out to validate),
  17-25 test, 128 x 128 grayscale, 10 -> 20 in training, 10 -> 40 in the test;
  batch 16, 100 epochs."""
  base.file_data(c, "kth", "data/kth", pre, aft, test_aft)  # download_kth.sh
  c.data.image_size = 128
  c.data.actions = tuple(actions)
  c.data.val_persons = (16,)   # () = validate on the test persons
  c.data.clip_list = ""        # person-visible clips (MS-LSTM protocol); "" = all
  c.data.clip_strides = ml_collections.ConfigDict(
      {"running": 3, "jogging": 10, "walking": 10})  # with a clip list only
  c.train.epochs = 100
  c.train.batch_size = c.eval.batch_size = 16
  return c


def human36m_mim_protocol(c):
  """Human3.6M as the MIM and TMU papers read it: the central square of each
  frame, every 10th frame (5 fps), 128 x 128, 4 -> 4, S1, S5, S6, S7, S8
  train and S9, S11 test (and validate, as their code)."""
  human36m_data(c)
  c.data.center_crop, c.data.frame_step, c.data.val_subjects = True, 10, ()
  return c


def human36m_data(c):
  """Human3.6M Walking (stjax/data/human36m.py): S1, S5, S6, S7 train, S8
  validates, S9, S11 test; RGB 128 x 128, every 5th frame, 4 -> 4; batch 16,
  50 epochs."""
  base.file_data(c, "human36m", "data/human36m", 4, 4)  # download_human36m.sh
  c.data.image_size = 128
  c.data.scenario = "Walking"
  c.data.frame_step = 5
  c.data.val_subjects = ("S8",)  # () = validate on the test subjects
  c.data.center_crop = False     # True: the central square (MIM/TMU protocol)
  c.train.epochs = 50
  return c


def weatherbench_data(c):
  """WeatherBench 5.625 degrees (stjax/data/weatherbench.py): 2 m
  temperature, 32 x 64, hourly 12 -> 12; 1979-2015 train, 2016 validation,
  2017-2018 test; batch 16, 50 epochs, cosine schedule."""
  base.file_data(c, "weatherbench", "data/weatherbench", 12, 12)
  c.data.variables = ("t2m",)  # short names: weatherbench.VARIABLES
  c.data.grid = (32, 64)       # (lat, lon) at 5.625 degrees
  c.data.train_years = (1979, 2015)
  c.data.val_years = (2016, 2016)
  c.data.test_years = (2017, 2018)
  c.data.time_step = 1         # hours between frames
  c.data.window_stride = 1     # hours between window starts
  c.train.epochs = 50
  c.optim.schedule = "cosine"
  return c


def radar_data(c, pre=10, aft=10):
  """Radar echo (stjax/data/radar.py): 10 -> 10 frames 6 minutes apart, 128
  x 128, HKO-7's pixel-to-dBZ map, CSI/HSS/POD/FAR at 20, 30 and 40 dBZ;
  batch 16, 50 epochs."""
  base.file_data(c, "radar", "data/radar", pre, aft)
  c.data.image_size = 128
  c.data.window_stride = 0      # frames between windows; 0 = non-overlapping
  c.data.frame_step = 1         # every k-th frame of a sequence (6: 5 -> 30 min)
  c.data.val_fraction = 0.1     # the last training sequences
  c.data.dbz_min = -10.0        # dBZ = dbz_min + pixel / 255 * dbz_range
  c.data.dbz_range = 70.0
  c.data.zr_a = 200.0           # Z = a R^b (Marshall-Palmer)
  c.data.zr_b = 1.6
  c.data.thresholds = (20.0, 30.0, 40.0)
  c.data.threshold_unit = "dbz"  # or "mm/h" or "pixel"
  c.train.epochs = 50
  return c


def kitti_caltech_data(c):
  """KITTI -> Caltech (stjax/data/kitti_caltech.py): train on KITTI, validate
  on KITTI's validation recordings, test on Caltech; 128 x 160 RGB, 10 -> 1;
  batch 16, 100 epochs."""
  base.file_data(c, "kitti_caltech", "data/kitti_caltech", 10, 1)
  c.train.epochs = 100
  return c


def tfds_data(c):
  """A prepared TFDS video dataset (stjax/data/tfds_source.py), by default
  moving_mnist (10000 sequences of 20 64 x 64 frames, one `test` split,
  sliced 80/10/10), 10 -> 10; needs the `tfds` extra."""
  base.file_data(c, "tfds", "data/tensorflow_datasets", 10, 10)
  c.data.tfds_name = "moving_mnist"
  c.data.feature = "image_sequence"
  c.data.frame_shape = (64, 64, 1)  # (H, W, C) of the feature's frames
  c.data.train_split = "test[:80%]"
  c.data.val_split = "test[80%:90%]"
  c.data.test_split = "test[90%:]"
  return c


DATA = {"kth": kth_data, "human36m": human36m_data,
        "weatherbench": weatherbench_data, "radar": radar_data,
        "kitti_caltech": kitti_caltech_data, "tfds": tfds_data}

# What stjax takes from OpenSTL's config of each (dataset, model), with the
# file it comes from (OpenSTL commit c74deb5, configs/...): SimVP/TAU
# (hid_S, hid_T, N_S, N_T, lr, drop_path, schedule), recurrent models
# (patch_size, lr, schedule); every recurrent one is 4 x 128, filter 5, and
# every config batch 16 (KTH's SimVP/TAU: 4 per GPU x 4 GPUs). An OpenSTL
# file without `sched` or `lr` gets its parser's defaults, "onecycle" and
# 1e-3. tests/test_config_citations.py pins every value to those files.
# Radar and TFDS have no OpenSTL config: they take Moving MNIST's.
_MMNIST = {
    "simvp_gsta": ((64, 512, 4, 8, 1e-3, 0.0, "onecycle"), "mmnist/simvp/SimVP_gSTA.py"),
    "tau": ((64, 512, 4, 8, 1e-3, 0.0, "onecycle"), "mmnist/TAU.py"),
    "convlstm": ((4, 5e-4, "onecycle"), "mmnist/ConvLSTM.py"),
    "predrnn": ((4, 5e-4, "onecycle"), "mmnist/PredRNN.py"),
    "mim": ((4, 5e-4, "onecycle"), "mmnist/MIM.py"),
}
OPENSTL = {
    ("kth", "simvp_gsta"): ((64, 256, 2, 6, 1e-3, 0.2, "onecycle"), "kth/simvp/SimVP_gSTA.py"),
    ("kth", "tau"): ((64, 256, 2, 6, 1e-3, 0.1, "onecycle"), "kth/TAU.py"),
    ("kth", "convlstm"): ((2, 1e-3, "onecycle"), "kth/ConvLSTM.py"),
    ("kth", "predrnn"): ((2, 1e-3, "onecycle"), "kth/PredRNN.py"),
    ("kth", "mim"): ((4, 1e-4, "onecycle"), "kth/MIM.py"),
    ("human36m", "simvp_gsta"): ((64, 256, 4, 8, 1e-3, 0.1, "cosine"), "human/simvp/SimVP_gSTA.py"),
    ("human36m", "tau"): ((64, 512, 4, 8, 1e-3, 0.1, "onecycle"), "human/TAU.py"),
    ("human36m", "convlstm"): ((4, 1e-4, "cosine"), "human/ConvLSTM.py"),
    ("human36m", "predrnn"): ((4, 1e-4, "cosine"), "human/PredRNN.py"),
    ("human36m", "mim"): ((4, 1e-4, "cosine"), "human/MIM.py"),
    ("weatherbench", "simvp_gsta"): ((32, 256, 2, 8, 5e-3, 0.1, "cosine"),
                                     "weather/t2m_5_625/SimVP_gSTA.py"),
    ("weatherbench", "tau"): ((32, 256, 2, 8, 5e-3, 0.1, "onecycle"), "weather/t2m_5_625/TAU.py"),
    ("weatherbench", "convlstm"): ((2, 5e-4, "cosine"), "weather/t2m_5_625/ConvLSTM.py"),
    ("weatherbench", "predrnn"): ((2, 5e-4, "cosine"), "weather/t2m_5_625/PredRNN.py"),
    ("weatherbench", "mim"): ((4, 1e-3, "cosine"), "weather/t2m_5_625/MIM.py"),
    ("kitti_caltech", "simvp_gsta"): ((64, 256, 2, 6, 5e-3, 0.2, "onecycle"),
                                      "kitticaltech/simvp/SimVP_gSTA.py"),
    ("kitti_caltech", "tau"): ((64, 256, 2, 6, 1e-2, 0.1, "onecycle"), "kitticaltech/TAU.py"),
    ("kitti_caltech", "convlstm"): ((2, 5e-3, "onecycle"), "kitticaltech/ConvLSTM.py"),
    ("kitti_caltech", "predrnn"): ((2, 1e-2, "onecycle"), "kitticaltech/PredRNN.py"),
    ("kitti_caltech", "mim"): ((2, 1e-2, "onecycle"), "kitticaltech/MIM.py"),
    **{(d, m): (v, f"{f} (no OpenSTL config for {d}: Moving MNIST's)")
       for d in ("radar", "tfds") for m, (v, f) in _MMNIST.items()},
}
BENCHMARK_MODELS = ("simvp_gsta", "tau", "convlstm", "predrnn", "mim")
# Recomputed gates in the backward pass, so batch 16 fits one 80 GB GPU:
# without it, on an H100, KTH's PredRNN asked for 82 GiB and MIM for 161 GiB
# (29-step rollouts at 64 x 64 x 128 states), KITTI's MIM for 73 GiB. With it
# KTH PredRNN peaks at 16 GB and MIM at 25 GB (docs/speed.md: "Every (dataset, model) config on one GPU").
REMAT = {("kth", "predrnn"), ("kth", "mim"), ("kitti_caltech", "mim")}


def get(dataset: str, model: str, arg: str | None = None):
  c = DATA[dataset](base.get_base_config())
  if (dataset, model) not in OPENSTL:
    raise ValueError(f"No {model!r} benchmark config; choose one of {BENCHMARK_MODELS}.")
  values, source = OPENSTL[(dataset, model)]
  c.cites = f"OpenSTL c74deb5 configs/{source}"
  if model in ("simvp_gsta", "tau"):
    hid_s, hid_t, n_s, n_t, lr, drop_path, schedule = values
    base.model(c, model)
    c.model.hid_S, c.model.hid_T, c.model.N_S, c.model.N_T = hid_s, hid_t, n_s, n_t
    c.model.drop_path = drop_path
  else:
    patch, lr, schedule = values
    base.model(c, model)
    c.model.patch_size = patch
    if (dataset, model) in REMAT:
      c.model.remat = True
  c.optim.lr, c.optim.schedule = lr, schedule
  return base.variant(c, arg)
