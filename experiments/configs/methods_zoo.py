"""OpenSTL's further recurrent methods on each benchmark dataset: the values
of OpenSTL's configs/<dataset>/<Method>.py.

`get(dataset, method, arg)` builds the config that
experiments/configs/<dataset>/<method>.py returns. Each MAU row is (sr_size,
lr, sched, batch_size), transcribed from OpenSTL commit c74deb5; every MAU
file also sets 4 layers of 64, filter 5, patch 1, tau 5, the "normal" cell
and model modes and scheduled sampling from 1.0 by 2e-5 until 50000
iterations (the model's defaults, stjax/models/mau.py;
tests/test_config_citations.py pins the rows). The data sections, epochs and
warm-up are the datasets' (experiments/configs/benchmarks.py; TaxiBJ's 5
warm-up epochs are its file's `warmup_epoch`, human and weather set 0).
"""
from __future__ import annotations

from experiments.configs import base, simvp_zoo

FOLDERS = {"mmnist": "mmnist", "taxibj": "taxibj", "kth": "kth", "human36m": "human",
           "weatherbench": "weather/t2m_5_625", "kitti_caltech": "kitticaltech"}
_FILE_NAMES = {"mau": "MAU"}

OPENSTL = {
    ("mmnist", "mau"): (4, 1e-3, "onecycle", 16),
    ("taxibj", "mau"): (2, 1e-3, "cosine", 16),
    ("kth", "mau"): (2, 5e-4, "onecycle", 16),
    ("human36m", "mau"): (4, 1e-4, "cosine", 16),
    ("weatherbench", "mau"): (2, 1e-4, "cosine", 16),
    ("kitti_caltech", "mau"): (2, 1e-3, "onecycle", 16),
}


def source(dataset: str, method: str) -> str:
  """The OpenSTL file a row transcribes, relative to its configs/."""
  return f"{FOLDERS[dataset]}/{_FILE_NAMES[method]}.py"


def get(dataset: str, method: str, arg: str | None = None):
  """`method` on `dataset` with the values of OpenSTL's file; `arg` is a
  variant (":smoke")."""
  c = base.model(simvp_zoo.dataset_config(dataset), method)
  if method == "mau":
    sr_size, lr, sched, batch = OPENSTL[(dataset, method)]
    c.model.sr_size = sr_size
  c.optim.lr, c.optim.schedule = lr, sched
  c.train.batch_size = batch
  c.cites = f"OpenSTL c74deb5 configs/{source(dataset, method)}"
  return base.variant(c, arg)
