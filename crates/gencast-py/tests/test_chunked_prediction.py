"""`Model.chunked_prediction` against the reference notebook's rollout
(`rollout_2step_2members.nc`: chunked_prediction_generator_multiple_runs, then
xarray.combine_by_coords)."""

import numpy as np
import pytest
import xarray as xr

import gencast_rs
from conftest import DATASET, bits, extract_inputs_targets_forcings, fixture, model_of

# The tolerance the Rust parity tests use: relative RMS (RMS of the difference over the
# reference's standard deviation) of 1e-4 bounds float32 reordering through two steps of 12
# denoiser calls each, far below any real discrepancy (which shows up at 1e-2 and above).
PARITY_REL_RMS = 1e-4


def notebook_inputs(name):
    """What the notebook hands the rollout: inputs, targets * NaN, forcings."""
    ds = xr.load_dataset(fixture(name) / DATASET)
    task = gencast_rs.inspect(fixture(name) / "checkpoint.npz")["task_config"]
    inputs, targets, forcings = extract_inputs_targets_forcings(ds, task, 24)
    return inputs, targets * np.nan, forcings


@pytest.mark.parametrize("name", ["tiny-mha", "tiny-triblockdiag"])
def test_chunked_prediction_reproduces_the_reference_rollout(name):
    inputs, template, forcings = notebook_inputs(name)
    ours = model_of(name).chunked_prediction(inputs, template, forcings, seed=0, num_samples=2, progress=False)
    ref = xr.load_dataset(fixture(name) / "rollout_2step_2members.nc")
    assert dict(ours.sizes) == dict(ref.sizes)
    assert sorted(ours.data_vars) == sorted(ref.data_vars)
    assert sorted(ours.coords) == sorted(ref.coords)
    for c in ref.coords:
        assert ours[c].dtype == ref[c].dtype, c
        assert np.array_equal(ours[c].values, ref[c].values), c
    for v in ref.data_vars:
        a, b = ours[v], ref[v]
        assert a.dims == b.dims, v
        assert a.dtype == b.dtype, v
        x, y = a.values.astype(np.float64), b.values.astype(np.float64)
        assert np.array_equal(np.isnan(x), np.isnan(y)), f"{v}: NaN pattern"
        ok = ~np.isnan(y)
        rel = np.sqrt(np.mean((x[ok] - y[ok]) ** 2) / np.var(y[ok]))
        assert rel <= PARITY_REL_RMS, f"{v}: relative RMS {rel:.2e}"


def test_the_generator_yields_member_after_member_step_after_step():
    inputs, template, forcings = notebook_inputs("tiny-mha")
    m = model_of("tiny-mha")
    chunks = list(m.chunked_prediction_generator(inputs, template, forcings, seed=0, num_samples=2))
    order = [(int(c["sample"][0]), int(c["time"][0] / np.timedelta64(1, "h"))) for c in chunks]
    assert order == [(0, 12), (0, 24), (1, 12), (1, 24)]
    whole = m.chunked_prediction(inputs, template, forcings, seed=0, num_samples=2, progress=False)
    combined = xr.combine_by_coords(chunks)
    for v in whole.data_vars:
        assert np.array_equal(bits(combined[v].values), bits(whole[v].values)), v


def test_a_datetime_coordinate_gives_the_same_rollout_as_the_recovered_time():
    inputs, template, forcings = notebook_inputs("tiny-mha")
    m = model_of("tiny-mha")
    recovered = m.chunked_prediction(inputs, template, forcings, num_samples=1, progress=False)
    dt = np.array(["2019-03-29T00:00", "2019-03-29T12:00"], dtype="datetime64[ns]")
    dated = inputs.assign_coords(datetime=(("batch", "time"), dt[None]))
    given = m.chunked_prediction(dated, template, forcings, num_samples=1, progress=False)
    for v in given.data_vars:
        assert np.array_equal(bits(recovered[v].values), bits(given[v].values)), v


def test_the_forecast_command_and_the_notebook_rollout_agree_bitwise():
    inputs, template, forcings = notebook_inputs("tiny-mha")
    m = model_of("tiny-mha")
    rollout = m.chunked_prediction(inputs, template, forcings, seed=4, num_samples=2, progress=False)
    forecast = m.forecast(str(fixture("tiny-mha") / DATASET), members=2, steps=2, seed=4, progress=False)
    for v in rollout.data_vars:
        a = rollout[v].transpose(*forecast[v].dims).values
        assert np.array_equal(bits(a), bits(forecast[v].values)), v
