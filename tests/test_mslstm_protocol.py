"""The MS-LSTM paper's protocol, piece by piece, by value: the authors' loss,
their eta schedule, their Moving MNIST generator, the 19-frame evaluation
with their SSIM and PSNR, the data options (TaxiBJ in-flow, radar frame
step, KTH clip lists), and the configs under experiments/configs/papers."""
import importlib

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from flax import nnx
from PIL import Image

from conftest import ROOT
from experiments.configs.papers import mslstm as papers_mslstm
from stjax import losses, metrics
from stjax.data import build_datasets, kth, mnist, moving_mnist, radar
from stjax.errors import ConfigError, DataError
from stjax.models.mslstm import MSLSTM
from stjax.models.recurrent import inference_weights
from stjax.train.sampling import ScheduledSampling
from stjax.train.build import build_weights
from stjax.train.step import make_eval_step

PAPER_CONFIGS = sorted((ROOT / "experiments" / "configs" / "papers" / "mslstm")
                       .glob("table*.py"))


def _loss_cfg(**terms):
  return ml_collections.ConfigDict({"terms": terms, "reduction": "frame_sum"})


def test_authors_loss_sums_each_frame_and_averages_frames_and_batch():
  # B=2, T=2 frames of 1x2 pixels; d = target - pred
  d = np.array([[[1.0, -2.0], [0.5, 0.0]], [[3.0, 1.0], [-1.0, -1.0]]])
  pred = jnp.zeros((2, 2, 1, 2, 1))
  target = jnp.asarray(d.reshape(2, 2, 1, 2, 1), jnp.float32)
  # frame sums of d^2: 5, 0.25, 10, 2 -> mean 4.3125; of |d|: 3, .5, 4, 2 -> 2.375
  total, terms = losses.make_objective(_loss_cfg(mse=1.0, mae=1.0))(pred, target)
  np.testing.assert_allclose([terms["mse"], terms["mae"], total],
                             [4.3125, 2.375, 6.6875], rtol=1e-6)
  mean_cfg = _loss_cfg(mse=1.0)
  mean_cfg.reduction = "mean"  # OpenSTL: a mean over all 8 elements
  np.testing.assert_allclose(losses.make_objective(mean_cfg)(pred, target)[0],
                             np.mean(d ** 2), rtol=1e-6)
  bad = _loss_cfg(mse=1.0)
  bad.reduction = "sum"
  with pytest.raises(ConfigError, match="loss.reduction='sum'"):
    losses.make_objective(bad)


def test_authors_eta_falls_linearly_from_one_to_zero_over_the_run():
  s = ScheduledSampling(10, 10, schedule="linear_over_run", total_steps=200)
  for step, eta in ((0, 1.0), (50, 0.75), (100, 0.5), (199, 0.005), (200, 0.0),
                    (500, 0.0)):
    p_obs, p_fut = s.probabilities(step)
    assert float(p_obs) == 1.0
    np.testing.assert_allclose(float(p_fut), eta, atol=1e-7)
  # one draw per step and sequence, covering the 9 future inputs only
  w = np.asarray(s(100, jax.random.key(0), 4000))
  assert w.shape == (4000, 19) and (w[:, :10] == 1).all()
  assert abs(w[:, 10:].mean() - 0.5) < 0.01
  with pytest.raises(ConfigError, match="total steps"):
    ScheduledSampling(10, 10, schedule="linear_over_run")
  with pytest.raises(ConfigError, match="sampling.schedule"):
    ScheduledSampling(10, 10, schedule="linear")


class _GlobalNumpyRNG:
  """The calls of the authors' generator, on numpy's global RNG."""

  def random(self, size=None):
    return np.random.random_sample(size)

  def integers(self, low, high=None, size=None):
    return np.random.randint(low, high, size)


def test_generator_reproduces_the_authors_make_moving_mnist():
  """Their script's output (tests/fixtures/mslstm/make_moving_mnist_fixture.py)
  for global seeds 0..4, on the embedded digits: bit for bit, given the
  same random draws (speeds, additive overlap, reflection, orientation)."""
  theirs = np.load(ROOT / "tests" / "fixtures" / "mslstm" / "msrnn_moving_mnist.npz")["frames"]
  digits = mnist.load_digits()
  for seed, want in enumerate(theirs):
    np.random.seed(seed)
    got = moving_mnist.msrnn_sequence(digits, _GlobalNumpyRNG(), 20)
    np.testing.assert_array_equal(got[..., 0], want)


