"""GenCast ensemble forecasts on CPUs, from Python and xarray.

``gencast_rs`` wraps the ``gencast`` engine (Rust): deterministic, NaN-free GenCast forecasts
whose results are bitwise the same as the ``gencast forecast`` command's.

>>> import gencast_rs
>>> model = gencast_rs.load("checkpoint.npz", "stats/")
>>> forecast = model.forecast("dataset.nc", members=2, steps=2)
>>> forecast.to_netcdf("forecast.nc")

``Model.chunked_prediction`` is a drop-in replacement for the reference notebook's
``rollout.chunked_prediction_generator_multiple_runs`` followed by ``xarray.combine_by_coords``.
"""

from __future__ import annotations

import json
import os
import queue
import tempfile
import threading
from typing import Any, Iterator, Mapping, Optional, Sequence, Union

import numpy as np
import xarray as xr

from . import _gencast_rs
from ._gencast_rs import GencastError, __version__
from ._gencast_rs import inspect_json as _inspect_json
from ._progress import Progress, run_interruptibly
from ._reference import (
    STATS_NAMES,
    chunk_dataset,
    input_dataset,
    steps_of,
    whole,
)

__all__ = ["GencastError", "Model", "__version__", "inspect", "load"]

PathLike = Union[str, "os.PathLike[str]"]


def inspect(path: PathLike) -> dict:
    """Describes a checkpoint: what ``gencast inspect --json`` prints, as a dict.

    Keys: path, description, license, num_params, num_tensors, param_bytes, the configs
    (task_config, denoiser_architecture_config, ... for GenCast; model_config, task_config for
    GraphCast), derived, validation and params (one dict per tensor: path, shape, dtype, bytes).
    """
    return json.loads(_inspect_json(os.fspath(path)))


def load(checkpoint: PathLike, stats: Union[PathLike, Mapping[str, xr.Dataset], Sequence[xr.Dataset]]) -> "Model":
    """Loads a GenCast or GraphCast checkpoint (.npz) and its normalisation statistics.

    ``stats`` is the folder holding mean_by_level.nc, stddev_by_level.nc,
    diffs_stddev_by_level.nc and min_by_level.nc (GraphCast: the first three), or those
    ``xarray.Dataset``s: a mapping from these names (with or without ``.nc``) or a sequence in
    that order.
    """
    checkpoint = os.fspath(checkpoint)
    if isinstance(stats, (str, os.PathLike)):
        return Model(_gencast_rs.Model(checkpoint, os.fspath(stats)))
    entries = {name: _stats_entries(name, ds) for name, ds in _stats_datasets(stats).items()}
    return Model(_gencast_rs.Model.with_stats(checkpoint, entries))


def _stats_entries(name: str, ds: xr.Dataset) -> tuple:
    """One statistics dataset as the engine takes it: its levels and, per variable, its
    values (one per level, or one) and whether it is per level."""
    levels = [int(x) for x in ds["level"].values] if "level" in ds.coords else []
    out = []
    for var, da in ds.data_vars.items():
        if da.ndim > 1 or (da.ndim == 1 and da.dims != ("level",)):
            raise GencastError(
                f"stats {name}: variable `{var}` has dims {da.dims}; expected none or (level,)"
            )
        values = np.asarray(da.values, dtype=np.float64).reshape(-1)
        out.append((str(var), [float(x) for x in values], da.ndim == 1))
    return (levels, out)


