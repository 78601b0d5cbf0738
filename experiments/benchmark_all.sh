#!/usr/bin/env bash
# Benchmarks every (dataset, model) config at one batch size, one process per
# config, skipping those already measured in OUT_DIR (so it can be resumed):
#   experiments/benchmark_all.sh OUT_DIR [BATCH] [DATASET ...]
# Each config's table row goes to OUT_DIR/<dataset>_<model>.json; FLOPs are
# not counted here (see experiments.benchmark --count_flops).
set -uo pipefail
out=${1:?usage: benchmark_all.sh OUT_DIR [BATCH] [DATASET ...]}
batch=${2:-16}
shift $(( $# >= 2 ? 2 : $# ))
datasets=${*:-taxibj kth human36m weatherbench radar kitti_caltech}
mkdir -p "$out"
for d in $datasets; do
  for config in experiments/configs/"$d"/*.py; do
    m=$(basename "$config" .py)
    [[ $m == __init__ ]] && continue
    [[ -s $out/${d}_$m.json ]] && continue
    echo "== $d/$m"
    python -m experiments.benchmark --config="$config" --batch_sizes="$batch" \
      --steps=10 --nocount_flops --json="$out/${d}_$m.json" 2>&1 | tail -3
  done
done
