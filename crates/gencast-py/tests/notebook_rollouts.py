"""The rollout cells of the reference's GraphCast and GenCast demo notebooks (loading the
checkpoint and statistics, splitting the example batch, the rollout), plot-free, with
gencast_rs in place of the reference: only gencast_rs, NumPy and xarray are imported. Files
are read from local paths where the notebooks open Cloud Storage blobs.

Usage: python notebook_rollouts.py GRAPHCAST_FOLDER GENCAST_FOLDER OUT_FOLDER. Writes the two
predictions to OUT_FOLDER and the names of the modules loaded to OUT_FOLDER/modules.txt.
"""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import xarray

import gencast_rs
from gencast_rs import data_utils

graphcast_dir, gencast_dir, out = (Path(p) for p in sys.argv[1:4])

# --- GraphCast demo ---
diffs_stddev_by_level = xarray.load_dataset(graphcast_dir / "diffs_stddev_by_level.nc").compute()
mean_by_level = xarray.load_dataset(graphcast_dir / "mean_by_level.nc").compute()
stddev_by_level = xarray.load_dataset(graphcast_dir / "stddev_by_level.nc").compute()
model = gencast_rs.load(
    graphcast_dir / "checkpoint.npz", [diffs_stddev_by_level, mean_by_level, stddev_by_level]
)
task_config = model.task_config
example_batch = xarray.load_dataset(
    graphcast_dir / "source-era5_date-2019-03-29_res-10.0_levels-13_steps-03.nc"
).compute()
eval_steps = example_batch.sizes["time"] - 2
eval_inputs, eval_targets, eval_forcings = data_utils.extract_inputs_targets_forcings(
    example_batch, target_lead_times=slice("6h", f"{eval_steps * 6}h"), **dataclasses.asdict(task_config)
)
predictions = model.chunked_prediction(
    eval_inputs, targets_template=eval_targets * np.nan, forcings=eval_forcings, progress=False
)
predictions.to_netcdf(out / "graphcast_predictions.nc")

# --- GenCast demo ---
diffs_stddev_by_level = xarray.load_dataset(gencast_dir / "diffs_stddev_by_level.nc").compute()
mean_by_level = xarray.load_dataset(gencast_dir / "mean_by_level.nc").compute()
stddev_by_level = xarray.load_dataset(gencast_dir / "stddev_by_level.nc").compute()
min_by_level = xarray.load_dataset(gencast_dir / "min_by_level.nc").compute()
model = gencast_rs.load(
    gencast_dir / "checkpoint.npz",
    [diffs_stddev_by_level, mean_by_level, stddev_by_level, min_by_level],
)
task_config = model.task_config
example_batch = xarray.load_dataset(
    gencast_dir / "source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"
).compute()
eval_inputs, eval_targets, eval_forcings = data_utils.extract_inputs_targets_forcings(
    example_batch,
    target_lead_times=slice("12h", f"{(example_batch.sizes['time'] - 2) * 12}h"),
    **dataclasses.asdict(task_config),
)
num_ensemble_members = 2
chunks = []
for chunk in model.chunked_prediction_generator(
    eval_inputs,
    targets_template=eval_targets * np.nan,
    forcings=eval_forcings,
    seed=0,
    num_samples=num_ensemble_members,
):
    chunks.append(chunk)
predictions = xarray.combine_by_coords(chunks)
predictions.to_netcdf(out / "gencast_predictions.nc")

(out / "modules.txt").write_text("\n".join(sorted(sys.modules)))
