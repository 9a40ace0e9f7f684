"""The notebooks' rollout cells (tests/notebook_rollouts.py) run on the fixtures with only
gencast_rs, NumPy and xarray: no JAX, Haiku or reference module is loaded, and the
predictions are the reference notebooks' rollouts."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import xarray as xr

from conftest import fixture

SCRIPT = Path(__file__).with_name("notebook_rollouts.py")
# The reference's stack, none of which gencast_rs may load.
FORBIDDEN = {"jax", "jaxlib", "haiku", "jraph", "chex", "optax", "graphcast", "tensorflow", "torch"}
# As in test_chunked_prediction: relative RMS of 1e-4 bounds float32 reordering through the
# rollouts; a real discrepancy shows at 1e-2 and above.
PARITY_REL_RMS = 1e-4


def test_the_notebook_rollout_cells_run_without_jax(tmp_path):
    subprocess.run(
        [sys.executable, str(SCRIPT), str(fixture("graphcast-tiny")), str(fixture("tiny-mha")), str(tmp_path)],
        check=True,
    )
    modules = set((tmp_path / "modules.txt").read_text().split())
    loaded = {m.split(".")[0] for m in modules} & FORBIDDEN
    assert not loaded, f"the notebook cells loaded {sorted(loaded)}"
    assert "gencast_rs" in modules
    for ours, ref in (
        ("graphcast_predictions.nc", fixture("graphcast-tiny") / "rollout_3step_f32.nc"),
        ("gencast_predictions.nc", fixture("tiny-mha") / "rollout_2step_2members.nc"),
    ):
        a, b = xr.load_dataset(tmp_path / ours), xr.load_dataset(ref)
        assert dict(a.sizes) == dict(b.sizes), ours
        assert sorted(a.data_vars) == sorted(b.data_vars), ours
        for v in b.data_vars:
            assert a[v].dims == b[v].dims, f"{ours} {v}"
            x, y = a[v].values.astype(np.float64), b[v].values.astype(np.float64)
            ok = ~np.isnan(y)
            assert np.array_equal(np.isnan(x), ~ok), f"{ours} {v}: NaN pattern"
            rel = np.sqrt(np.mean((x[ok] - y[ok]) ** 2) / np.var(y[ok]))
            assert rel <= PARITY_REL_RMS, f"{ours} {v}: relative RMS {rel:.2e}"
