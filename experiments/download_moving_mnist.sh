#!/usr/bin/env bash
# Fetches the real Moving MNIST files. Run it where there is internet, then
# point a config at them (stjax itself never downloads anything):
#   --config.data.digits_path=DIR/train-images-idx3-ubyte.gz
#   --config.data.test_path=DIR/mnist_test_seq.npy
set -euo pipefail
dir="${1:-data/mmnist}"
mkdir -p "$dir"
# The standard test set of Srivastava et al. 2015: (20, 10000, 64, 64) uint8.
curl -fL -o "$dir/mnist_test_seq.npy" \
  http://www.cs.toronto.edu/~nitish/unsupervised_video/mnist_test_seq.npy
# MNIST training digits (60,000), from the mirror torchvision uses.
curl -fL -o "$dir/train-images-idx3-ubyte.gz" \
  https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz
echo "Saved to $dir"
