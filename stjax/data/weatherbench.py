"""WeatherBench (Rasp et al. 2020) fields in the netCDF files it distributes.

Layout (the 5.625-degree release, one directory per variable, one file per
year; experiments/download_weatherbench.sh fetches it):

    ROOT/2m_temperature/2m_temperature_1979_5.625deg.nc ...

Each file is netCDF-4 (HDF5) with the variable (`t2m` here) over (time, lat,
lon) = (hours, 32, 64) and the coordinates `time` ("hours since ..."), `lat`
and `lon`. They are read with h5py: no xarray or netCDF library is needed.

Frames are (lat, lon, variables), hourly by default (`time_step`), split by
year: 1979-2015 train, 2016 validation, 2017-2018 test. Each variable is
standardised with the mean and standard deviation of the training years (as
OpenSTL), and every split uses those training statistics; the evaluation maps
predictions back and reports errors in the variable's units (see
metrics.MetricSpec), with WeatherBench's latitude-weighted RMSE and MAE.
"""
from __future__ import annotations

import pathlib

import numpy as np

from stjax import metrics
from stjax.data.dataset import file_dataset
from stjax.errors import ConfigError
from stjax.registry import DATASETS

# short name -> WeatherBench directory (and file prefix)
VARIABLES = {"t2m": "2m_temperature", "z": "geopotential_500",
             "t": "temperature_850", "tp": "total_precipitation",
             "u10": "10m_u_component_of_wind", "v10": "10m_v_component_of_wind",
             "tcc": "total_cloud_cover", "r": "relative_humidity"}


def _hours(time_ds) -> np.ndarray:
  """The `time` variable as int64 hours since 1970, from its CF units."""
  units = time_ds.attrs.get("units", b"")
  units = units.decode() if isinstance(units, bytes) else str(units)
  unit, _, since = units.partition(" since ")
  if unit not in ("hours", "days", "minutes", "seconds") or not since:
    raise ValueError(f"time units {units!r}; expected e.g. 'hours since 1979-01-01'.")
  origin = np.datetime64(since.strip().replace(" ", "T")[:19], "h")
  per_hour = {"hours": 1, "days": 1 / 24, "minutes": 60, "seconds": 3600}[unit]
  offsets = np.round(np.asarray(time_ds[...], np.float64) / per_hour).astype(np.int64)
  return origin.astype(np.int64) + offsets


def read_file(path: pathlib.Path, variable: str):
  """(hours (N,), field (N, lat, lon) float32, lat (lat,)) from one file."""
  import h5py  # pylint: disable=import-outside-toplevel
  try:
    f = h5py.File(path, "r")
  except OSError as e:
    raise ValueError(f"{path} is not a readable netCDF-4 file ({str(e)[:100]}); "
                     f"download it again.") from e
  with f:
    missing = [k for k in (variable, "time", "lat", "lon") if k not in f]
    if missing:
      raise ValueError(f"{path} lacks {missing}; WeatherBench files hold the "
                       f"variable {variable!r} and time, lat, lon.")
    field = np.asarray(f[variable][...], np.float32)
    hours, lat = _hours(f["time"]), np.asarray(f["lat"][...], np.float64)
  field = field.reshape((field.shape[0],) + tuple(d for d in field.shape[1:] if d != 1))
  if field.ndim != 3 or field.shape[1:] != (len(lat), field.shape[2]):
    raise ValueError(f"{path}: {variable} has shape {field.shape}; expected "
                     f"(time, lat, lon).")
  return hours, field, lat


