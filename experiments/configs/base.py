"""Shared defaults: every knob of a run, so an override can't misspell one.

Each experiments/configs/<dataset>/<model>.py starts from `get_base_config()`,
adds its model with `model(c, name)` (the defaults its registration in
stjax.models gives) and sets what its paper's table says. A config holds only
the knobs its model reads, so a key meant for another model is refused as a
typo.
"""
from __future__ import annotations

import ml_collections

from stjax import models
from stjax.models import configure


def get_base_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.cites = ""  # where the hyper-parameters come from (OpenSTL's file, a paper)

  c.data = ml_collections.ConfigDict()
  c.data.name = "mmnist"
  c.data.digits_path = ""   # MNIST train-images-idx3-ubyte[.gz] or .npz; "" = embedded
  c.data.test_path = ""     # mnist_test_seq.npy; "" = generated from held-out digits
  c.data.image_size = 64
  c.data.num_digits = 2
  c.data.pre_seq_length = 10
  c.data.aft_seq_length = 10
  c.data.test_aft_seq_length = 0  # a longer test horizon; 0 = aft_seq_length
  c.data.generator = "openstl"  # or "msrnn": the MS-LSTM authors' set (moving_mnist.py)
  c.data.train_size = 10000  # sequences per epoch, as OpenSTL
  c.data.fixed_train_set = False  # True: the same train_size sequences every epoch
  c.data.num_sequences = 15000    # "msrnn": the whole fixed set ...
  c.data.train_fraction = 0.7     # ... and its training share (the rest tests)
  c.data.val_size = 1000
  c.data.test_size = 10000
  c.data.seed = 0
  c.data.num_threads = 4

  c.model = ml_collections.ConfigDict()
  c.model.name = ""  # set, with the model's defaults, by model(c, name)

  c.loss = ml_collections.ConfigDict()
  # The objective: registered terms (stjax.losses) and their weights. mse:
  # the frame MSE; ddr: TAU's differential divergence (alpha, with its
  # ddr_tau and ddr_eps: stjax.losses.add_ddr); decouple:
  # PredRNN-V2's memory decoupling (beta); distill: TMU's distillation (beta).
  c.loss.terms = ml_collections.ConfigDict({"mse": 1.0})
  # How mse and mae reduce: "mean" over every element (OpenSTL), or
  # "frame_sum", each frame's sum averaged over frames and batch (MS-LSTM code).
  c.loss.reduction = "mean"

  c.optim = ml_collections.ConfigDict()
  c.optim.name = "adam"
  c.optim.lr = 1e-3
  c.optim.schedule = "onecycle"
  c.optim.warmup_steps = 0
  c.optim.pct_start = 0.3
  c.optim.div_factor = 25.0
  c.optim.final_div_factor = 1e4
  c.optim.cycle_momentum = True
  c.optim.b1 = 0.9
  c.optim.b2 = 0.999
  c.optim.eps = 1e-8
  c.optim.momentum = 0.9
  c.optim.weight_decay = 0.0
  c.optim.filter_bias_and_bn = False  # True: no decay on biases and 1-D params
  c.optim.grad_clip = 0.0   # max global norm; 0 = off

  c.train = ml_collections.ConfigDict()
  c.train.epochs = 200
  c.train.batch_size = 16
  c.train.log_every_steps = 50
  c.train.ckpt_every_steps = 1000  # 0 = only at epoch ends
  c.train.keep_checkpoints = 2
  c.train.eval_every_epochs = 1
  c.train.compute_dtype = "float32"  # or "bfloat16" (params stay float32)
  c.train.stop_after_step = 0        # >0: stop there, as a preempted job would
  # A second optimizer step on each batch reversed in time (the PredRNN, MIM
  # and TMU authors' scripts); the learning-rate schedule counts both.
  c.train.reverse_input = False

  c.eval = ml_collections.ConfigDict()
  c.eval.batch_size = 16
  c.eval.num_pictures = 4
  c.eval.test_limit = 0  # evaluate only the first N test sequences; 0 = all
  c.eval.metrics = ()    # registered metric names; () = the dataset's own set
  c.eval.clip_errors = False  # MSE/MAE after clipping to [0, 1] (PredRNN/TMU code)
  c.eval.lpips_weights = ""   # AlexNet/LPIPS weights for the "lpips" metric (docs/training.md: Metrics)
  # Recurrent models: score all T-1 predictions, the reconstructions of the
  # observed frames included (MS-LSTM code), with the future alone beside.
  c.eval.all_steps = False
  c.eval.test_checkpoint = "best"  # or "last" (the MS-LSTM code tests its last)
  return c