def test_generator_speeds_additive_overlap_and_bounce():
  digit = np.zeros((1, 28, 28), np.uint8)
  digit[0, 10:18, 10:18] = 200  # an 8x8 block
  speeds = set()
  for i in range(300):
    seq = moving_mnist.msrnn_sequence(digit, np.random.default_rng(i), 30,
                                      num_digits=1)[..., 0]
    rows, cols = [], []
    for frame in seq:
      r, c = np.nonzero(frame)
      rows.append(r.min()), cols.append(c.min())
      assert frame.sum() == 64 * 200 or r.min() == 0 or c.min() <= 1  # cropped only at an edge
    # positions stay within the bounce box [-2 - 6, 38 + 6] + the block offset
    assert min(rows) >= 0 and max(rows) <= 36 + 2 + 6 + 18
    v = np.hypot(np.diff(rows), np.diff(cols))
    speeds.add(int(np.round(np.median(v))))
  assert speeds <= {1, 2, 3, 4, 5, 6, 7} and {2, 6} <= speeds
  two = np.full((2, 28, 28), 150, np.uint8)  # overlap adds and clips at 255
  frames = moving_mnist.msrnn_sequence(two, np.random.default_rng(1), 20)
  assert set(np.unique(frames)) <= {0, 150, 255} and (frames == 255).any()


def test_authors_moving_mnist_is_a_fixed_set_split_seven_to_three():
  c = papers_mslstm.moving_mnist(
      importlib.import_module("experiments.configs.base").get_base_config())
  c.data.num_sequences, c.data.seed = 50, 3
  data = build_datasets(c.data)
  assert (len(data.train), len(data.val), len(data.test)) == (35, 15, 15)
  assert data.val is data.test and not data.generated_train
  np.testing.assert_array_equal(data.train[7], data.train[7])
  # test sequence 0 is sequence 35 of the set, not a training one
  rng = np.random.default_rng([3, 35])
  np.testing.assert_array_equal(
      data.test[0], moving_mnist.msrnn_sequence(mnist.load_digits(), rng, 20))
  c.data.generator = "tencia"
  with pytest.raises(ConfigError, match="data.generator"):
    build_datasets(c.data)


def test_fixed_training_set_reuses_the_same_sequences():
  c = importlib.import_module("experiments.configs.base").get_base_config()
  c.data.train_size, c.data.fixed_train_set = 12, True
  data = build_datasets(c.data)
  assert not data.generated_train and len(data.train) == 12


def _ssim_tf(a, b):
  """TF's _SSIMForMultiScale (the authors' util/msssim.py) on one (H, W)
  frame: 11x11 Gaussian (sigma 1.5), 'valid', population moments, range 1."""
  r = np.arange(11) - 5.0
  g = np.exp(-(r[:, None] ** 2 + r[None] ** 2) / (2 * 1.5 ** 2))
  g /= g.sum()
  win = np.lib.stride_tricks.sliding_window_view
  f = lambda x: np.einsum("ijkl,kl->ij", win(x, (11, 11)), g)
  ma, mb = f(a), f(b)
  saa, sbb, sab = f(a * a) - ma ** 2, f(b * b) - mb ** 2, f(a * b) - ma * mb
  c1, c2 = 0.01 ** 2, 0.03 ** 2
  return np.mean((2 * ma * mb + c1) * (2 * sab + c2)
                 / ((ma ** 2 + mb ** 2 + c1) * (saa + sbb + c2)))


