"""Bad arguments raise GencastError (a ValueError) naming the culprit, before computing."""

import numpy as np
import pytest
import xarray as xr

import gencast_rs
from conftest import DATASET, fixture, model_of

D = fixture("tiny-mha")


def forecast(**kw):
    args = dict(members=1, progress=False)
    args.update(kw)
    dataset = args.pop("dataset", str(D / DATASET))
    return model_of("tiny-mha").forecast(dataset, **args)


def test_the_error_class_is_a_value_error():
    assert issubclass(gencast_rs.GencastError, ValueError)


def test_load_names_a_missing_checkpoint_or_stats_file(tmp_path):
    with pytest.raises(gencast_rs.GencastError, match="no_such.npz"):
        gencast_rs.load(tmp_path / "no_such.npz", D)
    with pytest.raises(gencast_rs.GencastError, match="min_by_level.nc"):
        gencast_rs.load(D / "checkpoint.npz", tmp_path)
    with pytest.raises(gencast_rs.GencastError, match="missing stddev_by_level, diffs_stddev_by_level"):
        gencast_rs.load(D / "checkpoint.npz", {"mean_by_level": xr.Dataset()})
    with pytest.raises(gencast_rs.GencastError, match="expected 4 datasets"):
        gencast_rs.load(D / "checkpoint.npz", [xr.Dataset()])
    three = [xr.load_dataset(D / f"{n}.nc") for n in ("mean_by_level", "stddev_by_level", "diffs_stddev_by_level")]
    with pytest.raises(gencast_rs.GencastError, match="min_by_level"):
        gencast_rs.load(D / "checkpoint.npz", three)


@pytest.mark.parametrize(
    "kw, culprit",
    [
        (dict(members=0), "members must be at least 1"),
        (dict(members=-2), "members must be at least 1"),
        (dict(members=1.5), "members must be a whole number"),
        (dict(members=True), "members must be a whole number"),
        (dict(member_offset=-1), "member_offset must be at least 0"),
        (dict(steps=0), "steps must be at least 1"),
        (dict(steps=1, lead_time="12h"), "steps or lead_time"),
        (dict(lead_time="13h"), "lead_time .13h. must be a positive multiple of 12h"),
        (dict(lead_time="soon"), "lead_time 'soon'"),
        (dict(threads=0), "threads must be at least 1"),
        (dict(init_time="2020-01-01T00:00"), "init.time 2020-01-01T00:00 is not a time of"),
        (dict(init_time="2019-03-29T00:00"), "init.time 2019-03-29T00:00: the model reads 2 input frames"),
        (dict(init_time="yesterday"), "init.time `yesterday`"),
        (dict(sampler={"no_such_setting": 3}), "no_such_setting"),
        (dict(sampler={"num_noise_levels": 0}), "sampler `num_noise_levels=0`: `0` is not a positive integer"),
        (dict(sampler="rho"), "sampler `rho` is not key=value"),
        (dict(dataset="/no/such/file.nc"), "/no/such/file.nc"),
        (dict(dataset=42), "expected a NetCDF path or an xarray.Dataset"),
    ],
)
def test_bad_forecast_arguments_name_the_culprit(kw, culprit):
    with pytest.raises(gencast_rs.GencastError, match=culprit.replace("(", r"\(")):
        forecast(**kw)


def test_a_dataset_without_a_needed_variable_is_refused_naming_it():
    ds = xr.load_dataset(D / DATASET).drop_vars("2m_temperature")
    with pytest.raises(gencast_rs.GencastError, match="2m_temperature"):
        forecast(dataset=ds)


def test_errors_on_an_xarray_dataset_name_the_dataset_argument_not_a_file():
    ds = xr.load_dataset(D / DATASET).drop_vars("2m_temperature")
    with pytest.raises(gencast_rs.GencastError) as e:
        forecast(dataset=ds)
    assert "the xarray.Dataset `dataset`" in str(e.value) and "2m_temperature" in str(e.value)
    assert "/tmp" not in str(e.value) and ".nc" not in str(e.value), str(e.value)
    ds = xr.load_dataset(D / DATASET)
    ds["temperature"] = ds["temperature"].astype("datetime64[ns]")
    with pytest.raises(gencast_rs.GencastError, match="the xarray.Dataset `dataset`: variable `temperature`: expected numbers"):
        forecast(dataset=ds)
    bad = xr.load_dataset(D / DATASET).assign_coords(lat=np.arange(19, dtype=np.float32))
    with pytest.raises(gencast_rs.GencastError, match="the xarray.Dataset `dataset`: variable `lat`"):
        forecast(dataset=bad)


def test_the_notebook_rollout_names_the_inputs_dataset():
    from test_chunked_prediction import notebook_inputs

    inputs, template, forcings = notebook_inputs("tiny-mha")
    with pytest.raises(gencast_rs.GencastError) as e:
        model_of("tiny-mha").chunked_prediction(inputs.drop_vars("land_sea_mask"), template, forcings)
    message = str(e.value)
    assert "the xarray.Dataset `inputs`" in message and "land_sea_mask" in message, message
    assert "/tmp" not in message and ".nc" not in message, message


@pytest.mark.parametrize(
    "name, kw, python, flag",
    [
        ("tiny-mha", dict(init_time="yesterday"), "init_time `yesterday`", "--init-time"),
        ("graphcast-tiny", dict(members=2), "members 2: a GraphCast checkpoint", "--members"),
        ("graphcast-tiny", dict(member_offset=1), "member_offset 1: a GraphCast", "--member-offset"),
        ("graphcast-tiny", dict(sampler={"rho": 7}), "sampler rho=7: a GraphCast", "--sampler"),
    ],
)
def test_library_errors_name_the_python_arguments(name, kw, python, flag):
    d = fixture(name)
    dataset = next(d.glob("source-era5_*.nc"))
    with pytest.raises(gencast_rs.GencastError) as e:
        model_of(name).forecast(str(dataset), **dict(dict(members=1, progress=False), **kw))
    assert python in str(e.value) and flag not in str(e.value), str(e.value)


def test_library_warnings_name_the_python_arguments():
    dataset = next(fixture("graphcast-tiny").glob("source-era5_*.nc"))
    with pytest.warns(UserWarning, match="^seed 3 is ignored: GraphCast draws no random numbers"):
        model_of("graphcast-tiny").forecast(str(dataset), members=1, seed=3, progress=False)


def test_forecast_to_names_overwrite_as_the_python_argument(tmp_path):
    out = tmp_path / "f.nc"
    out.write_bytes(b"mine")
    with pytest.raises(gencast_rs.GencastError) as e:
        model_of("tiny-mha").forecast_to(out, str(D / DATASET), members=1)
    assert "overwrite=True" in str(e.value) and "--" not in str(e.value), str(e.value)
    assert out.read_bytes() == b"mine"
