#!/usr/bin/env bash
# Fetches WeatherBench's 5.625-degree files (Rasp et al. 2020) for the given
# variables (default 2m_temperature) from the TUM mediaTUM server, where the
# authors publish them. Run it where there is internet:
#   experiments/download_weatherbench.sh [DIR] [VARIABLE ...]
# then --config.data.path=DIR. Result: DIR/<variable>/<variable>_<year>_5.625deg.nc
# (netCDF-4, one file per year, 1979-2018), as stjax/data/weatherbench.py reads.
set -euo pipefail
dir="${1:-data/weatherbench}"
shift || true
variables=("${@:-2m_temperature}")
base="https://dataserv.ub.tum.de/s/m1524895/download?path=%2F5.625deg%2F"
for v in "${variables[@]}"; do
  mkdir -p "$dir/$v"
  curl -fL -o "$dir/$v.zip" "${base}${v}&files=${v}_5.625deg.zip"
  unzip -oq "$dir/$v.zip" -d "$dir/$v" && rm "$dir/$v.zip"
  echo "$v: $(ls "$dir/$v" | wc -l) files in $dir/$v"
done