@pytest.mark.slow
def test_nineteen_frame_evaluation_with_the_authors_ssim_and_psnr():
  model = MSLSTM(in_shape=(10, 16, 16, 1), out_frames=10, num_hidden=(4,) * 6,
                 cell="mklstm", kernel_sizes=(3, 5), pyramid=True, patch_size=1,
                 rngs=nnx.Rngs(0))
  state = build_weights(None, model=model)  # params and model_state, no optimizer
  graphdef = state.graphdef
  frames = jax.random.uniform(jax.random.key(1), (2, 20, 16, 16, 1))
  spec = metrics.MetricSpec(names=("mse", "ssim", "psnr_msrnn"))
  step = make_eval_step(graphdef, "float32", spec, all_steps=True)
  sums = step(state.params, state.model_state,
              {"inputs": frames[:, :10], "targets": frames[:, 10:],
               "mask": jnp.ones(2)})
  preds = np.clip(np.asarray(model.rollout(
      frames, inference_weights(2, 10, 10), train=False)[0]), 0, 1)
  truth = np.asarray(frames[:, 1:])
  assert preds.shape[1] == 19
  mse = ((preds - truth) ** 2).mean(axis=(2, 3, 4))
  np.testing.assert_allclose(np.asarray(sums["psnr_msrnn"]) / 2,
                             (10 * np.log10(1 / (mse + 1e-5))).mean(0), rtol=1e-5)
  ssim = np.array([[_ssim_tf(preds[b, t, ..., 0], truth[b, t, ..., 0])
                    for t in range(19)] for b in range(2)])
  np.testing.assert_allclose(np.asarray(sums["ssim"]) / 2, ssim.mean(0), atol=1e-5)
  summary = metrics.summarize(jax.device_get(sums), spec, future_frames=10)
  sums_mse = np.asarray(sums["mse"]) / 2
  np.testing.assert_allclose(summary["mse"], sums_mse.mean(), rtol=1e-6)
  np.testing.assert_allclose(summary["mse_future"], sums_mse[9:].mean(), rtol=1e-6)
  assert len(summary["per_frame"]["ssim"]) == 19


def test_taxibj_in_flow_only(tmp_path):
  rng = np.random.default_rng(0)
  arrays = {k: rng.uniform(-1, 1, (6 if "train" in k else 2, 4, 2, 32, 32))
            for k in ("X_train", "Y_train", "X_test", "Y_test")}
  np.savez(tmp_path / "dataset.npz", **arrays)
  c = importlib.import_module(
      "experiments.configs.papers.mslstm.table7_taxibj_mslstm").get_config("smoke")
  c.data.path = str(tmp_path / "dataset.npz")
  data = build_datasets(c.data)
  assert data.frame_shape == (32, 32, 1) and data.val is data.test
  assert len(data.train) == 6
  np.testing.assert_allclose(
      data.test[1][2, 5, 7, 0], (arrays["X_test"][1, 2, 0, 5, 7] + 1) / 2, rtol=1e-6)
  c.data.channels = (2,)
  with pytest.raises(ConfigError, match="data.channels"):
    build_datasets(c.data)


def test_radar_frame_step_and_the_dwd_thresholds(tmp_path):
  seq = (np.arange(50)[None, :, None, None] + np.zeros((3, 1, 8, 8))).astype(np.uint8)
  np.savez(tmp_path / "r.npz", train=seq, test=seq[:1])
  c = importlib.import_module(
      "experiments.configs.papers.mslstm.table10_radar_mslstm").get_config()
  c.data.path, c.data.image_size, c.data.val_fraction = str(tmp_path / "r.npz"), 8, 0.34
  data = build_datasets(c.data)
  # 4 + 4 frames 6 apart span 43 of the 50 raw ones; the next window would
  # start 8 x 6 = 48 frames later: one window per sequence
  assert len(data.train) == 2 and len(data.test) == 1
  np.testing.assert_array_equal(data.test[0][:, 0, 0, 0], np.arange(0, 43, 6))
  # 0.5, 2 and 5 mm/h through Z = 256 R^1.42, pixel = (dBZ + 10) / 70
  dbz = 10 * np.log10(256 * np.array([0.5, 2.0, 5.0]) ** 1.42)
  np.testing.assert_allclose(radar.thresholds_01(c.data), (dbz + 10) / 70)
  assert data.metrics.threshold_names == ("0.5mmh", "2mmh", "5mmh")


