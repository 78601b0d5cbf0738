"""TMU paper, Table 1: 3-digit Moving MNIST with a ConvLSTM backbone, sources
pretrained on 1- and 2-digit Moving MNIST; rows "train from scratch",
"finetune" (from the 2-digit source), "TMU" (both sources) and "TMU (train
from scratch)" (untrained sources). Run the whole table with

    python -m experiments.transfer \\
        --config=experiments/configs/papers/tmu/table1_mmnist.py --workdir=runs/t1

The protocol (paper Sec. 4.1, and the authors' script/tmu.sh where the paper
is silent): ConvLSTM 4 x 64, filter 5, patch 4, one bias per gate; a fixed
set of 10,000 training sequences drawn once (data.fixed_train_set), 2,000
validating and 3,000 testing, from held-out digits; batch 8, 80,000
iterations (64 epochs of 1,250 steps); scheduled sampling from 1 by 2e-5 per
step until 50,000 (the script); SSIM as the authors' code scores it
(`ssim_uint8`).

Two readings, chosen by the variant:
- none (the paper): TMU at every layer, Eq. 6's objective (frame errors and
  the distillation summed, beta 0.1), Adam 1e-3;
- `:code` (the authors' release): TMU at layer 0 only, the distillation
  computed and not added, Adam 3e-4, two optimizer steps per iteration (the
  second on the time-reversed sequence, train.reverse_input).
`:smoke` and `:code_smoke` shrink it for a CPU check. --config.transfer.
target_fraction=0.25 .. 2.0 is the paper's Fig. 7.
"""
from experiments.configs import base

def get_config(arg: str | None = None):
  variant, smoke = "paper", False
  for part in (arg or "").split("_"):
    if part == "code":
      variant = "code"
    elif part == "smoke":
      smoke = True
    elif part:
      raise ValueError(f"unknown config variant ':{arg}'; this config has "
                       f":code, :smoke, :code_smoke or none.")
  c = base.model(base.get_base_config(), "tmu", backbone="convlstm", variant=variant)
  c.model.num_hidden, c.model.filter_size, c.model.patch_size = (64,) * 4, 5, 4
  c.model.gate_bias = True
  c.data.num_digits = 3
  c.data.train_size, c.data.fixed_train_set = 10000, True
  c.data.val_size, c.data.test_size = 2000, 3000
  c.train.batch_size = c.eval.batch_size = 8
  c.train.epochs = 64
  c.optim.name, c.optim.schedule = "adam", "constant"
  c.optim.lr = 1e-3 if variant == "paper" else 3e-4
  c.train.reverse_input = variant == "code"
  c.eval.metrics = ("mse", "mae", "ssim_uint8", "psnr")
  c.eval.clip_errors = True  # the authors' MSE reads clipped predictions
  base.tmu_transfer(c, pretrain_epochs=64, pretrain_train_size=10000)
  c.transfer.finetune_source = 1  # the 2-digit source
  # Table 1, per frame: ConvLSTM from scratch, TMU (train from scratch, no
  # pretrained sources), finetune from 2 digits, TMU with both sources
  c.transfer.paper_mse = {"scratch": 120.5, "tmu_untrained": 120.6,
                          "finetune": 110.0, "tmu": 94.7}
  c.transfer.paper_ssim = {"scratch": 0.712, "tmu_untrained": 0.715,
                           "finetune": 0.732, "tmu": 0.777}
  if smoke:
    base.shrink_for_smoke(c)
    c.data.image_size = 32
    c.eval.batch_size = 8
    c.transfer.pretrain_epochs, c.transfer.pretrain_train_size = 1, 64
  return c
