"""`gencast_rs.inspect` against `gencast inspect --json`."""

import json
import subprocess

import pytest

import gencast_rs
from conftest import fixture


@pytest.mark.parametrize("name", ["tiny-mha", "graphcast-tiny"])
def test_inspect_returns_what_the_cli_prints(gencast_bin, name):
    path = str(fixture(name) / "checkpoint.npz")
    cli = subprocess.run([gencast_bin, "inspect", "--json", path], check=True, capture_output=True, text=True)
    ours = gencast_rs.inspect(path)
    assert ours == json.loads(cli.stdout)
    assert ours["num_params"] == sum(
        __import__("math").prod(p["shape"]) for p in ours["params"]
    )


def test_inspect_names_a_missing_file(tmp_path):
    missing = tmp_path / "nothing.npz"
    with pytest.raises(gencast_rs.GencastError, match="nothing.npz"):
        gencast_rs.inspect(missing)