def test_kth_clip_lists_in_both_formats(tmp_path):
  for person, action in ((1, "running"), (1, "walking"), (17, "jogging")):
    folder = tmp_path / action / f"person{person:02d}_{action}_d1_uncomp"
    folder.mkdir(parents=True)
    for n in range(1, 41):
      Image.fromarray(np.full((8, 8), n, np.uint8)).save(folder / f"image_{n:04d}.png")
  (tmp_path / "00sequences.txt").write_text(
      "KTH sequences\n\nperson01_running_d1\t\tframes\t3-20, 25-40\n"
      "person01_walking_d1\t\tframes\t1-40\nperson17_jogging_d1\tframes\t5-30\n")
  (tmp_path / "kth_txt.txt").write_text(
      "person01_running_d1 3 20\nperson01_running_d1 25 40\n"
      "person01_walking_d1 1 40\nperson17_jogging_d1 5 30\n")
  assert kth.read_clip_list(tmp_path / "00sequences.txt") == kth.read_clip_list(
      tmp_path / "kth_txt.txt") == {"person01_running_d1": [(3, 20), (25, 40)],
                                    "person01_walking_d1": [(1, 40)],
                                    "person17_jogging_d1": [(5, 30)]}
  c = importlib.import_module(
      "experiments.configs.papers.mslstm.table9_kth_mslstm").get_config()
  c.data.path, c.data.image_size, c.data.num_threads = str(tmp_path), 8, 1
  c.data.pre_seq_length = c.data.aft_seq_length = 5  # windows of 10
  c.data.clip_list = str(tmp_path / "kth_txt.txt")
  data = build_datasets(c.data)
  firsts = lambda src: [int(round(float(s[0, 0, 0, 0]) * 255)) for s in
                        (src[i] for i in range(len(src)))]
  # running 3-20 every 3: 3, 6, 9 (11 ends at 20); 25-40: 25, 28, 31;
  # walking 1-40 every 10: 1, 11, 21, 31; jogging (person 17, test) 5, 15
  assert sorted(firsts(data.train)) == sorted([3, 6, 9, 25, 28, 31, 1, 11, 21, 31])
  assert firsts(data.test) == [5, 15] and data.val is not data.train
  assert firsts(data.val) == [5, 15]  # val_persons=(): the test persons
  (tmp_path / "bad.txt").write_text("person01_running_d1 frames 3-x\n")
  with pytest.raises(DataError, match="bad.txt:1"):
    kth.read_clip_list(tmp_path / "bad.txt")
  (tmp_path / "gap.txt").write_text("person01_walking_d1 35 45\n")
  c.data.clip_list = str(tmp_path / "gap.txt")
  with pytest.raises(DataError, match="not all on disk"):
    build_datasets(c.data)


@pytest.mark.parametrize("path", PAPER_CONFIGS, ids=lambda p: p.stem)
def test_paper_configs_carry_the_protocol(path):
  c = importlib.import_module(
      f"experiments.configs.papers.mslstm.{path.stem}").get_config()
  assert dict(c.loss.terms)["mse"] == 1.0 and dict(c.loss.terms)["mae"] == 1.0
  assert c.loss.reduction == "frame_sum"
  assert c.sampling.schedule == "linear_over_run"
  assert (c.optim.name, c.optim.lr, c.optim.schedule) == ("adam", 3e-4, "constant")
  assert c.train.batch_size == 4 and c.eval.all_steps
  assert c.eval.test_checkpoint == "last"
  assert c.train.epochs == {"mmnist": 40, "taxibj": 15, "kth": 20,
                            "radar": 20}[c.data.name]
  assert c.model.num_hidden == (32,) * 6 and c.model.patch_size == 1
  assert "ssim" in c.eval.metrics and "psnr_msrnn" in c.eval.metrics


@pytest.mark.slow
def test_a_paper_protocol_run_scores_nineteen_frames(tmp_path):
  from stjax.train.loop import train_and_evaluate  # pylint: disable=import-outside-toplevel
  c = importlib.import_module(
      "experiments.configs.papers.mslstm.table3_sms").get_config("smoke")
  c.data.num_sequences, c.train.epochs, c.eval.num_pictures = 40, 1, 0
  results = train_and_evaluate(c, str(tmp_path / "run"))
  test = results["test"]
  assert len(test["per_frame"]["mse"]) == 19 and test["num_sequences"] == 12
  np.testing.assert_allclose(test["mse_future"],
                             np.mean(test["per_frame"]["mse"][9:]), rtol=1e-9)
  assert results["checkpoint_step"] == 3  # the last step: 28 train / smoke batch 8
  assert "psnr_msrnn" in test and "ssim_openstl" not in test
