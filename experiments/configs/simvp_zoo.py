"""SimVP with each of OpenSTL's other translators, on each benchmark dataset:
the values of OpenSTL's configs/<dataset>/simvp/SimVP_<type>.py.

`get(dataset, arg)` builds the config that
experiments/configs/<dataset>/simvp.py returns for `:<translator>` or
`:<translator>:smoke`. Each row is (hid_S, hid_T, N_S, N_T, lr, drop_path,
sched, batch_size), transcribed from OpenSTL commit c74deb5 (a file without
`lr` or `sched` gets its parser's defaults, 1e-3 and "onecycle";
tests/test_config_citations.py pins the rows). `batch_size` is the file's:
per GPU in OpenSTL, whose files do not say how many GPUs stood behind its
tables; stjax trains it as the global batch. The data sections, epochs and
warm-up are the datasets' (experiments/configs/benchmarks.py; TaxiBJ's 5
warm-up epochs are its files' `warmup_epoch`).
"""
from __future__ import annotations

from experiments.configs import base, benchmarks
from stjax.models import metaformers

TRANSLATORS = metaformers.BLOCKS
FOLDERS = {"mmnist": "mmnist/simvp", "taxibj": "taxibj/simvp", "kth": "kth/simvp",
           "human36m": "human/simvp", "weatherbench": "weather/t2m_5_625",
           "kitti_caltech": "kitticaltech/simvp"}
_FILE_NAMES = {"convmixer": "ConvMixer", "convnext": "ConvNeXt", "hornet": "HorNet",
               "mlpmixer": "MLPMixer", "moganet": "MogaNet", "poolformer": "Poolformer",
               "swin": "Swin", "uniformer": "Uniformer", "van": "VAN", "vit": "ViT"}

