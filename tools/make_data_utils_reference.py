"""Writes the reference's `data_utils.extract_inputs_targets_forcings` results on the fixture
datasets, for the Python package's tests (crates/gencast-py/tests/fixtures/).

Runs DeepMind's reference (google-deepmind/graphcast v0.2, commit 08cf736) imported from a
checkout on PYTHONPATH, in the environment of /work/shared/reference-harness (VERSIONS.txt):

    PYTHONPATH=<graphcast checkout> python tools/make_data_utils_reference.py

Each case is one NetCDF group `<case>/inputs`, `<case>/targets`, `<case>/forcings` of
`data_utils_reference.nc`. `graphcast` and `gencast` take the checkpoint's task config (the
tiny fixture models'), with fewer pressure levels and every third latitude (`LAT`) to keep the file small, and the notebooks'
lead-time splits; the other cases ask for a few variables with other lead-time forms, and
`graphcast_tisr` drops the dataset's toa_incident_solar_radiation so that the reference
computes it.
"""

import argparse
import dataclasses
import os
from pathlib import Path

import xarray
from graphcast import checkpoint, data_utils, gencast, graphcast

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "crates" / "gencast" / "tests" / "fixtures"
OUT = ROOT / "crates" / "gencast-py" / "tests" / "fixtures" / "data_utils_reference.nc"
GC_DATASET = "source-era5_date-2019-03-29_res-10.0_levels-13_steps-03.nc"
GEN_DATASET = "source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"
LEVELS = (1000, 500)
# Every third latitude of the datasets (all longitudes), also to keep the file small.
LAT = slice(None, None, 3)


def task_of(folder: str, cls) -> dict:
    """The checkpoint's task config as keyword arguments, with `LEVELS`."""
    with open(FIXTURES / folder / "checkpoint.npz", "rb") as f:
        ckpt = checkpoint.load(f, cls)
    task = dataclasses.asdict(ckpt.task_config)
    task["pressure_levels"] = LEVELS
    return task


def cases():
    """(name, dataset, keyword arguments) of each case."""
    gc = xarray.load_dataset(FIXTURES / "graphcast-tiny" / GC_DATASET).isel(lat=LAT)
    gen = xarray.load_dataset(FIXTURES / "tiny-mha" / GEN_DATASET).isel(lat=LAT)
    gc_task = task_of("graphcast-tiny", graphcast.CheckPoint)
    gen_task = task_of("tiny-mha", gencast.CheckPoint)
    yield "graphcast", gc, dict(gc_task, target_lead_times=slice("6h", "18h"))
    # The further cases ask for a few variables only, to keep the file small.
    few = dict(
        input_variables=("2m_temperature", "toa_incident_solar_radiation", "day_progress_cos"),
        target_variables=("temperature",),
        forcing_variables=("toa_incident_solar_radiation", "year_progress_sin"),
        pressure_levels=(1000, 50),
        input_duration="18h",
    )
    yield "graphcast_tisr", gc.drop_vars("toa_incident_solar_radiation"), dict(
        few, target_lead_times=slice("6h", "12h")
    )
    yield "graphcast_list", gc, dict(few, target_lead_times=["12h", "6h"])
    yield "graphcast_single", gc, dict(few, input_duration="6h", target_lead_times="12h")
    yield "graphcast_open_slice", gc, dict(few, target_lead_times=slice(None, "12h"))
    steps = gen.sizes["time"] - 2
    gen_task["pressure_levels"] = (850,)
    yield "gencast", gen, dict(gen_task, target_lead_times=slice("12h", f"{steps * 12}h"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.exists():
        os.remove(args.out)
    for name, ds, kwargs in cases():
        parts = data_utils.extract_inputs_targets_forcings(ds, **kwargs)
        for part, out in zip(("inputs", "targets", "forcings"), parts):
            encoding = {v: {"zlib": False, "contiguous": True} for v in out.data_vars}
            out.to_netcdf(
                args.out,
                group=f"{name}/{part}",
                mode="a" if args.out.exists() else "w",
                encoding=encoding,
            )
    print(args.out, args.out.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