def read_variable(root: pathlib.Path, short: str, years: tuple[int, int]):
  """Hourly (hours, field, lat) of one variable over years[0]..years[1]."""
  if short not in VARIABLES:
    raise ValueError(f"data.variables has {short!r}; known: {sorted(VARIABLES)}.")
  folder = root / VARIABLES[short]
  files = sorted(folder.glob(f"{VARIABLES[short]}_*.nc"))
  if not files:
    raise FileNotFoundError(f"No {VARIABLES[short]}_*.nc files in {folder}; see "
                            f"docs/datasets.md, WeatherBench.")
  parts = []
  for path in files:
    year = [int(s) for s in path.stem.split("_") if s.isdigit() and len(s) == 4]
    if year and not years[0] <= year[0] <= years[1]:
      continue  # the file name says which year it holds: skip reading it
    hours, field, lat = read_file(path, short)
    y = hours.astype("datetime64[h]").astype("datetime64[Y]").astype(int) + 1970
    keep = (y >= years[0]) & (y <= years[1])
    parts.append((hours[keep], field[keep], lat))
  parts = [p for p in parts if len(p[0])]
  if not parts:
    raise ValueError(f"{folder} holds no {short} data in {years[0]}-{years[1]}.")
  hours = np.concatenate([p[0] for p in parts])
  order = np.argsort(hours, kind="stable")
  field = np.concatenate([p[1] for p in parts])[order]
  hours = hours[order]
  if len(hours) > 1 and np.any(np.diff(hours) != 1):
    gap = int(np.argmax(np.diff(hours) != 1))
    raise ValueError(f"{folder}: the {short} times are not consecutive hours "
                     f"(after {hours[gap].astype('datetime64[h]')}); a year "
                     f"file is missing or duplicated.")
  return hours, field, parts[0][2]


class FieldWindows:
  """Random-access (T, lat, lon, V) float32 standardised windows."""

  def __init__(self, field: np.ndarray, length: int, step: int, stride: int):
    self.field, self.length, self.step = field, length, step
    span = (length - 1) * step
    self.starts = np.arange(0, max(len(field) - span, 0), stride)

  def __len__(self) -> int:
    return len(self.starts)

  def __getitem__(self, index: int) -> np.ndarray:
    s = int(self.starts[int(index)])
    return self.field[s:s + self.length * self.step:self.step]


def load(cfg, test_frames: int):
  """(train, val, test) sources and the MetricSpec mapping back to units."""
  if not len(cfg.variables):
    raise ConfigError("data.variables is empty; give e.g. ('t2m',).")
  root = pathlib.Path(cfg.path)
  if not root.is_dir():
    raise FileNotFoundError(f"data.path={root} does not exist; it should hold "
                            f"WeatherBench's per-variable directories (docs/datasets.md).")
  splits = {}
  for name in ("train", "val", "test"):
    years = tuple(getattr(cfg, f"{name}_years"))
    fields, lat = [], None
    for short in cfg.variables:
      hours, field, lat = read_variable(root, short, years)
      fields.append(field)
    if len({len(f) for f in fields}) != 1:
      raise ValueError(f"data.variables {tuple(cfg.variables)} cover different "
                       f"times in {years}.")
    splits[name] = np.stack(fields, axis=-1)
  train = splits["train"]
  mean = train.mean(axis=(0, 1, 2), dtype=np.float64)
  std = train.std(axis=(0, 1, 2), dtype=np.float64)
  if np.any(std == 0) or not np.all(np.isfinite(std)):
    raise ValueError(f"A variable of {tuple(cfg.variables)} is constant or not "
                     f"finite over the training years; check the files.")
  norm = lambda x: ((x - mean) / std).astype(np.float32)
  length = cfg.pre_seq_length + cfg.aft_seq_length
  step, stride = cfg.time_step, cfg.window_stride
  sources = (FieldWindows(norm(splits["train"]), length, step, stride),
             FieldWindows(norm(splits["val"]), length, step, stride),
             FieldWindows(norm(splits["test"]), test_frames, step, stride))
  for name, s in zip(("training", "validation", "test"), sources):
    if not len(s):
      raise ValueError(f"The {name} years hold too few times for one window of "
                       f"{s.length} frames {step} h apart.")
  spec = metrics.MetricSpec(kind="field", scale=tuple(std.tolist()),
                            offset=tuple(mean.tolist()),
                            latitudes=tuple(np.asarray(lat).tolist()))
  return sources, spec


DATASETS.register("weatherbench", file_dataset(
    lambda cfg: (*cfg.grid, len(cfg.variables)), load, "WeatherBench test years"))
