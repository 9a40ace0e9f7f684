"""GenCast ensemble forecasts on CPUs, from Python and xarray.

``gencast_rs`` wraps the ``gencast`` engine (Rust): deterministic, NaN-free GenCast forecasts
whose results are bitwise the same as the ``gencast forecast`` command's.

>>> import gencast_rs
>>> model = gencast_rs.load("checkpoint.npz", "stats/")
>>> forecast = model.forecast("dataset.nc", members=2, steps=2)
>>> forecast.to_netcdf("forecast.nc")

The reference notebooks' rollout cells run without JAX: ``gencast_rs.data_utils`` stands for
``graphcast.data_utils`` (``extract_inputs_targets_forcings``), ``model.task_config`` for the
checkpoint's task config, and ``Model.chunked_prediction`` for GenCast's
``rollout.chunked_prediction_generator_multiple_runs`` followed by ``xarray.combine_by_coords``
and for GraphCast's ``rollout.chunked_prediction``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import threading
from typing import Any, Iterator, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import xarray as xr

from . import _gencast_rs
from ._gencast_rs import GencastError, __version__
from ._gencast_rs import inspect_json as _inspect_json
from ._progress import Progress, run_interruptibly
from . import _stats, data_utils
from ._reference import (
    chunk_dataset,
    input_dataset,
    steps_of,
    whole,
)

__all__ = ["GencastError", "Model", "TaskConfig", "__version__", "data_utils", "inspect", "load"]

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
    ``xarray.Dataset``s: a mapping from these names (with or without ``.nc``), or a sequence
    in any order (e.g. the notebook's diffs, mean, stddev, min), told apart by their
    variables and values; a sequence that cannot be told apart is read in the order above.
    """
    checkpoint = os.fspath(checkpoint)
    if isinstance(stats, (str, os.PathLike)):
        return Model(_gencast_rs.Model(checkpoint, os.fspath(stats)))
    entries = {name: _stats.entries(name, ds) for name, ds in _stats.datasets(stats).items()}
    return Model(_gencast_rs.Model.with_stats(checkpoint, entries))


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
        source = _dataset_arg(dataset, "the xarray.Dataset `dataset`")
        bar = Progress(progress, members * nsteps, member_offset, nsteps)
        raw = run_interruptibly(
            bar,
            self._core.forecast_in_memory,
            source,
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

    @property
    def task_config(self) -> "TaskConfig":
        """The checkpoint's task (variables, pressure levels, input duration), as the
        reference's ``TaskConfig``: ``dataclasses.asdict(model.task_config)`` gives the keyword
        arguments of :func:`gencast_rs.data_utils.extract_inputs_targets_forcings`."""
        inputs, targets, forcings, levels, duration = self._core.task_config()
        return TaskConfig(tuple(inputs), tuple(targets), tuple(forcings), tuple(levels), duration)

    def chunked_prediction_generator(
        self,
        inputs: xr.Dataset,
        targets_template: xr.Dataset,
        forcings: Optional[xr.Dataset] = None,
        *,
        seed: int = 0,
        num_samples: int = 1,
        member_offset: int = 0,
        progress: bool = False,
    ) -> Iterator[xr.Dataset]:
        """Yields one (member, step) chunk at a time, as the reference's rollout generators
        with one step per chunk do.

        Takes what ``data_utils.extract_inputs_targets_forcings`` returns. GenCast
        (``rollout.chunked_prediction_generator_multiple_runs``): members ``member_offset`` ..
        ``member_offset + num_samples - 1``, member m seeded with ``fold_in(PRNGKey(seed),
        m)``; each chunk has the dims of ``targets_template`` plus a leading ``sample`` dim of
        length 1. GraphCast (``rollout.chunked_prediction_generator``): one deterministic run
        (``seed`` plays no part); each chunk has the template's dims with ``time`` first. The
        forcings' ``toa_incident_solar_radiation`` is used as given; the progress features
        must be those of the times.
        """
        seed = whole("seed", seed, None)
        num_samples = whole("num_samples", num_samples, 1)
        member_offset = whole("member_offset", member_offset, 0)
        graphcast = self._core.kind == "graphcast"
        if graphcast and (num_samples != 1 or member_offset != 0):
            raise GencastError(
                f"num_samples {num_samples}, member_offset {member_offset}: a GraphCast "
                "checkpoint is deterministic and makes one run (num_samples=1, member_offset=0)"
            )
        outputs = self._core.output_variables()
        ds, steps = input_dataset(inputs, targets_template, forcings, outputs, self._core.step_hours)
        ds = _with_forcing_frames(ds, forcings, targets_template, self._core.step_hours)
        init = str(ds["datetime"].values.reshape(-1)[1].astype("datetime64[s]"))
        chunks = _generate(
            self._core, ds, init, steps, 0 if graphcast else seed, num_samples, member_offset, progress
        )
        for member, step, fields in chunks:
            chunk = chunk_dataset(targets_template, outputs, member, step, fields)
            if graphcast:
                chunk = chunk.isel(sample=0, drop=True)
                chunk = chunk.transpose("time", ...)
            yield chunk

    def chunked_prediction(
        self,
        inputs: xr.Dataset,
        targets_template: xr.Dataset,
        forcings: Optional[xr.Dataset] = None,
        *,
        seed: int = 0,
        num_samples: int = 1,
        member_offset: int = 0,
        progress: bool = True,
    ) -> xr.Dataset:
        """The notebooks' rollout of :meth:`chunked_prediction_generator`'s chunks: GenCast's
        ``xarray.combine_by_coords`` (dims ``sample`` plus those of ``targets_template``),
        GraphCast's ``rollout.chunked_prediction`` (concatenated along ``time``)."""
        chunks = list(
            self.chunked_prediction_generator(
                inputs,
                targets_template,
                forcings,
                seed=seed,
                num_samples=num_samples,
                member_offset=member_offset,
                progress=progress,
            )
        )
        if self._core.kind == "graphcast":
            return xr.concat(chunks, dim="time")
        return xr.combine_by_coords(chunks)


@dataclasses.dataclass(frozen=True)
class TaskConfig:
    """A checkpoint's task, field for field the reference's ``TaskConfig``."""

    input_variables: Tuple[str, ...]
    target_variables: Tuple[str, ...]
    forcing_variables: Tuple[str, ...]
    pressure_levels: Tuple[int, ...]
    input_duration: str


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


def _dataset_arg(dataset: Any, label: str) -> Any:
    """The engine's dataset argument: a path, or an ``xarray.Dataset`` in memory."""
    if isinstance(dataset, (str, os.PathLike)):
        return os.fspath(dataset)
    if isinstance(dataset, xr.Dataset):
        return _memory_dataset(dataset, label)
    raise GencastError(
        f"dataset: expected a NetCDF path or an xarray.Dataset, got {type(dataset).__name__}"
    )


def _memory_dataset(ds: xr.Dataset, label: str) -> dict:
    """An ``xarray.Dataset`` as the engine takes it in memory: its coordinates and its data
    variables as flat float32 arrays (``label`` names it in messages)."""

    def bad(what: str, detail: str) -> GencastError:
        return GencastError(f"{label}: {what}: {detail}")

    out: dict = {"label": label}
    for name in ("lat", "lon"):
        if name in ds.coords:
            values = ds.coords[name].values
            if not np.issubdtype(values.dtype, np.number) or values.ndim != 1:
                raise bad(f"coordinate `{name}`", f"expected 1-d numbers, got {values.dtype} over {ds.coords[name].dims}")
            out[name] = np.ascontiguousarray(values, dtype=np.float32)
    if "level" in ds.coords:
        values = ds.coords["level"].values
        whole_numbers = np.issubdtype(values.dtype, np.number) and np.all(np.mod(values, 1) == 0)
        if values.ndim != 1 or not whole_numbers or np.any(values <= 0) or np.any(values > 2**31 - 1):
            raise bad("coordinate `level`", f"expected positive whole numbers of hPa, got {values}")
        out["level"] = np.ascontiguousarray(values, dtype=np.int32)
    if "time" in ds.coords:
        values = ds.coords["time"].values
        if not np.issubdtype(values.dtype, np.timedelta64) or values.ndim != 1:
            raise bad("coordinate `time`", f"expected time offsets (timedelta64), got {values.dtype}")
        out["time"] = values.astype("timedelta64[ns]").astype(np.int64)
    if "datetime" in ds.coords:
        dt = ds.coords["datetime"]
        if dt.dims not in (("time",), ("batch", "time")):
            raise bad("coordinate `datetime`", f"expected dims (batch, time) or (time), found {dt.dims}")
        if "batch" in dt.dims:
            dt = dt.isel(batch=0)
        values = dt.values
        if not np.issubdtype(values.dtype, np.datetime64):
            raise bad("coordinate `datetime`", f"expected times (datetime64), got {values.dtype}")
        if np.any(np.isnat(values)):
            raise bad("coordinate `datetime`", "contains missing (NaT) times")
        out["datetime"] = values.astype("datetime64[ns]").astype(np.int64)
    variables = []
    for name, da in ds.data_vars.items():
        if not (np.issubdtype(da.dtype, np.number) or np.issubdtype(da.dtype, np.bool_)):
            raise bad(f"variable `{name}`", f"expected numbers, got {da.dtype}")
        values = np.ascontiguousarray(da.values, dtype=np.float32).reshape(-1)
        units = da.attrs.get("units")
        variables.append(
            (str(name), [str(d) for d in da.dims], [int(n) for n in da.shape], values, None if units is None else str(units))
        )
    out["variables"] = variables
    return out


def _with_forcing_frames(
    ds: xr.Dataset, forcings: Optional[xr.Dataset], template: xr.Dataset, step_hours: int
) -> xr.Dataset:
    """``ds`` with frames at the target times holding the forcings the engine reads from a
    dataset (``toa_incident_solar_radiation``; it computes the progress features), and NaN
    for the other variables, which it never reads there."""
    given = [
        n
        for n in (forcings.data_vars if forcings is not None else [])
        if n in ds.data_vars and not str(n).startswith(("year_progress", "day_progress"))
    ]
    if not given:
        return ds
    steps = template.sizes["time"]
    first = ds["datetime"].values.reshape(-1)[0]
    hours = np.arange(steps + 2) * step_hours
    times = hours.astype("timedelta64[h]").astype("timedelta64[ns]")
    grown = {}
    base = ds.drop_vars("datetime")
    for name, da in base.data_vars.items():
        if "time" not in da.dims:
            grown[name] = da
            continue
        if name in given:
            tail = forcings[name]
            if "batch" not in tail.dims:
                tail = tail.expand_dims("batch")
            tail = tail.transpose(*da.dims).drop_vars([c for c in tail.coords if c not in da.dims])
        else:
            tail = xr.full_like(da.isel(time=[0] * steps), np.nan)
        tail = tail.assign_coords(time=times[2:])
        grown[name] = xr.concat([da, tail], dim="time")
    out = xr.Dataset(grown, attrs=ds.attrs)
    return out.assign_coords(time=times, datetime=(("batch", "time"), (first + times)[None]))


def _generate(core, ds, init, steps, seed, num_samples, member_offset, progress) -> Iterator[tuple]:
    """Runs the rollout of the in-memory ``ds`` on a worker thread and yields its
    ``(member, step, fields)`` as they come."""
    chunks: "queue.Queue" = queue.Queue(maxsize=2)
    done = object()
    stop = threading.Event()
    bar = Progress(progress, num_samples * steps, member_offset, steps)

    def on_step(member, step, fields):
        while not stop.is_set():
            try:
                chunks.put((member, step, fields), timeout=0.1)
                return
            except queue.Full:
                continue
        raise GencastError("the chunked prediction generator was closed")

    dataset = _memory_dataset(ds, "the xarray.Dataset `inputs`")
    errors: list = []

    def work():
        try:
            core.rollout(
                dataset,
                members=num_samples,
                steps=steps,
                seed=seed,
                member_offset=member_offset,
                init_time=init,
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
            yield item
    finally:
        stop.set()
        worker.join()
        bar.close()
    if errors:
        raise errors[0]
