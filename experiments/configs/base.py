"""Shared defaults: every knob of a run, so an override can't misspell one.

Each experiments/configs/<dataset>/<model>.py starts from `get_base_config()`,
adds its model family's section (`simvp_model`, `recurrent_model` or
`mslstm_model`) and sets
what its paper's table says. A family's config holds only the knobs its models
read, so a key meant for another family is refused as a typo.
"""
from __future__ import annotations

import ml_collections


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
  c.model.name = ""  # set by simvp_model / recurrent_model

  c.loss = ml_collections.ConfigDict()
  # The objective: registered terms (stjax.losses) and their weights. mse:
  # the frame MSE; ddr: TAU's differential divergence (alpha); decouple:
  # PredRNN-V2's memory decoupling (beta); distill: TMU's distillation (beta).
  c.loss.terms = ml_collections.ConfigDict({"mse": 1.0})
  c.loss.ddr_tau = 0.1      # the DDR softmax temperature
  c.loss.ddr_eps = 1e-12    # its log guard, as the reference
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
  c.eval.lpips_weights = ""   # AlexNet/LPIPS weights for the "lpips" metric (README)
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


def simvp_model(c: ml_collections.ConfigDict, name: str) -> ml_collections.ConfigDict:
  """SimVP / TAU at the OpenSTL Moving MNIST setting."""
  c.model.name = name
  c.model.hid_S = 64
  c.model.hid_T = 512
  c.model.N_S = 4
  c.model.N_T = 8
  c.model.spatio_kernel_enc = 3
  c.model.spatio_kernel_dec = 3
  c.model.mlp_ratio = 8.0
  c.model.drop_path = 0.0
  # False turns every drop-path module off, including the 0.01 the reference
  # keeps at drop_path 0 (README: Drop path); True trains as the reference.
  c.model.stochastic_depth = True
  return c


def copy_last_model(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The Copying baseline (stjax/models/copying.py): nothing to train, so one
  epoch that only evaluates it."""
  c.model.name = "copy_last"
  c.train.epochs = 1
  c.optim.schedule = "constant"
  return c


def recurrent_model(c: ml_collections.ConfigDict, name: str) -> ml_collections.ConfigDict:
  """A recurrent model at the OpenSTL Moving MNIST setting: 4 layers of 128,
  filter 5, patch 4, lr 5e-4, scheduled sampling from 1.0 by 2e-5 per
  iteration until 50000 (reverse sampling fields used when switched on)."""
  _recurrent_common(c, name, num_hidden=(128, 128, 128, 128), patch_size=4)
  if name == "predrnnv2":
    c.loss.terms.decouple = 0.1  # the reference's decouple_beta
  if name in ("mim", "tmu"):  # TMU: for a MIM backbone
    # OpenSTL cuts the gradient along MIM-S between steps (its tables were
    # trained so); the MIM authors' code keeps it (False).
    c.model.stop_mim_s_gradient = True
  c.model.filter_size = 5
  c.model.legacy_openstl = False  # equations of OpenSTL's released weights (README)
  c.model.init_from = ""  # a finished run's workdir: start from its parameters
  c.optim.lr = 5e-4
  return c


def tmu_model(c: ml_collections.ConfigDict, backbone: str, sources=(),
              variant: str = "paper") -> ml_collections.ConfigDict:
  """TMU transfer (Yao et al. 2020): a `backbone` target (convlstm, predrnn or
  mim) at the OpenSTL setting, distilling the memories of the frozen models
  trained in the `sources` workdirs. `variant` reads TMU as the paper
  ("paper": Eq. 6's objective, frame errors and distillation both summed,
  beta 0.1) or as its authors' code ("code": the distillation computed and
  not added; stjax/models/tmu.py has the table)."""
  recurrent_model(c, "tmu")
  c.model.backbone = backbone
  c.model.sources = tuple(sources)
  c.model.untrained_sources = 0  # frozen, freshly initialised sources
  c.model.tmu_variant = variant
  c.model.tmu_distill = ""       # "" = the variant's form; "eq6", "code", "mean"
  c.model.gate_bias = False      # ConvLSTM backbone: one bias per gate (TMU code)
  c.loss.terms.distill = 0.1     # beta; the code variant adds nothing
  c.loss.reduction = "sequence_sum" if variant == "paper" else "mean"
  return c


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


def mslstm_model(c: ml_collections.ConfigDict, cell: str,
                 pyramid: bool) -> ml_collections.ConfigDict:
  """The MS-LSTM model of the paper's Table 3: 6 layers of 32 at the full
  64x64 resolution (patch 1), kernels 3 (ConvLSTM) or 3 and 5 (MK-LSTM),
  with the authors' optimiser (Adam at a constant 3e-4, batch 4) and the
  rest of the OpenSTL recipe: per-pixel MSE, OpenSTL's scheduled sampling, 20
  epochs (the authors' code's Moving MNIST default; the paper trains 40). The
  paper's own protocol is experiments/configs/papers/mslstm.

  Batch: the authors' code fixes the global batch at 4 and divides it over
  its GPUs, which on one device is the paper's "batch 4 per device"; on N
  devices pass --config.train.batch_size=4N to keep 4 per device. Scheduled
  sampling follows OpenSTL's linear schedule, as for the other recurrent
  models.
  """
  _recurrent_common(c, "mslstm", num_hidden=(32,) * 6, patch_size=1)
  c.model.cell = cell            # "convlstm" or "mklstm"
  c.model.kernel_sizes = (3,) if cell == "convlstm" else (3, 5)
  c.model.pyramid = pyramid      # 1, 1/2, 1/4, 1/4, 1/2, 1 scales, else all 1
  c.optim.lr = 3e-4
  c.optim.schedule = "constant"
  c.train.epochs = 20
  c.train.batch_size = c.eval.batch_size = 4
  return c


def _recurrent_common(c, name, *, num_hidden, patch_size):
  c.model.name = name
  c.model.num_hidden = num_hidden
  c.model.patch_size = patch_size
  c.model.layer_norm = False
  c.model.remat = False           # recompute each step's gates in the backward pass

  c.sampling = ml_collections.ConfigDict()
  c.sampling.scheduled_sampling = True
  # "openstl": eta from start_value by changing_rate per step until stop_iter;
  # "linear_over_run": from start_value to 0 over the whole run (MS-LSTM code).
  c.sampling.schedule = "openstl"
  c.sampling.sampling_start_value = 1.0
  c.sampling.sampling_changing_rate = 2e-5
  c.sampling.sampling_stop_iter = 50000
  c.sampling.reverse_scheduled_sampling = False
  c.sampling.r_sampling_step_1 = 25000
  c.sampling.r_sampling_step_2 = 50000
  c.sampling.r_exp_alpha = 5000.0


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


def shrink_for_smoke(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The same model family and data, small enough to run end to end on a CPU
  in well under two minutes (train, evaluate, checkpoint, pictures)."""
  if "hid_S" in c.model:
    c.model.hid_S, c.model.hid_T, c.model.N_S, c.model.N_T = 8, 32, 4, 2
  elif "pyramid" in c.model:  # keep a pyramid: 4 layers, scales 1, 1/2, 1/2, 1
    size = c.data.get("image_size", 32)  # TaxiBJ: 32
    c.model.num_hidden = (8,) * 4
    c.model.patch_size = next(p for p in (4, 2, 1) if size % (2 * p) == 0)
  else:
    c.model.num_hidden = (16, 16)
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
  return c
