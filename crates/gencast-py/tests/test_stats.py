"""Statistics given as xarray.Datasets: by name, or as a list told apart by content."""

import numpy as np
import pytest
import xarray as xr

import gencast_rs
from conftest import DATASET, assert_bitwise, fixture, model_of

D = fixture("tiny-mha")
NAMES = ("mean_by_level", "stddev_by_level", "diffs_stddev_by_level", "min_by_level")


def stats_of(folder):
    return {n: xr.load_dataset(fixture(folder) / f"{n}.nc") for n in NAMES if (fixture(folder) / f"{n}.nc").exists()}


def forecast_with(stats):
    model = gencast_rs.load(D / "checkpoint.npz", stats)
    return model.forecast(str(D / DATASET), members=1, progress=False)


@pytest.fixture(scope="module")
def by_folder():
    return model_of("tiny-mha").forecast(str(D / DATASET), members=1, progress=False)


def test_a_dict_keyed_by_name_gives_the_folders_forecast(by_folder):
    s = stats_of("tiny-mha")
    assert_bitwise(forecast_with({f"{k}.nc": v for k, v in reversed(list(s.items()))}), by_folder)


def test_a_list_in_the_notebooks_order_is_told_apart(by_folder):
    s = stats_of("tiny-mha")
    notebook = [s["diffs_stddev_by_level"], s["mean_by_level"], s["stddev_by_level"], s["min_by_level"]]
    assert_bitwise(forecast_with(notebook), by_folder)
    # Any order: the datasets are recognised, not counted.
    shuffled = [s["min_by_level"], s["stddev_by_level"], s["diffs_stddev_by_level"], s["mean_by_level"]]
    assert_bitwise(forecast_with(shuffled), by_folder)


def test_graphcast_stats_in_another_order_are_told_apart():
    s = stats_of("graphcast-tiny")
    path = next(fixture("graphcast-tiny").glob("source-era5_*.nc"))
    want = model_of("graphcast-tiny").forecast(str(path), members=1, progress=False)
    model = gencast_rs.load(fixture("graphcast-tiny") / "checkpoint.npz", [s["diffs_stddev_by_level"], s["mean_by_level"], s["stddev_by_level"]])
    assert_bitwise(model.forecast(str(path), members=1, progress=False), want)


def test_a_list_that_cannot_be_told_apart_names_the_expected_order():
    s = stats_of("tiny-mha")
    twice = [s["mean_by_level"], s["mean_by_level"], s["diffs_stddev_by_level"], s["min_by_level"]]
    with pytest.raises(gencast_rs.GencastError) as e:
        gencast_rs.load(D / "checkpoint.npz", twice)
    message = str(e.value)
    assert "could not tell the 4 datasets apart" in message, message
    assert "mean_by_level, stddev_by_level, diffs_stddev_by_level, min_by_level" in message, message
    assert len(message.splitlines()) == 1


def test_a_list_without_recognisable_content_is_read_in_the_documented_order():
    s = stats_of("tiny-mha")
    # Without the progress features and the statics nothing tells them apart.
    strip = ["day_progress_sin", "land_sea_mask", "geopotential_at_surface"]
    bare = [s[n].drop_vars(strip, errors="ignore") for n in NAMES]
    assert [gencast_rs._stats._recognise(ds, [o for o in bare if o is not ds]) for ds in bare] == [None] * 4
    assert list(gencast_rs._stats.datasets(bare)) == list(NAMES)
    assert all(a is b for a, b in zip(gencast_rs._stats.datasets(bare).values(), bare))
