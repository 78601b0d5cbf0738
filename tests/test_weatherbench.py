"""WeatherBench: netCDF-4 files in the distributed layout (written with
h5netcdf, as xarray writes them), the year split, training statistics,
consecutive times across files, errors, and errors scored in kelvin."""
import h5netcdf.legacyapi as netcdf
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs.weatherbench import simvp_gsta
from stjax import metrics
from stjax.data import build_datasets

LAT = np.linspace(-78.75, 78.75, 4)
LON = np.arange(8) * 45.0
EPOCH = np.datetime64("1979-01-01T00", "h")


def _t2m(hours):
  """A known field: 250 K + the hour index's tenth + lat/lon offsets."""
  h = (hours - EPOCH.astype(np.int64))[:, None, None].astype(np.float64)
  return 250.0 + h / 10 + np.arange(4)[:, None] + np.arange(8) / 100


def _write_year(root, year, start, count, var="t2m", folder="2m_temperature"):
  """One year file holding `count` hours from `start` (a datetime64[h])."""
  d = root / folder
  d.mkdir(parents=True, exist_ok=True)
  hours = np.arange(count) + np.datetime64(start, "h").astype(np.int64)
  with netcdf.Dataset(d / f"{folder}_{year}_5.625deg.nc", "w") as f:
    f.createDimension("time", count)
    f.createDimension("lat", 4)
    f.createDimension("lon", 8)
    t = f.createVariable("time", "i8", ("time",))
    t.units = "hours since 1979-01-01"
    t[:] = hours - EPOCH.astype(np.int64)
    f.createVariable("lat", "f8", ("lat",))[:] = LAT
    f.createVariable("lon", "f8", ("lon",))[:] = LON
    f.createVariable(var, "f4", ("time", "lat", "lon"))[:] = _t2m(hours)
  return hours


def _config(root):
  c = simvp_gsta.get_config("smoke")
  c.data.path, c.data.grid = str(root), (4, 8)
  c.data.pre_seq_length = c.data.aft_seq_length = 2
  c.data.train_years, c.data.val_years, c.data.test_years = (2000, 2001), (2002, 2002), (2003, 2003)
  return c


def _write_all(root):
  # 2000 ends where 2001 begins: one consecutive training series of 30 hours
  a = _write_year(root, 2000, "2000-12-31T04", 20)
  b = _write_year(root, 2001, "2001-01-01T00", 10)
  _write_year(root, 2002, "2002-03-01T00", 8)
  test = _write_year(root, 2003, "2003-06-01T00", 9)
  _write_year(root, 1999, "1999-12-31T20", 4)  # outside every split: not read
  return np.concatenate([a, b]), test


def test_reader_splits_by_year_standardises_and_keeps_units(tmp_path):
  train_hours, test_hours = _write_all(tmp_path)
  data = build_datasets(_config(tmp_path).data)
  assert data.frame_shape == (4, 8, 1)
  assert (len(data.train), len(data.val), len(data.test)) == (27, 5, 6)
  raw = _t2m(train_hours).astype(np.float32).astype(np.float64)  # as stored
  mean, std = raw.mean(), raw.std()
  np.testing.assert_allclose(data.train[26][..., 0], (raw[26:30] - mean) / std, rtol=1e-5, atol=1e-5)
  # every split uses the training statistics; the spec maps back to kelvin
  spec = data.metrics
  assert spec.kind == "field"
  np.testing.assert_allclose(spec.scale, [std], rtol=1e-6)
  np.testing.assert_allclose(spec.offset, [mean], rtol=1e-6)
  np.testing.assert_allclose(spec.latitudes, LAT)
  kelvin = data.test[2][..., 0] * spec.scale[0] + spec.offset[0]
  np.testing.assert_allclose(kelvin, _t2m(test_hours)[2:6], rtol=1e-5)


