import gzip

import numpy as np
import pytest

from stjax.data import build_datasets, mnist, moving_mnist
from stjax.data.pipeline import Split, eval_batches, train_batches


def _write_idx(path, array, compress=False):
  header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
      int(d).to_bytes(4, "big") for d in array.shape)
  opener = gzip.open if compress else open
  with opener(path, "wb") as f:
    f.write(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("compress", [False, True])
def test_idx_files_read_back_exactly(tmp_path, compress):
  images = np.random.default_rng(0).integers(0, 256, (7, 28, 28), dtype=np.uint8)
  path = tmp_path / ("train-images-idx3-ubyte" + (".gz" if compress else ""))
  _write_idx(path, images, compress)
  np.testing.assert_array_equal(mnist.load_digits(str(path)), images)


def test_truncated_idx_file_is_reported(tmp_path):
  path = tmp_path / "bad-idx3-ubyte"
  images = np.zeros((3, 28, 28), np.uint8)
  _write_idx(path, images)
  path.write_bytes(path.read_bytes()[:-10])
  with pytest.raises(ValueError, match="truncated or corrupt"):
    mnist.read_idx(path)
  path.write_bytes(b"PK\x03\x04junk")
  with pytest.raises(ValueError, match="not an idx file"):
    mnist.read_idx(path)


def test_wrong_digit_shape_and_missing_file_are_reported(tmp_path):
  path = tmp_path / "digits.npz"
  np.savez(path, images=np.zeros((4, 32, 32), np.uint8))
  with pytest.raises(ValueError, match=r"uint8 \(N, 28, 28\)"):
    mnist.load_digits(str(path))
  with pytest.raises(FileNotFoundError, match="does not exist"):
    mnist.load_digits(str(tmp_path / "nope"))


def test_embedded_digits_are_real_mnist_with_all_classes():
  with np.load(mnist.EMBEDDED_DIGITS) as d:
    images, labels = d["images"], d["labels"]
  assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
  assert np.bincount(labels).tolist() == [500] * 10
  assert images.max() == 255 and (images == 0).mean() > 0.7  # ink on black


def test_generated_sequences_are_deterministic_and_bounce_inside_the_frame():
  digits = mnist.load_digits()
  src = moving_mnist.GeneratedMovingMNIST(digits, 10, 20, seed=3, num_digits=1)
  np.testing.assert_array_equal(src[4], src[4])
  assert not np.array_equal(src[4], src[5])
  ys, xs = moving_mnist.bouncing_trajectory(np.random.default_rng(0), 200, 36)
  assert ys.min() >= 0 and ys.max() <= 36 and xs.min() >= 0 and xs.max() <= 36
  steps = np.abs(np.diff(ys.astype(float)))
  assert steps.max() <= 0.1 * 36 + 1  # constant speed, no jumps
  # One digit: every frame holds exactly that digit's ink, never cropped.
  seq = src[4][..., 0]
  ink = [int(f.sum()) for f in seq]
  assert len(set(ink)) == 1 and ink[0] > 0


def test_standard_test_file_is_read_and_bad_shapes_are_reported(tmp_path):
  seqs = np.random.default_rng(0).integers(0, 256, (20, 3, 64, 64), dtype=np.uint8)
  path = tmp_path / "mnist_test_seq.npy"
  np.save(path, seqs)
  src = moving_mnist.MovingMNISTFile(path, 20)
  assert len(src) == 3
  np.testing.assert_array_equal(src[1][..., 0], seqs[:, 1])
  np.save(path, seqs.astype(np.float32))
  with pytest.raises(ValueError, match="expected uint8"):
    moving_mnist.MovingMNISTFile(path, 20)


def test_held_out_digits_cover_every_class(config):
  data = build_datasets(config.data)
  with np.load(mnist.EMBEDDED_DIGITS) as d:
    images, labels = d["images"], d["labels"]
  lookup = {img.tobytes(): lab for img, lab in zip(images, labels)}
  held = {lookup[img.tobytes()] for img in data.val.digits}
  assert held == set(range(10))
  assert len(data.train.digits) + len(data.val.digits) == 5000


def test_resumed_stream_continues_exactly_and_processes_split_each_batch():
  src = moving_mnist.GeneratedMovingMNIST(mnist.load_digits(), 64, 6, seed=0,
                                          image_size=32)
  split = Split(3, 3)
  full = list(train_batches(src, split, batch_size=4, start_step=0, num_steps=6,
                            seed=0, num_threads=1))
  tail = list(train_batches(src, split, batch_size=4, start_step=4, num_steps=6,
                            seed=0, num_threads=1))
  for a, b in zip(full[4:], tail):
    np.testing.assert_array_equal(a["inputs"], b["inputs"])
  halves = [next(train_batches(src, split, batch_size=4, start_step=2,
                               num_steps=3, seed=0, process_index=p,
                               process_count=2, num_threads=1))
            for p in range(2)]
  np.testing.assert_array_equal(
      np.concatenate([h["targets"] for h in halves]), full[2]["targets"])


def test_finite_sources_reshuffle_every_epoch():
  src = [np.full((2, 1, 1, 1), i, np.uint8) for i in range(8)]
  batches = list(train_batches(src, Split(1, 1), batch_size=8, start_step=0,
                               num_steps=2, seed=0, num_threads=1))
  epochs = [b["inputs"][:, 0, 0, 0, 0] * 255 for b in batches]
  for e in epochs:
    assert sorted(np.round(e).astype(int).tolist()) == list(range(8))
  assert not np.array_equal(epochs[0], epochs[1])


def test_eval_batches_count_every_sequence_once():
  src = [np.zeros((4, 2, 2, 1), np.uint8)] * 10
  masks = [b["mask"] for b in eval_batches(src, Split(2, 2), batch_size=4,
                                            num_threads=1)]
  assert [m.tolist() for m in masks][-1] == [1, 1, 0, 0]
  assert sum(m.sum() for m in masks) == 10


def test_nan_frames_and_short_sequences_are_rejected():
  with pytest.raises(ValueError, match="NaN"):
    Split(1, 1)(np.array([[[[np.nan]]], [[[0.0]]]]))
  with pytest.raises(ValueError, match="has 2 frames"):
    Split(2, 2)(np.zeros((2, 1, 1, 1), np.uint8))
