#!/usr/bin/env bash
# Fetches the KTH action videos from their authors' site and extracts the
# frames into the layout stjax/data/kth.py reads (the one PredRNN and OpenSTL
# use). Run it where there is internet; needs curl, unzip and ffmpeg:
#   experiments/download_kth.sh [DIR]      then --config.data.path=DIR
# Result: DIR/<action>/person<PP>_<action>_d<K>_uncomp/image_<NNNN>.png,
# the AVIs' 160 x 120 grayscale frames (resized to 128 x 128 when read).
set -euo pipefail
dir="${1:-data/kth}"
mkdir -p "$dir/raw"
for action in boxing handclapping handwaving jogging running walking; do
  curl -fL -o "$dir/raw/$action.zip" "https://www.csc.kth.se/cvap/actions/$action.zip"
  unzip -oq "$dir/raw/$action.zip" -d "$dir/raw/$action"
  for avi in "$dir/raw/$action"/*.avi; do
    name=$(basename "$avi" .avi)
    out="$dir/$action/$name"
    mkdir -p "$out"
    ffmpeg -loglevel error -y -i "$avi" -start_number 1 "$out/image_%04d.png"
  done
done
rm -rf "$dir/raw"
# The clips where the person is in the picture (KTH's own annotation), read
# by data.clip_list in the MS-LSTM protocol (experiments/configs/papers/mslstm).
curl -fL -o "$dir/00sequences.txt" "https://www.csc.kth.se/cvap/actions/00sequences.txt"
echo "KTH frames in $dir: $(find "$dir" -name 'image_*.png' | wc -l) files"
