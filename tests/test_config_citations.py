"""Every config that cites an OpenSTL file carries that file's values.

CITED below is written from the files of OpenSTL commit c74deb5
(github.com/chengtan9907/OpenSTL, configs/...), read by hand; where a file
sets no `sched` or `lr`, OpenSTL's parser defaults apply ("onecycle", 1e-3;
openstl/utils/parser.py). SimVP/TAU entries: (hid_S, hid_T, N_S, N_T, lr,
drop_path, sched); recurrent ones: (patch_size, lr, sched), all 4 x 128,
filter 5. Batch 16 everywhere (KTH SimVP/TAU: 4 per GPU x 4 GPUs).
"""
import importlib

import pytest

from experiments.configs import benchmarks

CITED = {
    "mmnist/simvp/SimVP_gSTA.py": (64, 512, 4, 8, 1e-3, 0.0, "onecycle"),
    "mmnist/simvp/SimVP_IncepU.py": (64, 512, 4, 8, 1e-3, 0.0, "onecycle"),
    "mmnist/TAU.py": (64, 512, 4, 8, 1e-3, 0.0, "onecycle"),
    "mmnist/ConvLSTM.py": (4, 5e-4, "onecycle"),
    "mmnist/PredRNN.py": (4, 5e-4, "onecycle"),
    "mmnist/PredRNNpp.py": (4, 1e-4, "onecycle"),
    "mmnist/PredRNNv2.py": (4, 5e-4, "onecycle"),
    "mmnist/MIM.py": (4, 5e-4, "onecycle"),
    "taxibj/simvp/SimVP_gSTA.py": (32, 256, 2, 8, 5e-4, 0.1, "cosine"),
    "taxibj/TAU.py": (32, 256, 2, 8, 5e-4, 0.1, "cosine"),
    "taxibj/ConvLSTM.py": (2, 5e-4, "cosine"),
    "taxibj/PredRNN.py": (2, 1e-4, "cosine"),
    "taxibj/MIM.py": (2, 1e-2, "cosine"),
    "kth/simvp/SimVP_gSTA.py": (64, 256, 2, 6, 1e-3, 0.2, "onecycle"),
    "kth/TAU.py": (64, 256, 2, 6, 1e-3, 0.1, "onecycle"),
    "kth/ConvLSTM.py": (2, 1e-3, "onecycle"),
    "kth/PredRNN.py": (2, 1e-3, "onecycle"),
    "kth/MIM.py": (4, 1e-4, "onecycle"),
    "human/simvp/SimVP_gSTA.py": (64, 256, 4, 8, 1e-3, 0.1, "cosine"),
    "human/TAU.py": (64, 512, 4, 8, 1e-3, 0.1, "onecycle"),
    "human/ConvLSTM.py": (4, 1e-4, "cosine"),
    "human/PredRNN.py": (4, 1e-4, "cosine"),
    "human/MIM.py": (4, 1e-4, "cosine"),
    "weather/t2m_5_625/SimVP_gSTA.py": (32, 256, 2, 8, 5e-3, 0.1, "cosine"),
    "weather/t2m_5_625/TAU.py": (32, 256, 2, 8, 5e-3, 0.1, "onecycle"),
    "weather/t2m_5_625/ConvLSTM.py": (2, 5e-4, "cosine"),
    "weather/t2m_5_625/PredRNN.py": (2, 5e-4, "cosine"),
    "weather/t2m_5_625/MIM.py": (4, 1e-3, "cosine"),
    "kitticaltech/simvp/SimVP_gSTA.py": (64, 256, 2, 6, 5e-3, 0.2, "onecycle"),
    "kitticaltech/TAU.py": (64, 256, 2, 6, 1e-2, 0.1, "onecycle"),
    "kitticaltech/ConvLSTM.py": (2, 5e-3, "onecycle"),
    "kitticaltech/PredRNN.py": (2, 1e-2, "onecycle"),
    "kitticaltech/MIM.py": (2, 1e-2, "onecycle"),
}
CONFIGS = ([f"mmnist.{m}" for m in ("simvp_gsta", "simvp_incepu", "tau", "convlstm",
                                    "predrnn", "predrnnpp", "predrnnv2", "mim")]
           + [f"{d}.{m}" for d in ("taxibj", "kth", "human36m", "weatherbench",
                                   "kitti_caltech") for m in benchmarks.BENCHMARK_MODELS])


@pytest.mark.parametrize("name", CONFIGS)
def test_config_carries_the_values_of_the_file_it_cites(name):
  c = importlib.import_module(f"experiments.configs.{name}").get_config()
  prefix = "OpenSTL c74deb5 configs/"
  assert c.cites.startswith(prefix), (name, c.cites)
  source = c.cites[len(prefix):]
  assert source in CITED, f"{name} cites {source}, which the table does not hold"
  values = CITED[source]
  if "hid_S" in c.model:
    hid_s, hid_t, n_s, n_t, lr, drop_path, sched = values
    assert (c.model.hid_S, c.model.hid_T, c.model.N_S, c.model.N_T) == (
        hid_s, hid_t, n_s, n_t), name
    assert (c.optim.lr, c.model.drop_path, c.optim.schedule) == (lr, drop_path, sched)
  else:
    patch, lr, sched = values
    assert c.model.patch_size == patch and c.model.num_hidden == (128,) * 4
    assert c.model.filter_size == 5
    assert (c.optim.lr, c.optim.schedule) == (lr, sched), name
  assert c.train.batch_size == 16
  if name.endswith("tau"):
    assert dict(c.loss.terms)["ddr"] == 0.1 and c.loss.ddr_tau == 0.1


def test_every_cited_file_is_used():
  cited = {importlib.import_module(f"experiments.configs.{n}").get_config().cites
           for n in CONFIGS}
  assert {s[len("OpenSTL c74deb5 configs/"):] for s in cited} == set(CITED)
