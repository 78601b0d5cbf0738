#!/usr/bin/env bash
# Radar echo sets are not freely redistributable (HKO-7 needs a signed
# agreement with the Hong Kong Observatory; the Shanghai/Guangzhou sets of the
# MIM/TMU and MS-LSTM papers come from their authors), so there is nothing to
# fetch here. This script converts what you obtained into the layout
# stjax/data/radar.py reads:
#   experiments/download_radar.sh SRC DIR
# SRC: one folder per sequence of 8-bit grayscale PNG/JPG frames, names sorting
# in time order. Sequences whose folder name is listed in SRC/test.txt go to
# the test split, the rest to train:
#   DIR/train/<sequence>/<frame>.png   DIR/test/<sequence>/<frame>.png
# (Or write DIR.npz with `train` and `test` uint8 arrays (N, T, H, W).)
set -euo pipefail
src="${1:?usage: download_radar.sh SRC DIR}"
dir="${2:-data/radar}"
mkdir -p "$dir/train" "$dir/test"
for seq in "$src"/*/; do
  name=$(basename "$seq")
  split=train
  if [[ -f $src/test.txt ]] && grep -qx "$name" "$src/test.txt"; then split=test; fi
  ln -sfn "$(cd "$seq" && pwd)" "$dir/$split/$name"
done
echo "train: $(ls "$dir/train" | wc -l) sequences, test: $(ls "$dir/test" | wc -l)"
