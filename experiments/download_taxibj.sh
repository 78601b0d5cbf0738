#!/usr/bin/env bash
# Fetches TaxiBJ as the field distributes it (OpenSTL's release of the
# SimVP/MIM file). Run it where there is internet, then point a config at it
# (stjax itself never downloads anything):
#   --config.data.path=DIR/dataset.npz
set -euo pipefail
dir="${1:-data/taxibj}"
mkdir -p "$dir"
# dataset.npz: X_train, Y_train, X_test, Y_test, each (N, 4, 2, 32, 32) in [-1, 1].
curl -fL -o "$dir/taxibj_dataset.zip" \
  https://github.com/chengtan9907/OpenSTL/releases/download/v0.1.0/taxibj_dataset.zip
(cd "$dir" && unzip -o taxibj_dataset.zip && rm taxibj_dataset.zip)
python3 - "$dir/dataset.npz" <<'PY'
import sys, numpy as np
with np.load(sys.argv[1]) as f:
    for k in ("X_train", "Y_train", "X_test", "Y_test"):
        print(k, f[k].dtype, f[k].shape)
PY
echo "Saved to $dir/dataset.npz"
