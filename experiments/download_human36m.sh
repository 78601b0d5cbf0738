#!/usr/bin/env bash
# Human3.6M needs a licence: register at http://vision.imar.ro/human3.6m/ and
# download the "Videos" archives of subjects S1, S5, S6, S7, S8, S9 and S11
# by hand into DIR/raw (e.g. Videos_S1.tgz). This script then extracts every
# frame of the Walking videos as the JPEGs stjax/data/human36m.py reads
# (needs ffmpeg):
#   experiments/download_human36m.sh [DIR]     then --config.data.path=DIR
# Result: DIR/images/<S>_<Action>.<camera>_<NNNNNN>.jpg, 1000 x 1000, resized
# to 128 x 128 when read (a second argument, e.g. 256, stores them smaller).
set -euo pipefail
dir="${1:-data/human36m}"
size="${2:-}"   # e.g. 256: store frames at 256 x 256 instead of full size
mkdir -p "$dir/images"
for archive in "$dir"/raw/Videos_S*.tgz; do
  tar -xzf "$archive" -C "$dir/raw"
done
find "$dir/raw" -name 'Walking*.mp4' | while read -r video; do
  subject=$(basename "$(dirname "$(dirname "$video")")")   # .../S1/Videos/x.mp4
  name=$(basename "$video" .mp4)
  scale=${size:+-vf scale=$size:$size}
  ffmpeg -loglevel error -y -i "$video" $scale -qscale:v 2 -start_number 1 \
    "$dir/images/${subject}_${name}_%06d.jpg"
done
echo "Human3.6M frames in $dir/images: $(ls "$dir/images" | wc -l) files"
