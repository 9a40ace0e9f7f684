"""`gencast_rs.data_utils.extract_inputs_targets_forcings` against the reference's results
(`fixtures/data_utils_reference.nc`, made by tools/make_data_utils_reference.py)."""

import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import gencast_rs
from gencast_rs import data_utils
from conftest import fixture

REFERENCE = Path(__file__).parent / "fixtures" / "data_utils_reference.nc"
GC_DATASET = "source-era5_date-2019-03-29_res-10.0_levels-13_steps-03.nc"
GEN_DATASET = "source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"
# The reference file's datasets: every third latitude, to keep the file small.
LAT = slice(None, None, 3)

# TOA incident solar radiation is the engine's own, not the reference's JAX computation: they
# agree to 4e-6 of the largest value (the bound the engine's TISR tests hold against the
# reference's vectors; float32 evaluation of the orbit and the 1-hour integral in another order).
TISR_TOLERANCE = 4e-6


def _dataset(name):
    if name.startswith("graphcast"):
        return xr.load_dataset(fixture("graphcast-tiny") / GC_DATASET).isel(lat=LAT)
    return xr.load_dataset(fixture("tiny-mha") / GEN_DATASET).isel(lat=LAT)


def _task(name):
    """The arguments tools/make_data_utils_reference.py gave the reference for `name`."""
    folder = "graphcast-tiny" if name.startswith("graphcast") else "tiny-mha"
    tc = gencast_rs.inspect(fixture(folder) / "checkpoint.npz")["task_config"]
    task = {k: tc[k] for k in ("input_variables", "target_variables", "forcing_variables", "input_duration")}
    few = dict(
        input_variables=("2m_temperature", "toa_incident_solar_radiation", "day_progress_cos"),
        target_variables=("temperature",),
        forcing_variables=("toa_incident_solar_radiation", "year_progress_sin"),
        pressure_levels=(1000, 50),
        input_duration="18h",
    )
    return {
        "graphcast": dict(task, pressure_levels=(1000, 500), target_lead_times=slice("6h", "18h")),
        "graphcast_tisr": dict(few, target_lead_times=slice("6h", "12h")),
        "graphcast_list": dict(few, target_lead_times=["12h", "6h"]),
        "graphcast_single": dict(few, input_duration="6h", target_lead_times="12h"),
        "graphcast_open_slice": dict(few, target_lead_times=slice(None, "12h")),
        "gencast": dict(task, pressure_levels=(850,), target_lead_times=slice("12h", "24h")),
    }[name]


CASES = ["graphcast", "graphcast_tisr", "graphcast_list", "graphcast_single", "graphcast_open_slice", "gencast"]


def _assert_matches(ours: xr.Dataset, ref: xr.Dataset, what: str) -> None:
    assert list(ours.data_vars) == list(ref.data_vars), what
    assert dict(ours.sizes) == dict(ref.sizes), what
    assert sorted(ours.coords) == sorted(ref.coords), what
    for c in ref.coords:
        assert ours[c].dims == ref[c].dims, f"{what} {c}"
        assert ours[c].dtype == ref[c].dtype, f"{what} {c}"
        assert np.array_equal(ours[c].values, ref[c].values), f"{what} {c}"
    for v in ref.data_vars:
        a, b = ours[v], ref[v]
        assert a.dims == b.dims, f"{what} {v}"
        assert a.dtype == b.dtype, f"{what} {v}"
        if v == data_utils.TISR and not np.array_equal(a.values, b.values):
            # Computed (the dataset lacks it): the engine's values, see TISR_TOLERANCE.
            diff = np.max(np.abs(a.values.astype(np.float64) - b.values))
            assert diff <= TISR_TOLERANCE * np.max(np.abs(b.values)), f"{what} {v}: {diff}"
        else:
            # Selected from the dataset or computed in the reference's NumPy order: the same
            # float32 values, bit for bit.
            assert np.array_equal(a.values.view(np.uint32), b.values.view(np.uint32)), f"{what} {v}"


@pytest.mark.parametrize("name", CASES)
def test_extract_inputs_targets_forcings_matches_the_reference(name):
    ds = _dataset(name)
    if name == "graphcast_tisr":
        ds = ds.drop_vars(data_utils.TISR)
    before = ds.copy(deep=True)
    parts = data_utils.extract_inputs_targets_forcings(ds, **_task(name))
    for part, ours in zip(("inputs", "targets", "forcings"), parts):
        ref = xr.load_dataset(REFERENCE, group=f"{name}/{part}", decode_timedelta=True)
        _assert_matches(ours, ref, f"{name}/{part}")
    # The caller's dataset is left as it was.
    xr.testing.assert_identical(ds, before)


def test_the_computed_radiation_is_the_engines_and_close_to_the_references():
    ds = _dataset("graphcast").drop_vars(data_utils.TISR)
    inputs, _, forcings = data_utils.extract_inputs_targets_forcings(ds, **_task("graphcast_tisr"))
    ref = xr.load_dataset(REFERENCE, group="graphcast_tisr/forcings", decode_timedelta=True)
    ours = forcings[data_utils.TISR].values
    assert not np.array_equal(ours, ref[data_utils.TISR].values)  # computed, not read
    assert np.max(np.abs(ours - ref[data_utils.TISR].values)) <= TISR_TOLERANCE * np.max(ref[data_utils.TISR].values)


def test_overlapping_forcings_and_targets_are_refused():
    task = dict(_task("graphcast_single"), target_variables=("year_progress_sin",))
    with pytest.raises(ValueError, match="overlap"):
        data_utils.extract_inputs_targets_forcings(_dataset("graphcast"), **task)


def test_a_dataset_without_datetime_is_refused_naming_it():
    ds = _dataset("graphcast").drop_vars("datetime")
    with pytest.raises(ValueError, match="no datetime coordinate"):
        data_utils.extract_inputs_targets_forcings(ds, **_task("graphcast_single"))


def test_no_jax_or_haiku_is_imported():
    assert not {"jax", "haiku", "graphcast"} & set(sys.modules)
