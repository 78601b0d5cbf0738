"""OpenSTL's further recurrent methods on each benchmark dataset: the values
of OpenSTL's configs/<dataset>/<Method>.py.

`get(dataset, method, arg)` builds the config that
experiments/configs/<dataset>/<method>.py returns. Each row is (the model
key of FIELDS, lr, sched, batch_size), transcribed from OpenSTL commit
c74deb5 (tests/test_config_citations.py pins the rows):
- MAU (sr_size, ...): every file also sets 4 layers of 64, filter 5, patch
  1, tau 5, the "normal" cell and model modes and scheduled sampling from
  1.0 by 2e-5 until 50000 iterations (the model's defaults,
  stjax/models/mau.py);
- E3D-LSTM (patch_size, ...): every file sets 4 layers of 128, no layer
  norm, the same scheduled sampling (stjax/models/e3dlstm.py's defaults)
  and stride 1, but KTH's, stride 2 (STRIDES); OpenSTL has no WeatherBench
  file for it. `batch_size` is the file's: per
  GPU there (KTH's says 8 x 2 GPUs, Human3.6M's 4 x 4), the global batch
  here, as experiments/configs/simvp_zoo.py decides;
- PhyDNet (patch_size, i.e. its encoder's stride, ...): every file keeps the
  model's fixed widths and the PhyDNet method's teacher forcing and
  objective (stjax/models/phydnet.py's defaults). The data sections, epochs and
warm-up are the datasets' (experiments/configs/benchmarks.py; TaxiBJ's 5
warm-up epochs are its file's `warmup_epoch`, human and weather set 0).
"""
from __future__ import annotations

from experiments.configs import base, simvp_zoo

FOLDERS = {"mmnist": "mmnist", "taxibj": "taxibj", "kth": "kth", "human36m": "human",
           "weatherbench": "weather/t2m_5_625", "kitti_caltech": "kitticaltech"}
_FILE_NAMES = {"mau": "MAU", "e3dlstm": "E3DLSTM", "phydnet": "PhyDNet"}
FIELDS = {"mau": "sr_size", "e3dlstm": "patch_size", "phydnet": "patch_size"}

OPENSTL = {
    ("mmnist", "mau"): (4, 1e-3, "onecycle", 16),
    ("taxibj", "mau"): (2, 1e-3, "cosine", 16),
    ("kth", "mau"): (2, 5e-4, "onecycle", 16),
    ("human36m", "mau"): (4, 1e-4, "cosine", 16),
    ("weatherbench", "mau"): (2, 1e-4, "cosine", 16),
    ("kitti_caltech", "mau"): (2, 1e-3, "onecycle", 16),
    ("mmnist", "e3dlstm"): (4, 1e-4, "onecycle", 16),
    ("taxibj", "e3dlstm"): (2, 5e-3, "cosine", 16),
    ("kth", "e3dlstm"): (8, 5e-4, "onecycle", 8),
    ("human36m", "e3dlstm"): (8, 1e-4, "cosine", 4),
    ("kitti_caltech", "e3dlstm"): (4, 2.5e-3, "onecycle", 4),
    ("mmnist", "phydnet"): (4, 1e-3, "onecycle", 16),
    ("taxibj", "phydnet"): (2, 5e-4, "cosine", 16),
    ("kth", "phydnet"): (4, 1e-3, "onecycle", 16),
    ("human36m", "phydnet"): (4, 1e-4, "cosine", 16),
    ("weatherbench", "phydnet"): (2, 1e-4, "cosine", 16),
    ("kitti_caltech", "phydnet"): (4, 5e-3, "onecycle", 16),
}


STRIDES = {("kth", "e3dlstm"): 2}  # the gate convs' stride where a file sets one != 1


def source(dataset: str, method: str) -> str:
  """The OpenSTL file a row transcribes, relative to its configs/."""
  return f"{FOLDERS[dataset]}/{_FILE_NAMES[method]}.py"


def get(dataset: str, method: str, arg: str | None = None):
  """`method` on `dataset` with the values of OpenSTL's file; `arg` is a
  variant (":smoke")."""
  if (dataset, method) not in OPENSTL:
    raise ValueError(f"OpenSTL has no {_FILE_NAMES[method]} config for {dataset}; "
                     f"those it has: {sorted(d for d, m in OPENSTL if m == method)}.")
  c = base.model(simvp_zoo.dataset_config(dataset), method)
  value, lr, sched, batch = OPENSTL[(dataset, method)]
  c.model[FIELDS[method]] = value
  if (dataset, method) in STRIDES:
    c.model.stride = STRIDES[(dataset, method)]
  c.optim.lr, c.optim.schedule = lr, sched
  c.train.batch_size = batch
  c.cites = f"OpenSTL c74deb5 configs/{source(dataset, method)}"
  return base.variant(c, arg)