OPENSTL = {
    # mmnist: configs/mmnist/simvp/SimVP_<type>.py
    ("mmnist", "convmixer"): (64, 512, 4, 8, 0.01, 0.0, "onecycle", 16),
    ("mmnist", "convnext"): (64, 512, 4, 8, 0.01, 0.0, "onecycle", 16),
    ("mmnist", "hornet"): (64, 512, 4, 8, 0.001, 0.0, "onecycle", 16),
    ("mmnist", "mlpmixer"): (64, 512, 4, 8, 0.001, 0.0, "onecycle", 16),
    ("mmnist", "moganet"): (64, 512, 4, 8, 0.001, 0.0, "onecycle", 16),
    ("mmnist", "poolformer"): (64, 512, 4, 8, 0.001, 0.0, "onecycle", 16),
    ("mmnist", "swin"): (64, 512, 4, 8, 0.001, 0.0, "onecycle", 16),
    ("mmnist", "uniformer"): (64, 512, 4, 8, 0.0005, 0.0, "onecycle", 16),
    ("mmnist", "van"): (64, 512, 4, 8, 0.001, 0.0, "onecycle", 16),
    ("mmnist", "vit"): (64, 512, 4, 8, 0.0005, 0.0, "onecycle", 16),
    # taxibj: configs/taxibj/simvp/SimVP_<type>.py
    ("taxibj", "convmixer"): (32, 256, 2, 8, 0.001, 0.1, "cosine", 16),
    ("taxibj", "convnext"): (32, 256, 2, 8, 0.001, 0.1, "cosine", 16),
    ("taxibj", "hornet"): (32, 256, 2, 8, 0.001, 0.1, "cosine", 16),
    ("taxibj", "mlpmixer"): (32, 256, 2, 8, 0.01, 0.1, "cosine", 16),
    ("taxibj", "moganet"): (32, 256, 2, 8, 0.001, 0.1, "cosine", 16),
    ("taxibj", "poolformer"): (32, 256, 2, 8, 0.0005, 0.1, "cosine", 16),
    ("taxibj", "swin"): (32, 256, 2, 8, 0.0005, 0.1, "cosine", 16),
    ("taxibj", "uniformer"): (32, 256, 2, 8, 0.0005, 0.1, "cosine", 16),
    ("taxibj", "van"): (32, 256, 2, 8, 0.001, 0.1, "cosine", 16),
    ("taxibj", "vit"): (32, 256, 2, 8, 0.0005, 0.1, "cosine", 16),
    # kth: configs/kth/simvp/SimVP_<type>.py
    ("kth", "convmixer"): (64, 256, 2, 6, 0.01, 0.1, "onecycle", 8),
    ("kth", "convnext"): (64, 256, 2, 6, 0.005, 0.1, "onecycle", 8),
    ("kth", "hornet"): (64, 256, 2, 6, 0.001, 0.2, "onecycle", 4),
    ("kth", "mlpmixer"): (64, 256, 2, 6, 0.001, 0.1, "onecycle", 8),
    ("kth", "moganet"): (64, 256, 2, 6, 0.005, 0.2, "onecycle", 4),
    ("kth", "poolformer"): (64, 256, 2, 6, 0.0005, 0.1, "onecycle", 8),
    ("kth", "swin"): (64, 256, 2, 6, 0.0005, 0.1, "onecycle", 4),
    ("kth", "uniformer"): (64, 256, 2, 4, 0.001, 0.1, "onecycle", 2),
    ("kth", "van"): (64, 256, 2, 6, 0.001, 0.2, "onecycle", 4),
    ("kth", "vit"): (64, 256, 2, 4, 0.0013, 0.1, "onecycle", 2),
    # human36m: configs/human/simvp/SimVP_<type>.py
    ("human36m", "convmixer"): (64, 512, 4, 8, 0.01, 0.1, "cosine", 16),
    ("human36m", "convnext"): (64, 512, 4, 8, 0.005, 0.1, "cosine", 16),
    ("human36m", "hornet"): (64, 512, 4, 6, 0.001, 0.1, "cosine", 16),
    ("human36m", "mlpmixer"): (64, 512, 4, 8, 0.001, 0.1, "cosine", 16),
    ("human36m", "moganet"): (64, 256, 4, 6, 0.001, 0.1, "cosine", 16),
    ("human36m", "poolformer"): (64, 512, 4, 8, 0.001, 0.1, "cosine", 16),
    ("human36m", "swin"): (64, 512, 4, 8, 0.0005, 0.1, "cosine", 16),
    ("human36m", "uniformer"): (64, 512, 4, 8, 0.001, 0.1, "cosine", 4),
    ("human36m", "van"): (64, 512, 4, 8, 0.001, 0.1, "cosine", 16),
    ("human36m", "vit"): (64, 256, 4, 8, 0.001, 0.1, "cosine", 4),
    # weatherbench: configs/weather/t2m_5_625/SimVP_<type>.py
    ("weatherbench", "convmixer"): (32, 256, 2, 8, 0.01, 0.1, "cosine", 16),
    ("weatherbench", "convnext"): (32, 256, 2, 8, 0.01, 0.1, "cosine", 16),
    ("weatherbench", "hornet"): (32, 256, 2, 8, 0.001, 0.1, "cosine", 16),
    ("weatherbench", "mlpmixer"): (32, 256, 2, 8, 0.001, 0.1, "cosine", 16),
    ("weatherbench", "moganet"): (32, 256, 2, 8, 0.005, 0.2, "cosine", 16),
    ("weatherbench", "poolformer"): (32, 256, 2, 8, 0.0005, 0.1, "cosine", 16),
    ("weatherbench", "swin"): (32, 256, 2, 8, 0.001, 0.1, "cosine", 16),
    ("weatherbench", "uniformer"): (32, 256, 2, 8, 0.005, 0.1, "cosine", 16),
    ("weatherbench", "van"): (32, 256, 2, 8, 0.005, 0.1, "cosine", 16),
    ("weatherbench", "vit"): (32, 256, 2, 8, 0.001, 0.1, "cosine", 16),
    # kitti_caltech: configs/kitticaltech/simvp/SimVP_<type>.py
    ("kitti_caltech", "convmixer"): (64, 256, 2, 6, 0.01, 0.1, "onecycle", 16),
    ("kitti_caltech", "convnext"): (64, 256, 2, 6, 0.005, 0.1, "onecycle", 16),
    ("kitti_caltech", "hornet"): (64, 256, 2, 6, 0.001, 0.1, "onecycle", 16),
    ("kitti_caltech", "mlpmixer"): (64, 256, 2, 6, 0.0005, 0.1, "onecycle", 16),
    ("kitti_caltech", "moganet"): (64, 256, 2, 6, 0.005, 0.1, "onecycle", 16),
    ("kitti_caltech", "poolformer"): (64, 256, 2, 6, 0.001, 0.1, "onecycle", 16),
    ("kitti_caltech", "swin"): (64, 256, 2, 6, 0.0005, 0.1, "onecycle", 16),
    ("kitti_caltech", "uniformer"): (64, 256, 2, 4, 0.001, 0.2, "onecycle", 4),
    ("kitti_caltech", "van"): (64, 256, 2, 6, 0.01, 0.1, "onecycle", 16),
    ("kitti_caltech", "vit"): (64, 256, 2, 4, 0.000125, 0.1, "onecycle", 4),
}


def source(dataset: str, translator: str) -> str:
  """The OpenSTL file a row transcribes, relative to its configs/."""
  return f"{FOLDERS[dataset]}/SimVP_{_FILE_NAMES[translator]}.py"


def dataset_config(dataset: str):
  """The base config with `dataset`'s data section, epochs and schedule."""
  c = base.get_base_config()
  if dataset == "mmnist":
    return c
  if dataset == "taxibj":
    return base.taxibj_data(c)
  return benchmarks.DATA[dataset](c)


def get(dataset: str, arg: str | None):
  """SimVP-<translator> on `dataset`; `arg` is "<translator>[:smoke]"."""
  translator, _, rest = (arg or "").partition(":")
  if translator not in TRANSLATORS:
    raise ValueError(
        f"name the translator: --config=experiments/configs/{dataset}/simvp.py"
        f":<translator>[:smoke] with one of {', '.join(TRANSLATORS)} (got "
        f"{translator!r}; gSTA, IncepU and TAU have their own configs).")
  hid_s, hid_t, n_s, n_t, lr, drop_path, sched, batch = OPENSTL[(dataset, translator)]
  c = base.model(dataset_config(dataset), f"simvp_{translator}")
  c.model.hid_S, c.model.hid_T, c.model.N_S, c.model.N_T = hid_s, hid_t, n_s, n_t
  c.model.drop_path = drop_path
  c.optim.lr, c.optim.schedule = lr, sched
  c.train.batch_size = batch
  c.cites = f"OpenSTL c74deb5 configs/{source(dataset, translator)}"
  return base.variant(c, rest)
