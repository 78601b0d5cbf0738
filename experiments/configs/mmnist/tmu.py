"""TMU transfer on Moving MNIST (Yao et al. 2020): a PredRNN target on
3-digit sequences distilling the memories of frozen models pretrained on 1-
and 2-digit sequences, at the OpenSTL PredRNN setting (4 x 128, filter 5,
patch 4), TMU as its paper reads (stjax.models.tmu.defaults). Other backbones:
--config.model.backbone=convlstm|mim. The paper's own Table 1 protocol is
experiments/configs/papers/tmu/table1_mmnist.py.

Run the whole study (pretrain the sources, then train from scratch, finetune
a source, train TMU with the sources and with untrained ones, and compare)
with

    python -m experiments.transfer --config=experiments/configs/mmnist/tmu.py \\
        --workdir=runs/tmu

or one TMU run on sources trained elsewhere with experiments.main and
--config.model.sources="('runs/a', 'runs/b')". The `transfer` section is read
by experiments.transfer only. `:smoke` shrinks everything for a CPU check.
"""
from experiments.configs import base


def get_config(arg: str | None = None):
  c = base.model(base.get_base_config(), "tmu", backbone="predrnn")
  c.data.num_digits = 3
  base.tmu_transfer(c, pretrain_epochs=200, pretrain_train_size=10000)
  base.variant(c, arg)  # refuses an unknown :variant
  if arg == "smoke":
    c.model.num_hidden = (8, 8)
    c.data.image_size = 32
    c.transfer.pretrain_epochs, c.transfer.pretrain_train_size = 1, 64
  return c
