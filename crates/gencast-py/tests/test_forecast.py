"""`Model.forecast` against the `gencast forecast` command: the same Dataset, bitwise."""

import subprocess

import numpy as np
import pytest
import xarray as xr

import gencast_rs
from conftest import DATASET, assert_bitwise, bits, fixture, model_of


def cli_forecast(gencast_bin, name, tmp_path, *args):
    """Runs `gencast forecast` on a fixture set and reads its output with xarray."""
    d = fixture(name)
    out = tmp_path / f"{name}.nc"
    subprocess.run(
        [
            gencast_bin, "forecast",
            "--checkpoint", str(d / "checkpoint.npz"),
            "--dataset", str(d / DATASET),
            "--stats", str(d),
            "--output", str(out),
            *args,
        ],
        check=True,
        capture_output=True,
    )
    return xr.load_dataset(out)


def test_forecast_equals_the_cli_output_bitwise(gencast_bin, fixture_set, tmp_path):
    cli = cli_forecast(gencast_bin, fixture_set, tmp_path, "--members", "2", "--steps", "2", "--seed", "3")
    d = fixture(fixture_set)
    ours = model_of(fixture_set).forecast(str(d / DATASET), members=2, steps=2, seed=3, progress=False)
    assert_bitwise(ours, cli)


def test_member_offset_lead_time_and_init_time_match_the_cli(gencast_bin, tmp_path):
    cli = cli_forecast(
        gencast_bin, "tiny-mha", tmp_path,
        "--members", "1", "--member-offset", "5", "--lead-time", "12h",
        "--init-time", "2019-03-29T12:00",
    )
    d = fixture("tiny-mha")
    ours = model_of("tiny-mha").forecast(
        str(d / DATASET), members=1, member_offset=5, lead_time="12h",
        init_time=np.datetime64("2019-03-29T12:00"), progress=False,
    )
    assert_bitwise(ours, cli)


def test_a_member_alone_equals_the_same_member_in_a_batch():
    d = fixture("tiny-mha")
    m = model_of("tiny-mha")
    batch = m.forecast(str(d / DATASET), members=3, steps=2, progress=False)
    alone = m.forecast(str(d / DATASET), members=1, member_offset=2, steps=2, progress=False)
    assert alone.sizes["sample"] == 1 and int(alone["sample"][0]) == 2
    for name in batch.data_vars:
        if "sample" not in batch[name].dims:
            # A static field copied from the input: the same in every forecast.
            assert np.array_equal(bits(alone[name].values), bits(batch[name].values)), name
            continue
        assert np.array_equal(bits(alone[name].values[0]), bits(batch[name].values[2])), name
    # Different members are different draws.
    assert not np.array_equal(batch["2m_temperature"].values[0], batch["2m_temperature"].values[1])


def test_in_memory_inputs_and_thread_counts_give_the_same_values():
    d = fixture("tiny-mha")
    by_path = model_of("tiny-mha").forecast(str(d / DATASET), members=1, progress=False)
    stats = [xr.load_dataset(d / f"{n}.nc") for n in gencast_rs._reference.STATS_NAMES]
    model = gencast_rs.load(d / "checkpoint.npz", stats)
    in_memory = model.forecast(xr.load_dataset(d / DATASET), members=1, threads=1, progress=False)
    assert_bitwise(in_memory, by_path, check_history=False)


def test_progress_goes_to_tqdm_unless_silenced(capfd):
    pytest.importorskip("tqdm")
    d = fixture("tiny-mha")
    m = model_of("tiny-mha")
    m.forecast(str(d / DATASET), members=1, progress=True)
    err = capfd.readouterr().err
    assert "member 0 step 1/1" in err, err
    m.forecast(str(d / DATASET), members=1, progress=False)
    assert capfd.readouterr().err == ""


def test_graphcast_forecast_equals_the_cli_output_bitwise(gencast_bin, tmp_path):
    d = fixture("graphcast-tiny")
    dataset = d / "source-era5_date-2019-03-29_res-10.0_levels-13_steps-03.nc"
    out = tmp_path / "gc.nc"
    subprocess.run(
        [gencast_bin, "forecast", "--checkpoint", str(d / "checkpoint.npz"), "--dataset",
         str(dataset), "--stats", str(d), "--lead-time", "18h", "--output", str(out)],
        check=True, capture_output=True,
    )
    model = gencast_rs.load(str(d / "checkpoint.npz"), str(d))
    assert model.kind == "graphcast"
    ours = model.forecast(str(dataset), members=1, lead_time="18h", progress=False)
    assert ours.sizes["time"] == 3  # 6 h steps
    assert_bitwise(ours, xr.load_dataset(out))


def test_a_graphcast_forecast_from_an_xarray_dataset_equals_the_one_from_its_file():
    d = fixture("graphcast-tiny")
    path = d / "source-era5_date-2019-03-29_res-10.0_levels-13_steps-03.nc"
    m = model_of("graphcast-tiny")
    by_path = m.forecast(str(path), members=1, steps=3, progress=False)
    in_memory = m.forecast(xr.load_dataset(path), members=1, steps=3, progress=False)
    assert_bitwise(in_memory, by_path, check_history=False)
