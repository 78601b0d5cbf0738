"""SimVP-gSTA on TFDS moving_mnist (a prepared TFDS data_dir, the `tfds`
extra), Moving MNIST's hyper-parameters; benchmarks.tfds_data says which
dataset, feature and splits. `:smoke` shrinks it."""
from experiments.configs import benchmarks


def get_config(arg: str | None = None):
  return benchmarks.get("tfds", "simvp_gsta", arg)