def _stats_datasets(stats: Any) -> dict:
    """The four statistics datasets by name, from a mapping or a sequence."""
    if isinstance(stats, Mapping):
        found = {str(k).removesuffix(".nc"): v for k, v in stats.items()}
        unknown = sorted(set(found) - set(STATS_NAMES))
        # GraphCast has no min_by_level; the engine names what a model lacks.
        missing = [n for n in STATS_NAMES[:3] if n not in found]
        if unknown or missing:
            raise GencastError(
                f"stats: expected the datasets {', '.join(STATS_NAMES)}; "
                + (f"missing {', '.join(missing)}" if missing else "")
                + ("; " if missing and unknown else "")
                + (f"unknown {', '.join(unknown)}" if unknown else "")
            )
    elif isinstance(stats, Sequence) and not isinstance(stats, (str, bytes)):
        if len(stats) not in (3, 4):
            raise GencastError(
                f"stats: expected 4 datasets ({', '.join(STATS_NAMES)}; GraphCast: the first "
                f"3), got {len(stats)}"
            )
        found = dict(zip(STATS_NAMES, stats))
    else:
        raise GencastError(
            "stats: expected a folder path or the four statistics xarray.Datasets, got "
            f"{type(stats).__name__}"
        )
    for name, ds in found.items():
        if not isinstance(ds, xr.Dataset):
            raise GencastError(f"stats {name}: expected an xarray.Dataset, got {type(ds).__name__}")
    return found


def _sampler_args(sampler: Any) -> list:
    """Sampler overrides as ``key=value`` strings, from a mapping or such strings."""
    if sampler is None:
        return []
    if isinstance(sampler, Mapping):
        return [f"{k}={v}" for k, v in sampler.items()]
    if isinstance(sampler, str):
        return [sampler]
    return [str(s) for s in sampler]


