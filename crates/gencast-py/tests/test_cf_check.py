"""The CF checker on one output per layout: `tools/cf-check.sh` runs cfchecker (the `test` extra
installs it, with compliance-checker for its copy of the CF standard-name table) on a reference-
layout forecast, a WeatherBench-2-layout forecast, an ensemble summary and a prepared dataset, and
fails on any CF error. Skipped where cfchecker cannot be imported (e.g. no udunits2 library)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def test_every_layout_passes_the_cf_checker_with_no_errors(gencast_bin, tmp_path):
    pytest.importorskip("cfchecker.cfchecks", reason="cfchecker (and its udunits2) not installed")
    pytest.importorskip("compliance_checker", reason="no CF standard-name table")
    env = dict(os.environ, GENCAST_BIN=gencast_bin, PYTHON=sys.executable)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    run = subprocess.run(
        [str(ROOT / "tools" / "cf-check.sh"), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    for name in ["reference", "weatherbench2", "summary", "prepared"]:
        assert any(line.startswith(f"{name}.nc: 0 errors,") for line in lines), run.stdout
    # The checker saw the new CF details (a file it could not parse would report no variables).
    log = (tmp_path / "reference.cfchecks.txt").read_text()
    for var in ["time_bnds", "height2m", "height10m", "valid_time"]:
        assert f"Checking variable: {var}" in log, var
