"""An ensemble spread over worker processes or machines that share a filesystem: each task
writes one range of members into one Zarr store, with the store layout and member locks of
``gencast forecast --ensemble-size``, and each process loads the model once.

With Dask (``dask.distributed``):

>>> from dask.distributed import Client, LocalCluster
>>> from gencast_rs.workers import member_ranges, write_members
>>> client = Client(LocalCluster(n_workers=4, threads_per_worker=1))
>>> tasks = client.map(
...     write_members, member_ranges(32, 4), pure=False,
...     checkpoint="ckpt.npz", stats="stats/", dataset="inputs.nc",
...     store="/shared/forecast.zarr", ensemble_size=32, steps=30, seed=0,
... )
>>> client.gather(tasks)

A task runs again after a lost worker (``resume`` keeps what it wrote); a task whose members
another process is writing fails, naming the member. Nothing here imports Dask: any scheduler
that calls :func:`write_members` in long-lived processes works the same way.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Optional

from . import Model, PathLike, load

_lock = threading.Lock()
_models: dict = {}
_loads = 0


def cached_model(checkpoint: PathLike, stats: PathLike) -> Model:
    """The model of ``checkpoint`` and ``stats``, loaded once per process."""
    global _loads
    key = (os.path.abspath(os.fspath(checkpoint)), os.path.abspath(os.fspath(stats)))
    with _lock:
        if key not in _models:
            _models[key] = load(*key)
            _loads += 1
        return _models[key]


def model_loads() -> int:
    """How many models this process has loaded (each checkpoint and statistics once)."""
    return _loads


def member_ranges(ensemble_size: int, per_task: int) -> list:
    """``(member_offset, members)`` of consecutive tasks of at most ``per_task`` members
    covering members ``0 .. ensemble_size``."""
    if ensemble_size < 1 or per_task < 1:
        raise ValueError(f"ensemble_size {ensemble_size}, per_task {per_task}: expected at least 1")
    return [(k, min(per_task, ensemble_size - k)) for k in range(0, ensemble_size, per_task)]


def write_members(
    members: tuple,
    *,
    checkpoint: PathLike,
    stats: PathLike,
    dataset: PathLike,
    store: PathLike,
    ensemble_size: int,
    steps: Optional[int] = None,
    lead_time: Any = None,
    seed: int = 0,
    sampler: Any = None,
    threads: Optional[int] = None,
    resume: bool = True,
) -> dict:
    """Computes members ``members = (member_offset, count)`` into the Zarr ``store`` of
    ``ensemble_size`` members (see :meth:`gencast_rs.Model.forecast_to`); returns what that
    returns, plus this process's ``pid`` and ``model_loads``."""
    if not os.fspath(store).endswith(".zarr"):
        raise ValueError(f"store {os.fspath(store)}: expected a Zarr store (a name ending in .zarr)")
    offset, count = members
    model = cached_model(checkpoint, stats)
    out = model.forecast_to(
        store,
        dataset,
        members=count,
        member_offset=offset,
        ensemble_size=ensemble_size,
        steps=steps,
        lead_time=lead_time,
        seed=seed,
        sampler=sampler,
        threads=threads,
        resume=resume,
    )
    out["pid"] = os.getpid()
    out["model_loads"] = model_loads()
    return out
