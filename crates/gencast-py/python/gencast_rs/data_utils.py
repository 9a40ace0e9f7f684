"""Inputs, targets and forcings of a forecast from an example dataset, without JAX.

The same functions, arguments and results as the reference's ``graphcast.data_utils``
(google-deepmind/graphcast v0.2): the notebooks' ``extract_inputs_targets_forcings`` works
unchanged with ``gencast_rs.data_utils`` in its place.

The progress features are computed with NumPy in the reference's float64-then-float32 order,
so they are equal to the reference's. ``toa_incident_solar_radiation``, when a forcing needs
it and the dataset lacks it, is the engine's own (the values a forecast uses); it agrees with
the reference's JAX computation to within 4e-6 of the largest value.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence, Tuple, Union

import numpy as np
import pandas as pd
import xarray as xr

from . import _gencast_rs

__all__ = [
    "AVG_SEC_PER_YEAR",
    "DAY_PROGRESS",
    "SEC_PER_DAY",
    "TISR",
    "YEAR_PROGRESS",
    "add_derived_vars",
    "add_tisr_var",
    "extract_input_target_times",
    "extract_inputs_targets_forcings",
    "featurize_progress",
    "get_day_progress",
    "get_seconds_since_epoch",
    "get_year_progress",
]

TimedeltaLike = Any
TargetLeadTimes = Union[TimedeltaLike, Sequence[TimedeltaLike], slice]

SEC_PER_DAY = 24 * 3600
_AVG_DAY_PER_YEAR = 365.24219
AVG_SEC_PER_YEAR = SEC_PER_DAY * _AVG_DAY_PER_YEAR

DAY_PROGRESS = "day_progress"
YEAR_PROGRESS = "year_progress"
TISR = "toa_incident_solar_radiation"
_DERIVED_VARS = {f"{p}{s}" for p in (DAY_PROGRESS, YEAR_PROGRESS) for s in ("", "_sin", "_cos")}


def get_year_progress(seconds_since_epoch: np.ndarray) -> np.ndarray:
    """The fraction of the (average, 365.24219-day) year elapsed at each time, in [0, 1),
    as float32."""
    years = seconds_since_epoch / SEC_PER_DAY / np.float64(_AVG_DAY_PER_YEAR)
    return np.mod(years, 1.0).astype(np.float32)


def get_day_progress(seconds_since_epoch: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    """The fraction of the local solar day elapsed at each time (leading axes) and longitude
    (last axis, degrees), in [0, 1), as float32."""
    at_greenwich = np.mod(seconds_since_epoch, SEC_PER_DAY) / SEC_PER_DAY
    offsets = np.deg2rad(longitude) / (2 * np.pi)
    return np.mod(at_greenwich[..., np.newaxis] + offsets, 1.0).astype(np.float32)


def featurize_progress(name: str, dims: Sequence[str], progress: np.ndarray) -> Mapping[str, xr.Variable]:
    """``name``, ``name_sin`` and ``name_cos``: the progress and the sine and cosine of its
    phase, as variables over ``dims``."""
    if len(dims) != progress.ndim:
        raise ValueError(
            f"{name}: {len(dims)} dimensions {tuple(dims)} for progress values of "
            f"{progress.ndim} dimensions"
        )
    phase = progress * (2 * np.pi)
    return {
        name: xr.Variable(dims, progress),
        f"{name}_sin": xr.Variable(dims, np.sin(phase)),
        f"{name}_cos": xr.Variable(dims, np.cos(phase)),
    }


def get_seconds_since_epoch(datetime_sequence: xr.DataArray) -> np.ndarray:
    """Whole seconds since 1970-01-01 of a ``datetime`` coordinate, as int64."""
    return datetime_sequence.data.astype("datetime64[s]").astype(np.int64)


def _require_coords(data: xr.Dataset, names: Sequence[str], what: str) -> None:
    missing = [c for c in names if c not in data.coords]
    if missing:
        raise ValueError(
            f"{what}: the dataset has no {', '.join(missing)} coordinate (computing it needs "
            f"{', '.join(names)})"
        )


def add_derived_vars(data: xr.Dataset) -> None:
    """Adds the year and day progress features (each with its sine and cosine) to ``data``,
    in place, unless present; computed from the ``datetime`` and ``lon`` coordinates."""
    _require_coords(data, ("datetime", "lon"), "the progress features")
    seconds = get_seconds_since_epoch(data.coords["datetime"])
    batch = ("batch",) if "batch" in data.dims else ()
    if YEAR_PROGRESS not in data.data_vars:
        data.update(featurize_progress(YEAR_PROGRESS, batch + ("time",), get_year_progress(seconds)))
    if DAY_PROGRESS not in data.data_vars:
        lon = data.coords["lon"]
        progress = get_day_progress(seconds, lon.data)
        data.update(featurize_progress(DAY_PROGRESS, batch + ("time",) + lon.dims, progress))


def add_tisr_var(data: xr.Dataset) -> None:
    """Adds ``toa_incident_solar_radiation`` (J m⁻² over the hour ending at each
    ``datetime``) to ``data``, in place, unless present, as the engine computes it."""
    if TISR in data.data_vars:
        return
    _require_coords(data, ("datetime", "lat", "lon"), TISR)
    single = data.squeeze("batch") if "batch" in data.dims else data
    for dim in ("lat", "lon"):
        if dim not in single.dims:
            raise ValueError(f"{TISR}: the dataset has no `{dim}` dimension")
    datetime = single.coords["datetime"]
    timed = "time" in single.dims
    if timed and datetime.dims != ("time",):
        raise ValueError(f"{TISR}: expected `datetime` over (time), found {datetime.dims}")
    stamps = np.atleast_1d(datetime.data).astype("datetime64[ns]").astype(np.int64)
    lat = np.ascontiguousarray(single.coords["lat"].data, dtype=np.float32)
    lon = np.ascontiguousarray(single.coords["lon"].data, dtype=np.float32)
    values = _gencast_rs.toa_incident_solar_radiation([int(t) for t in stamps], lat, lon)
    values = values.reshape(len(stamps), len(lat), len(lon))
    tisr = xr.DataArray(values, dims=("time", "lat", "lon")) if timed else xr.DataArray(values[0], dims=("lat", "lon"))
    # The coordinates that still fit the result, as the reference keeps them.
    for name, coord in single.coords.items():
        if set(coord.dims) <= set(tisr.dims):
            tisr.coords[name] = coord
    if "batch" in data.dims:
        tisr = tisr.expand_dims("batch", axis=0)
    data.update({TISR: tisr})


def _lead_times(target_lead_times: TargetLeadTimes) -> Tuple[Any, pd.Timedelta]:
    """The lead times to select (a slice, or a sorted list of Timedeltas) and the last one."""
    if isinstance(target_lead_times, slice):
        if target_lead_times.start is None:
            # Lead time 0 is the last input: an open start means the first frame after it.
            target_lead_times = slice(pd.Timedelta(1, "ns"), target_lead_times.stop, target_lead_times.step)
        return target_lead_times, pd.Timedelta(target_lead_times.stop)
    if not isinstance(target_lead_times, (list, tuple, set)):
        target_lead_times = [target_lead_times]
    times = sorted(pd.Timedelta(t) for t in target_lead_times)
    return times, times[-1]


def extract_input_target_times(
    dataset: xr.Dataset,
    input_duration: TimedeltaLike,
    target_lead_times: TargetLeadTimes,
) -> Tuple[xr.Dataset, xr.Dataset]:
    """Splits ``dataset`` along ``time`` into inputs (the ``input_duration`` up to and
    including lead time 0) and targets (``target_lead_times``: one lead time, a sequence, or
    an inclusive slice), with ``time`` turned into lead times from the last input frame."""
    selection, last = _lead_times(target_lead_times)
    time = dataset.coords["time"]
    dataset = dataset.assign_coords(time=time + last - time[-1])
    targets = dataset.sel({"time": selection})
    duration = pd.Timedelta(input_duration)
    # Label slices include both ends; one nanosecond leaves out the frame `duration` back.
    inputs = dataset.sel({"time": slice(-duration + pd.Timedelta(1, "ns"), pd.Timedelta(0))})
    return inputs, targets


def extract_inputs_targets_forcings(
    dataset: xr.Dataset,
    *,
    input_variables: Tuple[str, ...],
    target_variables: Tuple[str, ...],
    forcing_variables: Tuple[str, ...],
    pressure_levels: Tuple[int, ...],
    input_duration: TimedeltaLike,
    target_lead_times: TargetLeadTimes,
) -> Tuple[xr.Dataset, xr.Dataset, xr.Dataset]:
    """The inputs, targets and forcings of a forecast from an example dataset (with ``time``
    offsets and a ``datetime`` coordinate), as the reference's function of this name returns
    them: ``pressure_levels`` selected, the progress features and TOA radiation that
    ``forcing_variables`` need computed when absent, ``datetime`` dropped, and ``time``
    holding lead times from the last input frame. The forcings share the targets' times."""
    dataset = dataset.sel(level=list(pressure_levels))
    forcing = set(forcing_variables)
    if forcing & _DERIVED_VARS:
        add_derived_vars(dataset)
    if TISR in forcing:
        add_tisr_var(dataset)
    # Absolute times would go stale in an autoregressive rollout; lead times remain.
    dataset = dataset.drop_vars("datetime")
    inputs, targets = extract_input_target_times(
        dataset, input_duration=input_duration, target_lead_times=target_lead_times
    )
    if forcing & set(target_variables):
        raise ValueError(
            f"forcing_variables {tuple(forcing_variables)} and target_variables "
            f"{tuple(target_variables)} overlap in {sorted(forcing & set(target_variables))}"
        )
    return (
        inputs[list(input_variables)],
        targets[list(target_variables)],
        targets[list(forcing_variables)],
    )
