"""Shared fixtures: the reference fixture sets, the `gencast` binary, and the notebook's split
of the example datasets."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import gencast_rs
from gencast_rs import data_utils

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


def extract_inputs_targets_forcings(ds: xr.Dataset, task: dict, last_lead_hours: int):
    """gencast_rs.data_utils.extract_inputs_targets_forcings (tested against the reference's
    in test_data_utils.py) with the notebook's evaluation split (targets 12h ..
    last_lead_hours, inputs the task's input duration before)."""
    keys = ("input_variables", "target_variables", "forcing_variables", "pressure_levels", "input_duration")
    return data_utils.extract_inputs_targets_forcings(
        ds, target_lead_times=slice("12h", f"{last_lead_hours}h"), **{k: task[k] for k in keys}
    )
