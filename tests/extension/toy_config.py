"""The toy extension's run: toy_blend on toy_frames, scored with toy_peak.

  python -m experiments.main --config=tests/extension/toy_config.py:smoke \
      --workdir=/tmp/toy
"""
import ml_collections

import toy_blend  # noqa: F401  (registers the model; beside this file)
import toy_frames  # noqa: F401  (the dataset)
import toy_peak  # noqa: F401  (the metric)
from experiments.configs import base


def get_config(arg=None):
  c = base.get_base_config()
  c.data = ml_collections.ConfigDict({
      "name": "toy_frames", "pre_seq_length": 3, "aft_seq_length": 2,
      "size": 8, "num_sequences": 64, "seed": 0, "num_threads": 1})
  c = base.model(c, "toy_blend")
  c.optim.lr, c.optim.schedule = 0.05, "constant"
  c.train.epochs = 3
  return base.variant(c, arg)