class Model:
    """A loaded model (checkpoint and statistics); see :func:`load`."""

    def __init__(self, core: "_gencast_rs.Model"):
        self._core = core

    def __repr__(self) -> str:
        return f"gencast_rs.Model({self._core.checkpoint!s})"

    @property
    def checkpoint(self) -> str:
        """The checkpoint's path."""
        return os.fspath(self._core.checkpoint)

    @property
    def description(self) -> str:
        """The checkpoint's description."""
        return self._core.description

    @property
    def kind(self) -> str:
        """``"gencast"`` or ``"graphcast"``."""
        return self._core.kind

    def forecast(
        self,
        dataset: Union[PathLike, xr.Dataset],
        *,
        members: int,
        steps: Optional[int] = None,
        lead_time: Any = None,
        seed: int = 0,
        member_offset: int = 0,
        init_time: Any = None,
        sampler: Any = None,
        threads: Optional[int] = None,
        progress: bool = True,
    ) -> xr.Dataset:
        """An ensemble forecast, equal to what xarray reads from ``gencast forecast``'s output.

        ``dataset`` is an example dataset (a NetCDF path, or an ``xarray.Dataset`` in the same
        layout, with its ``datetime`` coordinate). Members ``member_offset`` ..
        ``member_offset + members - 1`` are computed, member m seeded with
        ``fold_in(PRNGKey(seed), m)`` (GraphCast: one member, no seed). ``steps`` model steps
        (12 h GenCast, 6 h GraphCast), or ``lead_time`` (e.g. ``"360h"``, ``"15d"`` or a
        timedelta); default one step. ``init_time`` (the second input frame)
        defaults to the dataset's second frame. ``sampler`` overrides sampler settings, e.g.
        ``{"num_noise_levels": 20}``. ``threads`` defaults to all cores; results are the same
        for any number. ``progress`` shows a tqdm bar when tqdm is installed.
        """
        members = whole("members", members, 1)
        member_offset = whole("member_offset", member_offset, 0)
        seed = whole("seed", seed, None)
        nsteps = steps_of(steps, lead_time, self._core.step_hours)
        if threads is not None:
            threads = whole("threads", threads, 1)
        init = None if init_time is None else _init_time_text(init_time)
        with tempfile.TemporaryDirectory(prefix="gencast_rs-") as folder:
            path = _dataset_path(dataset, folder)
            bar = Progress(progress, members * nsteps, member_offset, nsteps)
            raw = run_interruptibly(
                bar,
                self._core.forecast_in_memory,
                path,
                members=members,
                steps=nsteps,
                seed=seed,
                member_offset=member_offset,
                init_time=init,
                sampler=_sampler_args(sampler),
                threads=threads,
            )
        return _from_memory(raw)

    def forecast_to(
        self,
        output: PathLike,
        dataset: PathLike,
        *,
        members: int,
        steps: Optional[int] = None,
        lead_time: Any = None,
        seed: int = 0,
        member_offset: int = 0,
        ensemble_size: Optional[int] = None,
        resume: bool = False,
        overwrite: bool = False,
        init_time: Any = None,
        sampler: Any = None,
        threads: Optional[int] = None,
        progress: bool = False,
    ) -> dict:
        """Writes the forecast to ``output`` as ``gencast forecast --output`` does, with the
        same bytes: a NetCDF file, a GRIB2 file (``.grib2``, ``.grb2``, ``.grib``), or a Zarr
        store (a folder ending in ``.zarr``).

        A Zarr store holds ``ensemble_size`` members (default: ``member_offset + members``);
        several processes or machines may fill one store with disjoint
        ``member_offset``/``members`` ranges, each locking its members (a range another
        process is writing is refused). ``resume`` skips the (member, step) chunks already
        written (or recorded in an unfinished NetCDF file); ``overwrite`` computes them again.
        ``dataset`` is a NetCDF path (every writer of one store must read the same content).
        Returns ``{"output", "members", "steps", "steps_computed", "steps_skipped"}``.
        """
        members = whole("members", members, 1)
        member_offset = whole("member_offset", member_offset, 0)
        seed = whole("seed", seed, None)
        nsteps = steps_of(steps, lead_time, self._core.step_hours)
        if ensemble_size is not None:
            ensemble_size = whole("ensemble_size", ensemble_size, 1)
        if threads is not None:
            threads = whole("threads", threads, 1)
        if not isinstance(dataset, (str, os.PathLike)):
            raise GencastError(
                f"dataset: expected a NetCDF path, got {type(dataset).__name__} (writers of one "
                "store must read the same file)"
            )
        init = None if init_time is None else _init_time_text(init_time)
        bar = Progress(progress, members * nsteps, member_offset, nsteps)
        computed, skipped = run_interruptibly(
            bar,
            self._core.forecast_to,
            os.fspath(dataset),
            os.fspath(output),
            members=members,
            steps=nsteps,
            seed=seed,
            member_offset=member_offset,
            ensemble_size=ensemble_size,
            resume=bool(resume),
            overwrite=bool(overwrite),
            init_time=init,
            sampler=_sampler_args(sampler),
            threads=threads,
        )
        return {
            "output": os.fspath(output),
            "members": list(range(member_offset, member_offset + members)),
            "steps": nsteps,
            "steps_computed": computed,
            "steps_skipped": skipped,
        }

    def chunked_prediction_generator(
        self,
        inputs: xr.Dataset,
        targets_template: xr.Dataset,
        forcings: Optional[xr.Dataset] = None,
        *,
        seed: int = 0,
        num_samples: int = 1,
        progress: bool = False,
    ) -> Iterator[xr.Dataset]:
        """Yields one (member, step) chunk at a time, as the reference's
        ``rollout.chunked_prediction_generator_multiple_runs`` with one step per chunk does.

        Takes what ``data_utils.extract_inputs_targets_forcings`` returns. Member i is seeded
        with ``fold_in(PRNGKey(seed), i)``. Each chunk has the dims of ``targets_template``
        plus a leading ``sample`` dim of length 1.
        """
        seed = whole("seed", seed, None)
        num_samples = whole("num_samples", num_samples, 1)
        if self._core.kind != "gencast":
            raise GencastError(
                f"chunked_prediction runs GenCast checkpoints; {self.checkpoint} is {self._core.kind}"
            )
        outputs = self._core.output_variables()
        ds, steps = input_dataset(inputs, targets_template, forcings, outputs)
        yield from _generate(self._core, ds, steps, seed, num_samples, outputs, targets_template, progress)

    def chunked_prediction(
        self,
        inputs: xr.Dataset,
        targets_template: xr.Dataset,
        forcings: Optional[xr.Dataset] = None,
        *,
        seed: int = 0,
        num_samples: int = 1,
        progress: bool = True,
    ) -> xr.Dataset:
        """The notebook's rollout: ``xarray.combine_by_coords`` of
        :meth:`chunked_prediction_generator`'s chunks (dims ``sample`` plus those of
        ``targets_template``)."""
        chunks = list(
            self.chunked_prediction_generator(
                inputs, targets_template, forcings, seed=seed, num_samples=num_samples, progress=progress
            )
        )
        return xr.combine_by_coords(chunks)


