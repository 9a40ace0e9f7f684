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


def test_notebook_arguments_are_checked():
    from test_chunked_prediction import notebook_inputs

    inputs, template, forcings = notebook_inputs("tiny-mha")
    m = model_of("tiny-mha")
    bad_template = template.assign(extra=template["2m_temperature"])
    with pytest.raises(gencast_rs.GencastError, match="not predicted: extra"):
        m.chunked_prediction(inputs, bad_template, forcings)
    with pytest.raises(gencast_rs.GencastError, match="missing temperature"):
        m.chunked_prediction(inputs, template.drop_vars("temperature"), forcings)
    with pytest.raises(gencast_rs.GencastError, match="two frames"):
        m.chunked_prediction(inputs.isel(time=[1]), template, forcings)
    with pytest.raises(gencast_rs.GencastError, match="num_samples must be at least 1"):
        m.chunked_prediction(inputs, template, forcings, num_samples=0)
    shifted = template.assign_coords(time=template["time"] + np.timedelta64(6, "h"))
    with pytest.raises(gencast_rs.GencastError, match="targets_template: expected lead times"):
        m.chunked_prediction(inputs, shifted, forcings)


def test_forcings_that_disagree_with_the_times_are_refused():
    from test_chunked_prediction import notebook_inputs

    inputs, template, forcings = notebook_inputs("tiny-mha")
    dt = np.array(["2019-03-29T00:00", "2019-03-29T12:00"], dtype="datetime64[ns]")
    dated = inputs.assign_coords(datetime=(("batch", "time"), dt[None]))
    shifted = forcings.assign(year_progress_sin=forcings["year_progress_sin"] + 0.1)
    with pytest.raises(gencast_rs.GencastError, match="forcings: the progress features"):
        model_of("tiny-mha").chunked_prediction(dated, template, shifted)
    # Without a datetime, no time matches the altered forcings.
    with pytest.raises(gencast_rs.GencastError, match="match no initialisation time"):
        model_of("tiny-mha").chunked_prediction(inputs, template, shifted)