def taxibj_data(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """TaxiBJ (stjax/data/taxibj.py), OpenSTL's setting: 4 -> 4 frames of 2 x
  32 x 32 flows, batch 16, 50 epochs, cosine schedule after 5 warm-up epochs
  (5 x 1160 steps: the ~18.6k training sequences kept after validation)."""
  file_data(c, "taxibj", "data/taxibj/dataset.npz", 4, 4)  # download_taxibj.sh
  c.data.val_fraction = 0.05  # the most recent training sequences
  c.data.channels = (0, 1)    # in-flow, out-flow; (0,): in-flow only
  c.train.epochs = 50
  c.optim.schedule = "cosine"
  c.optim.warmup_steps = 5 * 1160
  return c


def arrays_data(c, path: str, pre: int, aft: int, *, layout: str = "sequences",
                value_range=(0.0, 1.0)) -> ml_collections.ConfigDict:
  """Your own arrays (stjax/data/arrays.py): `path` holds (N, T, H, W[, C])
  sequences or, with layout "stream", one (T, H, W[, C]) recording."""
  file_data(c, "arrays", path, pre, aft)
  c.data.key = ""              # the .npz member; "" = its only array
  c.data.layout = layout
  c.data.window_stride = 0     # frames between window starts; 0 = no overlap
  c.data.value_range = tuple(value_range)  # float frames: (lo, hi) -> [0, 1]
  c.data.val_path = ""         # both empty: split data.path as below
  c.data.test_path = ""
  c.data.val_fraction = 0.1
  c.data.test_fraction = 0.1
  c.data.split_seed = 0
  return c


def file_data(c, name: str, path: str, pre: int, aft: int, test_aft: int = 0):
  """A dataset read from files: replaces the Moving MNIST section with the
  keys every file dataset has; the dataset's own keys are added after."""
  c.data = ml_collections.ConfigDict()
  c.data.name = name
  c.data.path = path
  c.data.pre_seq_length = pre
  c.data.aft_seq_length = aft
  c.data.test_aft_seq_length = test_aft  # 0 = aft
  c.data.seed = 0
  c.data.num_threads = 4
  return c


def model(c: ml_collections.ConfigDict, name: str, **options) -> ml_collections.ConfigDict:
  """The model `name` with the defaults its registration gives (stjax.models:
  its section, the loss terms and sampling it trains with), e.g.
  model(c, "tau"), model(c, "mslstm", cell="mklstm", pyramid=True),
  model(c, "tmu", backbone="predrnn", sources=(...), variant="paper")."""
  return configure(c, name, **options)


def tmu_transfer(c: ml_collections.ConfigDict, *, pretrain_epochs: int,
                 pretrain_train_size: int) -> ml_collections.ConfigDict:
  """The `transfer` section experiments.transfer reads: sources pretrained
  on 1- and 2-digit Moving MNIST, then the target runs on c.data."""
  c.transfer = ml_collections.ConfigDict()
  c.transfer.source_digits = (1, 2)  # one source per entry, pretrained first
  c.transfer.pretrain_epochs = pretrain_epochs
  c.transfer.pretrain_train_size = pretrain_train_size
  c.transfer.finetune_source = -1     # the finetune baseline starts from this source
  # Fig. 7: the target's training set as a fraction of data.train_size; the
  # epochs are scaled so every fraction trains the same number of steps.
  c.transfer.target_fraction = 1.0
  c.transfer.runs = ("scratch", "finetune", "tmu", "tmu_untrained")
  return c


VARIANTS = ("smoke",)


def variant(c: ml_collections.ConfigDict, arg: str | None) -> ml_collections.ConfigDict:
  """The config named by `file.py[:arg]`: none is the paper's setting,
  `smoke` shrinks it; any other name is refused (a typo must not start the
  full run)."""
  if not arg:
    return c
  if arg == "smoke":
    return shrink_for_smoke(c)
  raise ValueError(f"unknown config variant ':{arg}'; this config has "
                   f"{', '.join(':' + v for v in VARIANTS)} or none.")


def split_option(arg: str | None, choices, default: str) -> tuple[str, str | None]:
  """(choice, variant) of `file.py[:CHOICE][:smoke]`, for a config whose
  model has named forms (PredFormer's layouts): CHOICE one of `choices`,
  else `default`; the rest goes to `variant`."""
  parts = [p for p in (arg or "").split(":") if p]
  choice = default
  if parts and parts[0] not in VARIANTS:
    if parts[0] not in choices:
      raise ValueError(f"unknown config variant ':{parts[0]}'; this config "
                       f"has :CHOICE[:smoke] with CHOICE one of "
                       f"{', '.join(choices)}, :smoke or none.")
    choice = parts.pop(0)
  return choice, ":".join(parts) or None


def shrink_for_smoke(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The same model family and data, small enough to run end to end on a CPU
  in well under two minutes (train, evaluate, checkpoint, pictures). The
  model's registration says how its section shrinks."""
  if c.data.name == "mmnist":
    c.data.train_size, c.data.val_size, c.data.test_size = 64, 16, 16
    c.data.num_sequences = 80  # the "msrnn" fixed set: 56 train, 24 test
    c.train.epochs = 2
  else:  # a file dataset: one epoch, a short test
    c.train.epochs, c.eval.test_limit = 1, 64
    c.optim.warmup_steps = 0
  c.train.batch_size = 8
  c.train.log_every_steps, c.train.ckpt_every_steps = 2, 0
  c.eval.batch_size = 8
  models.shrink_for_smoke(c)
  return c