def _attr(value: Any) -> Any:
    """An attribute as netCDF4 reads it: text as str, one number as a NumPy scalar."""
    if isinstance(value, np.ndarray) and value.size == 1:
        return value[0]
    return value


def _from_memory(raw: dict) -> xr.Dataset:
    """The Dataset xarray reads from the NetCDF file whose variables ``raw`` holds: the raw
    variables and attributes, decoded by ``xarray.decode_cf`` as ``open_dataset`` does."""
    variables = {}
    for v in list(raw["coords"]) + list(raw["data_vars"]):
        attrs = {k: _attr(a) for k, a in v["attrs"]}
        values = v["values"].reshape(v["shape"])  # a view: no copy
        variables[v["name"]] = xr.Variable(v["dims"], values, attrs=attrs)
    ds = xr.Dataset(variables, attrs={k: _attr(a) for k, a in raw["attrs"]})
    return xr.decode_cf(ds)


def _init_time_text(value: Any) -> str:
    """An initialisation time as ``YYYY-MM-DDTHH:MM:SS`` text."""
    if isinstance(value, str):
        return value
    try:
        t = np.datetime64(value, "s")
    except (TypeError, ValueError) as e:
        raise GencastError(f"init_time {value!r}: expected e.g. '2019-03-29T12:00' ({e})") from None
    return str(t)


def _dataset_path(dataset: Any, folder: str) -> str:
    """The dataset's file: its path, or an ``xarray.Dataset`` written into ``folder``."""
    if isinstance(dataset, (str, os.PathLike)):
        return os.fspath(dataset)
    if isinstance(dataset, xr.Dataset):
        path = os.path.join(folder, "dataset.nc")
        dataset.to_netcdf(path)
        return path
    raise GencastError(
        f"dataset: expected a NetCDF path or an xarray.Dataset, got {type(dataset).__name__}"
    )


def _generate(core, ds, steps, seed, num_samples, outputs, template, progress) -> Iterator[xr.Dataset]:
    """Runs the rollout on a worker thread and yields its chunks as they come."""
    chunks: "queue.Queue" = queue.Queue(maxsize=2)
    done = object()
    stop = threading.Event()
    bar = Progress(progress, num_samples * steps, 0, steps)

    def on_step(member, step, fields):
        while not stop.is_set():
            try:
                chunks.put((member, step, fields), timeout=0.1)
                return
            except queue.Full:
                continue
        raise GencastError("the chunked prediction generator was closed")

    with tempfile.TemporaryDirectory(prefix="gencast_rs-") as folder:
        path = os.path.join(folder, "inputs.nc")
        ds.to_netcdf(path)
        errors: list = []

        def work():
            try:
                core.rollout(
                    path,
                    members=num_samples,
                    steps=steps,
                    seed=seed,
                    member_offset=0,
                    init_time=None,
                    sampler=[],
                    threads=None,
                    on_step=on_step,
                    progress=bar.callback(stop),
                )
            except BaseException as e:  # handed to the consumer thread
                errors.append(e)
            finally:
                while True:
                    try:
                        chunks.put(done, timeout=0.1)
                        break
                    except queue.Full:
                        if stop.is_set():
                            break

        worker = threading.Thread(target=work, name="gencast_rs rollout", daemon=True)
        worker.start()
        try:
            while True:
                try:
                    item = chunks.get(timeout=0.1)
                except queue.Empty:
                    continue
                if item is done:
                    break
                member, step, fields = item
                yield chunk_dataset(template, outputs, member, step, fields)
        finally:
            stop.set()
            worker.join()
            bar.close()
        if errors:
            raise errors[0]
