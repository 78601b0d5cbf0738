"""TFDS: the adapter from tfds.data_source records to sequences, and either
a real prepared dataset read end to end (where the `tfds` extra is
installed) or the one-line error that names the extra (where it is not, as
in CI)."""
import numpy as np
import pytest

from experiments.configs.tfds import simvp_gsta
from stjax.data import build_datasets, tfds_source


def test_adapter_takes_the_video_feature_of_each_record():
  records = [{"image_sequence": [np.full((8, 8, 1), 10 * i + t, np.uint8)
                                 for t in range(6)], "label": i} for i in range(3)]
  source = tfds_source.TFDSVideos(records, "image_sequence", 4)
  assert len(source) == 3
  np.testing.assert_array_equal(source[2][:, 0, 0, 0], [20, 21, 22, 23])
  gray = tfds_source.TFDSVideos([{"v": np.zeros((5, 8, 8), np.uint8)}], "v", 5)
  assert gray[0].shape == (5, 8, 8, 1)
  with pytest.raises(ValueError, match="no feature 'video'"):
    tfds_source.TFDSVideos(records, "video", 4)[0]
  with pytest.raises(ValueError, match="need"):
    tfds_source.TFDSVideos(records, "image_sequence", 10)[0]


def _config(path):
  c = simvp_gsta.get_config("smoke")
  c.data.path, c.data.tfds_name = str(path), "tiny_moving"
  c.data.frame_shape = (8, 8, 1)
  c.data.pre_seq_length = c.data.aft_seq_length = 2
  c.data.train_split, c.data.val_split, c.data.test_split = "test[:6]", "test[6:8]", "test[8:]"
  return c


def test_prepared_tfds_dataset_or_a_clear_error(tmp_path):
  try:
    import tensorflow  # noqa: F401  pylint: disable=unused-import
    import tensorflow_datasets as tfds
  except ImportError:
    with pytest.raises(ImportError, match=r'pip install -e "\.\[tfds\]"'):
      build_datasets(_config(tmp_path).data)
    return
  features = tfds.features.FeaturesDict(
      {"image_sequence": tfds.features.Video(shape=(5, 8, 8, 1))})
  examples = ((i, {"image_sequence": np.full((5, 8, 8, 1), 20 * i, np.uint8)})
              for i in range(10))
  tfds.dataset_builders.store_as_tfds_dataset(
      name="tiny_moving", version="1.0.0", features=features,
      split_datasets={"test": examples}, data_dir=str(tmp_path),
      file_format="array_record")
  data = build_datasets(_config(tmp_path).data)
  assert (len(data.train), len(data.val), len(data.test)) == (6, 2, 2)
  # TFDS stores records in a key-hashed order: the slices are disjoint and
  # together hold every sequence once, each read back with its own frames
  values = [int(s[i][0, 0, 0, 0]) for s in (data.train, data.val, data.test)
            for i in range(len(s))]
  assert sorted(values) == list(range(0, 200, 20))
  assert all((s[i] == s[i][0, 0, 0, 0]).all() for s in (data.train, data.test)
             for i in range(len(s)))
  assert data.test[0].shape == (4, 8, 8, 1)
