"""The Dask recipe (docs/scaling.md): a `LocalCluster` of worker processes maps member ranges
to `gencast_rs.workers.write_members`, each writing into one Zarr store; the store equals the
`gencast` command's single-process store byte for byte, and what xarray reads from it equals
a one-process `Model.forecast` of the whole ensemble. Each worker loads the model once."""

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from dask.distributed import Client, LocalCluster

from conftest import DATASET, bits, fixture, model_of
from gencast_rs.workers import member_ranges, write_members

SET = "tiny-mha"
ENSEMBLE = 4
STEPS = 2
SEED = 7


def store_files(root: Path) -> dict:
    """Every file of a store (member lock files aside), by relative path."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            rel = p.relative_to(root)
            if rel.parts[0] != ".gencast-locks":
                out[str(rel)] = p.read_bytes()
    return out


def test_member_ranges_cover_the_ensemble_once():
    assert member_ranges(10, 4) == [(0, 4), (4, 4), (8, 2)]
    assert member_ranges(3, 1) == [(0, 1), (1, 1), (2, 1)]
    with pytest.raises(ValueError):
        member_ranges(0, 2)


@pytest.fixture(scope="module")
def dask_store(tmp_path_factory):
    """The ensemble written by two Dask worker processes, one member per task."""
    d = fixture(SET)
    store = tmp_path_factory.mktemp("dask") / "forecast.zarr"
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, Client(cluster) as client:
        futures = client.map(
            write_members,
            member_ranges(ENSEMBLE, 1),
            pure=False,
            checkpoint=str(d / "checkpoint.npz"),
            stats=str(d),
            dataset=str(d / DATASET),
            store=str(store),
            ensemble_size=ENSEMBLE,
            steps=STEPS,
            seed=SEED,
            threads=1,
        )
        results = client.gather(futures)
    return store, results


def test_each_worker_loads_the_model_once(dask_store):
    _, results = dask_store
    assert sorted(m for r in results for m in r["members"]) == list(range(ENSEMBLE))
    tasks = Counter(r["pid"] for r in results)
    assert len(tasks) <= 2, tasks
    # Four tasks on at most two processes: some process ran several, and loaded one model.
    assert max(tasks.values()) >= 2, tasks
    assert all(r["model_loads"] == 1 for r in results), results
    assert all(r["steps_computed"] == STEPS and r["steps_skipped"] == 0 for r in results)


def test_the_dask_store_equals_a_single_process_store_byte_for_byte(dask_store, gencast_bin, tmp_path):
    import subprocess

    store, _ = dask_store
    d = fixture(SET)
    single = tmp_path / "single.zarr"
    subprocess.run(
        [
            gencast_bin, "forecast",
            "--checkpoint", str(d / "checkpoint.npz"),
            "--dataset", str(d / DATASET),
            "--stats", str(d),
            "--members", str(ENSEMBLE), "--steps", str(STEPS), "--seed", str(SEED),
            "--output", str(single),
        ],
        check=True,
        capture_output=True,
    )
    ours, theirs = store_files(store), store_files(single)
    assert sorted(ours) == sorted(theirs)
    differing = [k for k in theirs if ours[k] != theirs[k]]
    assert not differing, differing[:5]


# zarr-python notes the store's member-lock folder, which is not part of the Zarr hierarchy.
@pytest.mark.filterwarnings("ignore:Object at .gencast-locks")
def test_the_dask_store_equals_a_one_process_model_forecast(dask_store):
    store, _ = dask_store
    d = fixture(SET)
    whole = model_of(SET).forecast(
        str(d / DATASET), members=ENSEMBLE, steps=STEPS, seed=SEED, progress=False
    )
    written = xr.open_zarr(store, consolidated=False).load()
    for name in whole.data_vars:
        if "sample" not in whole[name].dims:
            continue
        a = written[name].transpose(*whole[name].dims).values
        assert a.shape == whole[name].shape, name
        assert np.array_equal(bits(a), bits(whole[name].values)), name


def test_a_worker_given_members_another_is_writing_is_refused(dask_store, tmp_path):
    """The member locks, not the scheduler, keep two writers of one member apart."""
    import fcntl

    store, _ = dask_store
    d = fixture(SET)
    lock = store / ".gencast-locks" / "member-1.lock"
    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(Exception, match="another process is writing member 1"):
            write_members(
                (1, 1),
                checkpoint=str(d / "checkpoint.npz"),
                stats=str(d),
                dataset=str(d / DATASET),
                store=str(store),
                ensemble_size=ENSEMBLE,
                steps=STEPS,
                seed=SEED,
                threads=1,
            )
