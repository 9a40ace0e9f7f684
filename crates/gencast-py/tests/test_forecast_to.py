"""`Model.forecast_to` writes what `gencast forecast --output` writes, byte for byte, and keeps
the command's output safety (an existing output is replaced only with `overwrite=True`)."""

import subprocess

import pytest

import gencast_rs
from conftest import DATASET, fixture, model_of

SET = "tiny-mha"


def test_forecast_to_netcdf_equals_the_cli_file_byte_for_byte(gencast_bin, tmp_path):
    d = fixture(SET)
    cli, ours = tmp_path / "cli.nc", tmp_path / "ours.nc"
    subprocess.run(
        [
            gencast_bin, "forecast",
            "--checkpoint", str(d / "checkpoint.npz"),
            "--dataset", str(d / DATASET),
            "--stats", str(d),
            "--members", "2", "--member-offset", "3", "--steps", "2", "--seed", "9",
            "--output", str(cli),
        ],
        check=True,
        capture_output=True,
    )
    out = model_of(SET).forecast_to(
        ours, d / DATASET, members=2, member_offset=3, steps=2, seed=9
    )
    assert out["members"] == [3, 4] and out["steps_computed"] == 4 and out["steps_skipped"] == 0
    assert ours.read_bytes() == cli.read_bytes()


def test_an_existing_output_is_replaced_only_with_overwrite(tmp_path):
    d = fixture(SET)
    path = tmp_path / "f.nc"
    path.write_bytes(b"not a forecast")
    m = model_of(SET)
    with pytest.raises(gencast_rs.GencastError, match="already exists"):
        m.forecast_to(path, d / DATASET, members=1, steps=1)
    assert path.read_bytes() == b"not a forecast"
    m.forecast_to(path, d / DATASET, members=1, steps=1, overwrite=True)
    assert path.read_bytes()[:3] == b"CDF"