def test_field_metrics_in_kelvin_and_latitude_weighted(tmp_path):
  _write_all(tmp_path)
  data = build_datasets(_config(tmp_path).data)
  spec = data.metrics
  target = jnp.asarray(np.stack([data.test[0][2:], data.test[1][2:]]))  # (2, 2, 4, 8, 1)
  # +1 K everywhere, and +3 K more on the two polar rows of sequence 1's frame 0
  bump = np.zeros(target.shape, np.float32)
  bump[1, 0, [0, 3]] = 3.0
  pred = target + (1.0 + jnp.asarray(bump)) / spec.scale[0]
  out = metrics.eval_metrics(pred, target, spec)
  w = np.cos(np.deg2rad(LAT)); w = w / w.mean()
  polar_sq = (np.array([16, 1, 1, 16]) * w).mean()  # 4 K on rows 0 and 3
  np.testing.assert_allclose(out["mse"][1, 0], (16 * 2 + 1 * 2) / 4, rtol=1e-4)
  # wrmse accumulates the weighted squared error; the root comes at the end
  np.testing.assert_allclose(out["wrmse"][1, 0], polar_sq, rtol=1e-4)
  sums = {k: v.sum(0) for k, v in out.items()}
  sums["count"] = 2.0
  s = metrics.summarize(sums, spec)
  # RMSE: the root of the mean over sequences and frames, not a mean of roots
  np.testing.assert_allclose(s["wrmse"], np.sqrt((polar_sq + 3) / 4), rtol=1e-4)
  np.testing.assert_allclose(s["rmse"], np.sqrt((8.5 + 3) / 4), rtol=1e-4)
  np.testing.assert_allclose(s["per_frame"]["wrmse"][1], 1.0, rtol=1e-4)
  assert "ssim" not in s  # no image metrics on a physical field


def test_reader_errors_are_clear(tmp_path):
  with pytest.raises(FileNotFoundError, match="does not exist"):
    build_datasets(_config(tmp_path / "none").data)
  tmp_path.joinpath("2m_temperature").mkdir()
  with pytest.raises(FileNotFoundError, match="No 2m_temperature_"):
    build_datasets(_config(tmp_path).data)
  _write_year(tmp_path, 2000, "2000-12-31T04", 20)
  _write_year(tmp_path, 2001, "2001-01-01T05", 10)  # 5 hours missing
  with pytest.raises(ValueError, match="not consecutive hours"):
    build_datasets(_config(tmp_path).data)
  _write_year(tmp_path, 2001, "2001-01-01T00", 10, var="temp")
  with pytest.raises(ValueError, match=r"lacks \['t2m'\]"):
    build_datasets(_config(tmp_path).data)
  (tmp_path / "2m_temperature" / "2m_temperature_2001_5.625deg.nc").write_bytes(b"junk")
  with pytest.raises(ValueError, match="not a readable netCDF-4"):
    build_datasets(_config(tmp_path).data)
  c = _config(tmp_path)
  c.data.variables = ("sst",)
  with pytest.raises(ValueError, match="'sst'"):
    build_datasets(c.data)


@pytest.mark.slow
def test_a_weatherbench_run_reports_errors_in_kelvin(tmp_path):
  from experiments.configs.weatherbench import convlstm
  from stjax.train.loop import train_and_evaluate
  _write_all(tmp_path / "wb")
  c = convlstm.get_config("smoke")
  c.data.path, c.data.grid, c.data.num_threads = str(tmp_path / "wb"), (4, 8), 1
  c.data.pre_seq_length = c.data.aft_seq_length = 2
  c.data.train_years, c.data.val_years, c.data.test_years = (2000, 2001), (2002, 2002), (2003, 2003)
  c.model.num_hidden, c.model.filter_size, c.model.patch_size = (8,), 3, 1
  c.train.batch_size = c.eval.batch_size = 4
  results = train_and_evaluate(c, str(tmp_path / "run"))
  test = results["test"]
  assert test["num_sequences"] == 6
  assert len(test["per_frame"]["wrmse"]) == 2
  # the root of the mean squared error over all frames, in kelvin
  np.testing.assert_allclose(test["rmse"], np.sqrt(np.mean(test["per_frame"]["mse"])), rtol=1e-5)
  assert test["wrmse"] > 0 and "ssim" not in test
  assert "units" in results["metrics_note"]
