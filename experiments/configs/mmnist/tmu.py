"""TMU transfer on Moving MNIST (Yao et al. 2020): a PredRNN target on
3-digit sequences distilling the memories of frozen models pretrained on 1-
and 2-digit sequences, at the OpenSTL PredRNN setting (4 x 128, filter 5,
patch 4). Other backbones: --config.model.backbone=convlstm|mim.

Run the whole study (pretrain the sources, then train from scratch, finetune
a source and train TMU on the target, and compare) with

    python -m experiments.transfer --config=experiments/configs/mmnist/tmu.py \\
        --workdir=runs/tmu

or one TMU run on sources trained elsewhere with experiments.main and
--config.model.sources="('runs/a', 'runs/b')". The `transfer` section is read
by experiments.transfer only. `:smoke` shrinks everything for a CPU check.
"""
import ml_collections

from experiments.configs import base


def get_config(arg: str | None = None):
  c = base.tmu_model(base.get_base_config(), "predrnn")
  c.data.num_digits = 3
  c.transfer = ml_collections.ConfigDict()
  c.transfer.source_digits = (1, 2)  # one source per entry, pretrained first
  c.transfer.pretrain_epochs = 200
  c.transfer.pretrain_train_size = 10000
  c.transfer.finetune_source = -1     # the finetune baseline starts from this source
  base.variant(c, arg)  # refuses an unknown :variant
  if arg == "smoke":
    c.model.num_hidden = (8, 8)
    c.data.image_size = 32
    c.transfer.pretrain_epochs, c.transfer.pretrain_train_size = 1, 64
  return c
