"""Shared fixtures: the reference fixture sets, the `gencast` binary, and a re-statement of the
reference's `data_utils.extract_inputs_targets_forcings` for the example datasets."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import gencast_rs

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "crates" / "gencast" / "tests" / "fixtures"
DATASET = "source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"
SETS = ["tiny-mha", "tiny-triblockdiag"]


def fixture(name: str) -> Path:
    """The folder of a reference fixture set."""
    return FIXTURES / name


@pytest.fixture(scope="session")
def gencast_bin() -> str:
    """The `gencast` command: $GENCAST_BIN, else built with cargo (release, as the package)."""
    path = os.environ.get("GENCAST_BIN")
    if path:
        return path
    subprocess.run(
        ["cargo", "build", "--release", "-p", "gencast-cli", "--quiet"], cwd=ROOT, check=True
    )
    return str(ROOT / "target" / "release" / "gencast")


@pytest.fixture(scope="session", params=SETS)
def fixture_set(request) -> str:
    """Each GenCast fixture set in turn."""
    return request.param


_models = {}


def model_of(name: str) -> gencast_rs.Model:
    """The fixture set's model, loaded once."""
    if name not in _models:
        d = fixture(name)
        _models[name] = gencast_rs.load(str(d / "checkpoint.npz"), str(d))
    return _models[name]


def bits(a: np.ndarray) -> np.ndarray:
    """The bit patterns of a float32 array (NaNs compare by payload)."""
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def assert_bitwise(a: xr.Dataset, b: xr.Dataset, check_history: bool = True) -> None:
    """Same variables, dims, coords and attrs, and bitwise the same values."""
    if not check_history:
        a = a.copy()
        b = b.copy()
        a.attrs.pop("history", None)
        b.attrs.pop("history", None)
    xr.testing.assert_identical(a, b)
    for name in b.data_vars:
        assert np.array_equal(bits(a[name].values), bits(b[name].values)), name


# --- the reference's data_utils, re-stated for the example datasets (no JAX needed) ---

_SEC_PER_DAY = 86400
_AVG_DAY_PER_YEAR = 365.24219


def _add_derived_vars(ds: xr.Dataset) -> None:
    """data_utils.add_derived_vars: progress features from `datetime`."""
    secs = ds.coords["datetime"].data.astype("datetime64[s]").astype(np.int64)
    year = np.mod(secs / _SEC_PER_DAY / np.float64(_AVG_DAY_PER_YEAR), 1.0).astype(np.float32)
    day_g = np.mod(secs, _SEC_PER_DAY) / _SEC_PER_DAY
    lon_off = np.deg2rad(ds.coords["lon"].data) / (2 * np.pi)
    day = np.mod(day_g[..., np.newaxis] + lon_off, 1.0).astype(np.float32)
    bt = ("batch", "time")
    for name, dims, p in (("year_progress", bt, year), ("day_progress", bt + ("lon",), day)):
        ds[name + "_sin"] = xr.Variable(dims, np.sin(p * (2 * np.pi)))
        ds[name + "_cos"] = xr.Variable(dims, np.cos(p * (2 * np.pi)))


def extract_inputs_targets_forcings(ds: xr.Dataset, task: dict, last_lead_hours: int):
    """data_utils.extract_inputs_targets_forcings with the notebook's evaluation split
    (targets 12h .. last_lead_hours, inputs the 24h before)."""
    ds = ds.sel(level=list(task["pressure_levels"]))
    _add_derived_vars(ds)
    ds = ds.drop_vars("datetime")
    time = ds.coords["time"]
    ds = ds.assign_coords(time=time + np.timedelta64(last_lead_hours, "h") - time[-1])
    targets = ds.sel(time=slice(np.timedelta64(12, "h"), np.timedelta64(last_lead_hours, "h")))
    inputs = ds.sel(time=slice(np.timedelta64(-24, "h") + np.timedelta64(1, "ns"), np.timedelta64(0, "h")))
    inputs = inputs[list(task["input_variables"])]
    forcings = targets[list(task["forcing_variables"])]
    targets = targets[list(task["target_variables"])]
    return inputs, targets, forcings
