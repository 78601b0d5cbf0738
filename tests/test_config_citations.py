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
# OpenSTL's other translators (experiments/configs/simvp_zoo.py): (hid_S,
# hid_T, N_S, N_T, lr, drop_path, sched, batch_size), from the same files.
CITED_TRANSLATORS = {
    "mmnist/simvp/SimVP_ConvMixer.py": (64, 512, 4, 8, 0.01, 0.0, "onecycle", 16),
    "mmnist/simvp/SimVP_ConvNeXt.py": (64, 512, 4, 8, 0.01, 0.0, "onecycle", 16),
    "mmnist/simvp/SimVP_HorNet.py": (64, 512, 4, 8, 0.001, 0.0, "onecycle", 16),
    "mmnist/simvp/SimVP_MLPMixer.py": (64, 512, 4, 8, 0.001, 0.0, "onecycle", 16),
    "mmnist/simvp/SimVP_MogaNet.py": (64, 512, 4, 8, 0.001, 0.0, "onecycle", 16),
    "mmnist/simvp/SimVP_Poolformer.py": (64, 512, 4, 8, 0.001, 0.0, "onecycle", 16),
    "mmnist/simvp/SimVP_Swin.py": (64, 512, 4, 8, 0.001, 0.0, "onecycle", 16),
    "mmnist/simvp/SimVP_Uniformer.py": (64, 512, 4, 8, 0.0005, 0.0, "onecycle", 16),
    "mmnist/simvp/SimVP_VAN.py": (64, 512, 4, 8, 0.001, 0.0, "onecycle", 16),
    "mmnist/simvp/SimVP_ViT.py": (64, 512, 4, 8, 0.0005, 0.0, "onecycle", 16),
    "taxibj/simvp/SimVP_ConvMixer.py": (32, 256, 2, 8, 0.001, 0.1, "cosine", 16),
    "taxibj/simvp/SimVP_ConvNeXt.py": (32, 256, 2, 8, 0.001, 0.1, "cosine", 16),
    "taxibj/simvp/SimVP_HorNet.py": (32, 256, 2, 8, 0.001, 0.1, "cosine", 16),
    "taxibj/simvp/SimVP_MLPMixer.py": (32, 256, 2, 8, 0.01, 0.1, "cosine", 16),
    "taxibj/simvp/SimVP_MogaNet.py": (32, 256, 2, 8, 0.001, 0.1, "cosine", 16),
    "taxibj/simvp/SimVP_Poolformer.py": (32, 256, 2, 8, 0.0005, 0.1, "cosine", 16),
    "taxibj/simvp/SimVP_Swin.py": (32, 256, 2, 8, 0.0005, 0.1, "cosine", 16),
    "taxibj/simvp/SimVP_Uniformer.py": (32, 256, 2, 8, 0.0005, 0.1, "cosine", 16),
    "taxibj/simvp/SimVP_VAN.py": (32, 256, 2, 8, 0.001, 0.1, "cosine", 16),
    "taxibj/simvp/SimVP_ViT.py": (32, 256, 2, 8, 0.0005, 0.1, "cosine", 16),
    "kth/simvp/SimVP_ConvMixer.py": (64, 256, 2, 6, 0.01, 0.1, "onecycle", 8),
    "kth/simvp/SimVP_ConvNeXt.py": (64, 256, 2, 6, 0.005, 0.1, "onecycle", 8),
    "kth/simvp/SimVP_HorNet.py": (64, 256, 2, 6, 0.001, 0.2, "onecycle", 4),
    "kth/simvp/SimVP_MLPMixer.py": (64, 256, 2, 6, 0.001, 0.1, "onecycle", 8),
    "kth/simvp/SimVP_MogaNet.py": (64, 256, 2, 6, 0.005, 0.2, "onecycle", 4),
    "kth/simvp/SimVP_Poolformer.py": (64, 256, 2, 6, 0.0005, 0.1, "onecycle", 8),
    "kth/simvp/SimVP_Swin.py": (64, 256, 2, 6, 0.0005, 0.1, "onecycle", 4),
    "kth/simvp/SimVP_Uniformer.py": (64, 256, 2, 4, 0.001, 0.1, "onecycle", 2),
    "kth/simvp/SimVP_VAN.py": (64, 256, 2, 6, 0.001, 0.2, "onecycle", 4),
    "kth/simvp/SimVP_ViT.py": (64, 256, 2, 4, 0.0013, 0.1, "onecycle", 2),
    "human/simvp/SimVP_ConvMixer.py": (64, 512, 4, 8, 0.01, 0.1, "cosine", 16),
    "human/simvp/SimVP_ConvNeXt.py": (64, 512, 4, 8, 0.005, 0.1, "cosine", 16),
    "human/simvp/SimVP_HorNet.py": (64, 512, 4, 6, 0.001, 0.1, "cosine", 16),
    "human/simvp/SimVP_MLPMixer.py": (64, 512, 4, 8, 0.001, 0.1, "cosine", 16),
    "human/simvp/SimVP_MogaNet.py": (64, 256, 4, 6, 0.001, 0.1, "cosine", 16),
    "human/simvp/SimVP_Poolformer.py": (64, 512, 4, 8, 0.001, 0.1, "cosine", 16),
    "human/simvp/SimVP_Swin.py": (64, 512, 4, 8, 0.0005, 0.1, "cosine", 16),
    "human/simvp/SimVP_Uniformer.py": (64, 512, 4, 8, 0.001, 0.1, "cosine", 4),
    "human/simvp/SimVP_VAN.py": (64, 512, 4, 8, 0.001, 0.1, "cosine", 16),
    "human/simvp/SimVP_ViT.py": (64, 256, 4, 8, 0.001, 0.1, "cosine", 4),
    "weather/t2m_5_625/SimVP_ConvMixer.py": (32, 256, 2, 8, 0.01, 0.1, "cosine", 16),
    "weather/t2m_5_625/SimVP_ConvNeXt.py": (32, 256, 2, 8, 0.01, 0.1, "cosine", 16),
    "weather/t2m_5_625/SimVP_HorNet.py": (32, 256, 2, 8, 0.001, 0.1, "cosine", 16),
    "weather/t2m_5_625/SimVP_MLPMixer.py": (32, 256, 2, 8, 0.001, 0.1, "cosine", 16),
    "weather/t2m_5_625/SimVP_MogaNet.py": (32, 256, 2, 8, 0.005, 0.2, "cosine", 16),
    "weather/t2m_5_625/SimVP_Poolformer.py": (32, 256, 2, 8, 0.0005, 0.1, "cosine", 16),
    "weather/t2m_5_625/SimVP_Swin.py": (32, 256, 2, 8, 0.001, 0.1, "cosine", 16),
    "weather/t2m_5_625/SimVP_Uniformer.py": (32, 256, 2, 8, 0.005, 0.1, "cosine", 16),
    "weather/t2m_5_625/SimVP_VAN.py": (32, 256, 2, 8, 0.005, 0.1, "cosine", 16),
    "weather/t2m_5_625/SimVP_ViT.py": (32, 256, 2, 8, 0.001, 0.1, "cosine", 16),
    "kitticaltech/simvp/SimVP_ConvMixer.py": (64, 256, 2, 6, 0.01, 0.1, "onecycle", 16),
    "kitticaltech/simvp/SimVP_ConvNeXt.py": (64, 256, 2, 6, 0.005, 0.1, "onecycle", 16),
    "kitticaltech/simvp/SimVP_HorNet.py": (64, 256, 2, 6, 0.001, 0.1, "onecycle", 16),
    "kitticaltech/simvp/SimVP_MLPMixer.py": (64, 256, 2, 6, 0.0005, 0.1, "onecycle", 16),
    "kitticaltech/simvp/SimVP_MogaNet.py": (64, 256, 2, 6, 0.005, 0.1, "onecycle", 16),
    "kitticaltech/simvp/SimVP_Poolformer.py": (64, 256, 2, 6, 0.001, 0.1, "onecycle", 16),
    "kitticaltech/simvp/SimVP_Swin.py": (64, 256, 2, 6, 0.0005, 0.1, "onecycle", 16),
    "kitticaltech/simvp/SimVP_Uniformer.py": (64, 256, 2, 4, 0.001, 0.2, "onecycle", 4),
    "kitticaltech/simvp/SimVP_VAN.py": (64, 256, 2, 6, 0.01, 0.1, "onecycle", 16),
    "kitticaltech/simvp/SimVP_ViT.py": (64, 256, 2, 4, 0.000125, 0.1, "onecycle", 4),
}
# OpenSTL's further methods (experiments/configs/methods_zoo.py), from the
# same files: per file the values that vary, (model key, its value, lr,
# sched, batch_size), and per method what every one of its files sets.
CITED_METHODS = {
    "mmnist/MAU.py": ("sr_size", 4, 1e-3, "onecycle", 16),
    "taxibj/MAU.py": ("sr_size", 2, 1e-3, "cosine", 16),
    "kth/MAU.py": ("sr_size", 2, 5e-4, "onecycle", 16),
    "human/MAU.py": ("sr_size", 4, 1e-4, "cosine", 16),
    "weather/t2m_5_625/MAU.py": ("sr_size", 2, 1e-4, "cosine", 16),
    "kitticaltech/MAU.py": ("sr_size", 2, 1e-3, "onecycle", 16),
    "mmnist/E3DLSTM.py": ("patch_size", 4, 1e-4, "onecycle", 16),
    "taxibj/E3DLSTM.py": ("patch_size", 2, 5e-3, "cosine", 16),
    "kth/E3DLSTM.py": ("patch_size", 8, 5e-4, "onecycle", 8),
    "human/E3DLSTM.py": ("patch_size", 8, 1e-4, "cosine", 4),
    "kitticaltech/E3DLSTM.py": ("patch_size", 4, 2.5e-3, "onecycle", 4),
    "mmnist/PhyDNet.py": ("patch_size", 4, 1e-3, "onecycle", 16),
    "taxibj/PhyDNet.py": ("patch_size", 2, 5e-4, "cosine", 16),
    "kth/PhyDNet.py": ("patch_size", 4, 1e-3, "onecycle", 16),
    "human/PhyDNet.py": ("patch_size", 4, 1e-4, "cosine", 16),
    "weather/t2m_5_625/PhyDNet.py": ("patch_size", 2, 1e-4, "cosine", 16),
    "kitticaltech/PhyDNet.py": ("patch_size", 4, 5e-3, "onecycle", 16),
}
# E3D-LSTM's gate-conv stride: 1 in every file but KTH's.
CITED_STRIDES = {"kth/E3DLSTM.py": 2}
EVERY_FILE = {
    "mau": {"model.num_hidden": (64,) * 4, "model.filter_size": 5, "model.patch_size": 1,
            "model.tau": 5, "model.cell_mode": "normal", "model.model_mode": "normal",
            "sampling.sampling_stop_iter": 50000, "sampling.scheduled_sampling": True},
    "e3dlstm": {"model.num_hidden": (128,) * 4, "model.layer_norm": False,
                "loss.terms": {"mse": 1.0, "mae": 1.0},
                "sampling.sampling_changing_rate": 2e-5,
                "sampling.reverse_scheduled_sampling": False},
    "phydnet": {"model.num_hidden": (128, 128, 64), "model.phycell_hidden": 49,
                "model.encoder_width": 32, "model.phydnet_objective": "openstl",
                "loss.terms": {"phydnet": 1.0}, "sampling.schedule": "teacher_forcing",
                "sampling.sampling_changing_rate": 0.003},
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


@pytest.mark.parametrize("source", sorted(CITED_TRANSLATORS))
def test_translator_configs_carry_the_values_of_their_files(source):
  from experiments.configs import simvp_zoo
  (dataset, translator), = [k for k in simvp_zoo.OPENSTL
                            if simvp_zoo.source(*k) == source]
  c = importlib.import_module(f"experiments.configs.{dataset}.simvp").get_config(
      translator)
  assert c.cites == f"OpenSTL c74deb5 configs/{source}"
  hid_s, hid_t, n_s, n_t, lr, drop_path, sched, batch = CITED_TRANSLATORS[source]
  assert c.model.name == f"simvp_{translator}"
  assert (c.model.hid_S, c.model.hid_T, c.model.N_S, c.model.N_T) == (
      hid_s, hid_t, n_s, n_t)
  assert (c.optim.lr, c.model.drop_path, c.optim.schedule) == (lr, drop_path, sched)
  assert c.train.batch_size == batch


@pytest.mark.parametrize("source", sorted(CITED_METHODS))
def test_method_configs_carry_the_values_of_their_files(source):
  from experiments.configs import methods_zoo
  (dataset, method), = [k for k in methods_zoo.OPENSTL
                        if methods_zoo.source(*k) == source]
  c = importlib.import_module(f"experiments.configs.{dataset}.{method}").get_config()
  assert c.cites == f"OpenSTL c74deb5 configs/{source}"
  assert c.model.name == method
  key, value, lr, sched, batch = CITED_METHODS[source]
  assert (c.model[key], c.optim.lr, c.optim.schedule) == (value, lr, sched)
  assert c.train.batch_size == batch
  if method == "e3dlstm":
    assert c.model.stride == CITED_STRIDES.get(source, 1)
  for path, want in EVERY_FILE[method].items():
    section, name = path.split(".")
    got = c[section][name]
    assert (dict(got) if name == "terms" else got) == want, (source, path)


def test_a_method_without_an_openstl_config_says_which_datasets_have_one():
  from experiments.configs import methods_zoo
  with pytest.raises(ValueError, match="kitti_caltech.*taxibj"):
    methods_zoo.get("weatherbench", "e3dlstm")


def test_a_translator_config_without_a_translator_says_which_exist():
  from experiments.configs.mmnist import simvp
  with pytest.raises(ValueError, match="convnext.*vit"):
    simvp.get_config("smoke")
