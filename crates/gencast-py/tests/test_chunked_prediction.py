"""`Model.chunked_prediction` against the reference notebooks' rollouts: GenCast's
(`rollout_2step_2members.nc`: chunked_prediction_generator_multiple_runs, then
xarray.combine_by_coords) and GraphCast's (`graphcast-tiny/rollout_3step_f32.nc`:
rollout.chunked_prediction)."""

import numpy as np
import pytest
import xarray as xr

import gencast_rs
import dataclasses

from gencast_rs import data_utils
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


def test_member_offset_gives_the_members_of_a_larger_ensemble():
    inputs, template, forcings = notebook_inputs("tiny-mha")
    m = model_of("tiny-mha")
    both = m.chunked_prediction(inputs, template, forcings, seed=5, num_samples=2, progress=False)
    second = m.chunked_prediction(inputs, template, forcings, seed=5, num_samples=1, member_offset=1, progress=False)
    assert second["sample"].values.tolist() == [1]
    for v in both.data_vars:
        assert np.array_equal(bits(both[v].sel(sample=[1]).values), bits(second[v].values)), v
    # The same member as `forecast` computes with that offset.
    forecast = m.forecast(str(fixture("tiny-mha") / DATASET), members=1, member_offset=1, steps=2, seed=5, progress=False)
    for v in second.data_vars:
        a = second[v].transpose(*forecast[v].dims).values
        assert np.array_equal(bits(a), bits(forecast[v].values)), v


GC_DATASET = "source-era5_date-2019-03-29_res-10.0_levels-13_steps-03.nc"


def graphcast_notebook_inputs():
    """The GraphCast notebook's cells: the task config from the model, the example batch split
    with `data_utils.extract_inputs_targets_forcings` (here gencast_rs's), targets * NaN."""
    m = model_of("graphcast-tiny")
    batch = xr.load_dataset(fixture("graphcast-tiny") / GC_DATASET)
    inputs, targets, forcings = data_utils.extract_inputs_targets_forcings(
        batch, target_lead_times=slice("6h", "18h"), **dataclasses.asdict(m.task_config)
    )
    return m, inputs, targets * np.nan, forcings


def test_graphcast_chunked_prediction_reproduces_the_reference_rollout():
    m, inputs, template, forcings = graphcast_notebook_inputs()
    ours = m.chunked_prediction(inputs, template, forcings, progress=False)
    ref = xr.load_dataset(fixture("graphcast-tiny") / "rollout_3step_f32.nc")
    assert dict(ours.sizes) == dict(ref.sizes)
    assert list(ours.data_vars) == list(template.data_vars)
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
        # The same relative RMS bound as the GenCast rollout (PARITY_REL_RMS): float32
        # reordering through three 6 h steps stays near 1e-7; a real discrepancy is 1e-2 or more.
        rel = np.sqrt(np.mean((x - y) ** 2) / np.var(y))
        assert rel <= PARITY_REL_RMS, f"{v}: relative RMS {rel:.2e}"


def test_graphcast_chunks_come_step_after_step_and_concatenate_to_the_rollout():
    m, inputs, template, forcings = graphcast_notebook_inputs()
    chunks = list(m.chunked_prediction_generator(inputs, template, forcings))
    assert [int(c["time"][0] / np.timedelta64(1, "h")) for c in chunks] == [6, 12, 18]
    assert all("sample" not in c.dims for c in chunks)
    whole = m.chunked_prediction(inputs, template, forcings, progress=False)
    combined = xr.concat(chunks, dim="time")
    for v in whole.data_vars:
        assert np.array_equal(bits(combined[v].values), bits(whole[v].values)), v


def test_graphcast_uses_the_given_radiation_forcing():
    m, inputs, template, forcings = graphcast_notebook_inputs()
    base = m.chunked_prediction(inputs, template, forcings, progress=False)
    brighter = forcings.assign(toa_incident_solar_radiation=forcings["toa_incident_solar_radiation"] * 1.5)
    changed = m.chunked_prediction(inputs, template, brighter, progress=False)
    assert not np.array_equal(base["2m_temperature"].values, changed["2m_temperature"].values)


def test_graphcast_refuses_several_samples():
    m, inputs, template, forcings = graphcast_notebook_inputs()
    with pytest.raises(gencast_rs.GencastError, match="deterministic"):
        m.chunked_prediction(inputs, template, forcings, num_samples=2)


def test_graphcast_forcings_at_other_times_are_refused():
    m, inputs, template, forcings = graphcast_notebook_inputs()
    with pytest.raises(gencast_rs.GencastError, match="forcings: expected the lead times of targets_template"):
        m.chunked_prediction(inputs, template, forcings.isel(time=[0, 1]))
