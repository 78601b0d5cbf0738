#!/usr/bin/env bash
# KITTI -> Caltech Pedestrian in PredNet's hickle layout. Run it where there
# is internet; needs curl, unzip, Python with numpy, hickle, opencv-python and
# scikit-image:
#   experiments/download_kitti_caltech.sh [DIR]    then --config.data.path=DIR
# 1. KITTI: PredNet's preprocessed hickle files (X_train/val/test.hkl and
#    sources_*.hkl, 128 x 160 RGB frames) from the figshare record PredNet's
#    authors and OpenSTL point to -> DIR/kitti_hkl/.
# 2. Caltech: the USA set's .seq videos, every 3rd frame resized to height 128
#    and centre-cropped to 160 as PredNet did -> DIR/caltech_hkl/X_test.hkl
#    and sources_test.hkl (sets 06-10, the usual test sets).
set -euo pipefail
dir="${1:-data/kitti_caltech}"
mkdir -p "$dir/kitti_hkl" "$dir/caltech_raw" "$dir/caltech_hkl"
curl -fL -o "$dir/kitti_hkl.zip" https://figshare.com/ndownloader/articles/7985684/versions/1
unzip -oq "$dir/kitti_hkl.zip" -d "$dir/kitti_hkl" && rm "$dir/kitti_hkl.zip"
for s in 06 07 08 09 10; do
  curl -fL -o "$dir/caltech_raw/set$s.tar" \
    "https://data.caltech.edu/records/f6rph-90m20/files/set$s.tar"
  tar -xf "$dir/caltech_raw/set$s.tar" -C "$dir/caltech_raw"
done
python3 - "$dir/caltech_raw" "$dir/caltech_hkl" <<'PY'
import pathlib, sys
import cv2, hickle, numpy as np
from skimage.transform import resize
raw, out = map(pathlib.Path, sys.argv[1:])
frames, sources = [], []
for seq in sorted(raw.glob("set*/*.seq")):
    cap = cv2.VideoCapture(str(seq))
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        n += 1
        if n % 3:
            continue
        rgb = frame[..., ::-1]
        width = int(round(128 / rgb.shape[0] * rgb.shape[1]))
        im = resize(rgb, (128, width), preserve_range=True)
        left = (width - 160) // 2
        frames.append(np.round(im[:, left:left + 160]).astype(np.uint8))
        sources.append(f"{seq.parent.name}-{seq.stem}")
hickle.dump(np.stack(frames), str(out / "X_test.hkl"))
hickle.dump(sources, str(out / "sources_test.hkl"))
print(f"Caltech test: {len(frames)} frames from {len(set(sources))} videos")
PY
rm -rf "$dir/caltech_raw"
