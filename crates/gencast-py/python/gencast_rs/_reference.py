"""Argument checks and the conversions between the reference notebook's xarray objects and the
engine's inputs and outputs.

The reference's ``data_utils.extract_inputs_targets_forcings`` drops the ``datetime``
coordinate, keeping only lead times. The engine computes the progress forcings from absolute
times, so when no ``datetime`` is given the initialisation time is recovered from the progress
features the inputs and forcings carry (they determine it to within a second over 1700-2300),
and checked by recomputing every feature from it.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Iterator, List, Optional, Tuple

import numpy as np
import xarray as xr

from . import data_utils
from ._gencast_rs import GencastError
from ._stats import STATS_NAMES  # noqa: F401  (the names' former home)

#: Hours per GenCast step.
STEP_HOURS = 12

#: The most steps one call may compute.
MAX_STEPS = 10_000

# data_utils' progress constants.
_SEC_PER_DAY = 86_400
_AVG_SEC_PER_YEAR = _SEC_PER_DAY * 365.24219

# Years searched when recovering an initialisation time from progress features.
_YEARS = range(1700 - 1970, 2300 - 1970)

# The progress features match when recomputed from the recovered time: they are float32 sines
# and cosines, so a recovered time off by a second changes them by at most ~2e-7.
_FEATURE_TOLERANCE = 1e-5


def whole(name: str, value: Any, minimum: Optional[int]) -> int:
    """``value`` as an int, refusing non-integers and values below ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise GencastError(f"{name} must be a whole number, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise GencastError(f"{name} must be at least {minimum}, got {value}")
    if not -(2**63) <= value < 2**63:
        raise GencastError(f"{name} {value} does not fit in 64 bits")
    if minimum is not None and value >= 2**31:
        raise GencastError(f"{name} {value} is too large")
    return value


def _hours(value: Any) -> float:
    """Hours of a lead time: ``"360h"``, ``"15d"``, a number of hours, or a timedelta."""
    if isinstance(value, str):
        t = value.strip()
        mult = 24 if t.endswith("d") else 1
        t = t[:-1] if t[-1:] in ("d", "h") else t
        return float(t) * mult
    if isinstance(value, _dt.timedelta):
        return value.total_seconds() / 3600
    if isinstance(value, np.timedelta64):
        return value / np.timedelta64(1, "h")
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    raise TypeError


def steps_of(steps: Any, lead_time: Any, step_hours: int = STEP_HOURS) -> int:
    """The number of ``step_hours`` steps asked for by ``steps`` or ``lead_time`` (default 1)."""
    if steps is not None and lead_time is not None:
        raise GencastError("give steps or lead_time, not both")
    if steps is not None:
        n = whole("steps", steps, 1)
    elif lead_time is not None:
        try:
            hours = _hours(lead_time)
        except (TypeError, ValueError):
            raise GencastError(
                f"lead_time {lead_time!r}: expected e.g. '360h', '15d' or a timedelta"
            ) from None
        if not hours > 0 or hours % step_hours != 0:
            raise GencastError(
                f"lead_time {lead_time!r} must be a positive multiple of {step_hours}h"
            )
        n = int(hours // step_hours)
    else:
        n = 1
    if n > MAX_STEPS:
        raise GencastError(f"{n} steps is more than the {MAX_STEPS} steps one run may compute")
    return n


def _progress_features(seconds: np.ndarray, lon: np.ndarray) -> dict:
    """The reference's progress features (data_utils) at ``seconds`` since the epoch."""
    seconds = np.asarray(seconds, dtype=np.int64)
    lon = np.asarray(lon, dtype=np.float64)
    out = {}
    for name, p in (
        ("year_progress", data_utils.get_year_progress(seconds)),
        ("day_progress", data_utils.get_day_progress(seconds, lon)),
    ):
        for k, v in data_utils.featurize_progress(name, [f"d{i}" for i in range(p.ndim)], p).items():
            if k != name:
                out[k] = v.values
    return out


def _phase(ds: xr.Dataset, name: str, index: Any) -> float:
    """The progress (0..1) whose sine and cosine ``ds`` holds, at ``index``."""
    s = float(np.asarray(ds[name + "_sin"].isel(index)).reshape(-1)[0])
    c = float(np.asarray(ds[name + "_cos"].isel(index)).reshape(-1)[0])
    return (np.arctan2(s, c) / (2 * np.pi)) % 1.0


def _recover_seconds(inputs: xr.Dataset) -> Iterator[int]:
    """Candidate seconds since the epoch of the last input frame, from its progress
    features (whole minutes first)."""
    needed = [f"{p}_{f}" for p in ("year_progress", "day_progress") for f in ("sin", "cos")]
    missing = [n for n in needed if n not in inputs]
    if missing:
        raise GencastError(
            "inputs have no datetime coordinate and no progress features to recover the "
            f"initialisation time from (missing {', '.join(missing)}); add a datetime "
            "coordinate (batch, time)"
        )
    last = {"time": -1}
    if "batch" in inputs["year_progress_sin"].dims:
        last["batch"] = 0
    year = _phase(inputs, "year_progress", last)
    lon = np.asarray(inputs["lon"].values, dtype=np.float64)
    day_at_lon0 = _phase(inputs, "day_progress", {**last, "lon": 0})
    day = (day_at_lon0 - lon[0] / 360.0) % 1.0
    day_seconds = day * _SEC_PER_DAY
    best = None
    for k in _YEARS:
        t = (year + k) * _AVG_SEC_PER_YEAR
        off = (day_seconds - t) % _SEC_PER_DAY
        off = off - _SEC_PER_DAY if off > _SEC_PER_DAY / 2 else off
        if best is None or abs(off) < abs(best[1]):
            best = (t, off)
    t = best[0] + best[1]
    # Whole minutes when the features allow it (datasets are hourly), else whole seconds.
    for unit in (60, 1):
        yield int(round(t / unit)) * unit


def _time_hours(ds: xr.Dataset, what: str) -> np.ndarray:
    """The ``time`` coordinate of ``ds`` in hours."""
    if "time" not in ds.coords:
        raise GencastError(f"{what}: no time coordinate")
    t = ds.coords["time"].values
    if not np.issubdtype(t.dtype, np.timedelta64):
        raise GencastError(f"{what}: time must be lead times (timedelta64), got {t.dtype}")
    return t / np.timedelta64(1, "h")


def input_dataset(
    inputs: xr.Dataset,
    targets_template: xr.Dataset,
    forcings: Optional[xr.Dataset],
    outputs: List[Tuple[str, List[int]]],
    step_hours: int = STEP_HOURS,
) -> Tuple[xr.Dataset, int]:
    """The engine's dataset (two input frames ``step_hours`` apart with a ``datetime``
    coordinate) and the number of steps, from what ``extract_inputs_targets_forcings``
    returns."""
    for what, ds in (("inputs", inputs), ("targets_template", targets_template)):
        if not isinstance(ds, xr.Dataset):
            raise GencastError(f"{what}: expected an xarray.Dataset, got {type(ds).__name__}")
    if forcings is not None and not isinstance(forcings, xr.Dataset):
        raise GencastError(f"forcings: expected an xarray.Dataset, got {type(forcings).__name__}")
    if "sample" in inputs.dims:
        raise GencastError("inputs: a `sample` dimension (one input per member) is not supported")
    in_hours = _time_hours(inputs, "inputs")
    out_hours = _time_hours(targets_template, "targets_template")
    if len(in_hours) != 2 or in_hours[1] - in_hours[0] != step_hours:
        raise GencastError(
            f"inputs: expected two frames {step_hours} h apart, got time {list(in_hours)} h"
        )
    expected = in_hours[-1] + step_hours * np.arange(1, len(out_hours) + 1)
    if len(out_hours) == 0 or not np.array_equal(out_hours, expected):
        raise GencastError(
            f"targets_template: expected lead times {list(expected)} h ({step_hours}-hourly after "
            f"the inputs), got {list(out_hours)} h"
        )
    if forcings is not None:
        have = _time_hours(forcings, "forcings")
        if not np.array_equal(have, out_hours):
            raise GencastError(
                f"forcings: expected the lead times of targets_template {list(out_hours)} h, "
                f"got {list(have)} h"
            )
    if inputs.sizes.get("batch", 1) != 1:
        raise GencastError(f"inputs: batch of {inputs.sizes['batch']}; give one initialisation at a time")
    names = {n for n, _ in outputs}
    asked = set(targets_template.data_vars)
    if asked != names:
        missing, extra = sorted(names - asked), sorted(asked - names)
        raise GencastError(
            "targets_template: the model predicts "
            + ", ".join(sorted(names))
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; not predicted: {', '.join(extra)}" if extra else "")
        )
    for c in ("lat", "lon"):
        if c not in inputs.coords or c not in targets_template.coords:
            raise GencastError(f"inputs and targets_template need a `{c}` coordinate")
        if not np.array_equal(inputs[c].values, targets_template[c].values):
            raise GencastError(f"inputs and targets_template have different `{c}` coordinates")

    init_seconds = _init_seconds(inputs, targets_template, forcings, in_hours, out_hours)
    first = np.datetime64(int(init_seconds) - step_hours * 3600, "s").astype("datetime64[ns]")
    times = np.array([0, step_hours], dtype="timedelta64[h]").astype("timedelta64[ns]")
    ds = inputs.drop_vars([c for c in ("datetime",) if c in inputs.coords])
    ds = ds.assign_coords(time=times)
    if "batch" not in ds.dims:
        ds = ds.expand_dims("batch")
    ds = ds.assign_coords(datetime=(("batch", "time"), (first + times)[None]))
    return ds, len(out_hours)


def _init_seconds(inputs, targets_template, forcings, in_hours, out_hours) -> int:
    """Seconds since the epoch of the last input frame."""
    for what, ds, hours in (
        ("inputs", inputs, in_hours),
        ("targets_template", targets_template, out_hours),
        ("forcings", forcings, out_hours),
    ):
        if ds is not None and "datetime" in ds.coords:
            dt = np.asarray(ds.coords["datetime"].values).reshape(-1)[0]
            s = int(np.datetime64(dt, "s").astype(np.int64))
            s -= int(round((hours[0] - in_hours[-1]) * 3600))
            # The engine computes the progress forcings from the times: given ones must agree.
            if forcings is not None and not _features_match(
                forcings, (s + (out_hours - in_hours[-1]) * 3600).astype(np.int64), inputs["lon"].values
            ):
                raise GencastError(
                    f"forcings: the progress features are not those of the times the {what} "
                    "datetime coordinate gives; the engine computes them from the times"
                )
            return s
    lon = inputs["lon"].values
    for candidate in _recover_seconds(inputs):
        seconds_in = candidate + (in_hours - in_hours[-1]) * 3600
        ok = _features_match(inputs, seconds_in.astype(np.int64), lon)
        if ok and forcings is not None:
            seconds_out = candidate + (out_hours - in_hours[-1]) * 3600
            ok = _features_match(forcings, seconds_out.astype(np.int64), lon)
        if ok:
            return candidate
    raise GencastError(
        "inputs have no datetime coordinate and their progress features match no "
        "initialisation time between 1700 and 2300; add a datetime coordinate (batch, time)"
    )


def _features_match(ds: xr.Dataset, seconds: np.ndarray, lon) -> bool:
    """Whether the progress features of ``ds`` (if any) are those of the times ``seconds``."""
    want = _progress_features(seconds, lon)
    for name, values in want.items():
        if name not in ds:
            continue
        dims = ["time"] + (["lon"] if name.startswith("day") else [])
        da = ds[name]
        if "batch" in da.dims:
            da = da.isel(batch=0)
        have = np.asarray(da.transpose(*dims).values, dtype=np.float64)
        if have.shape != values.shape or not np.allclose(have, values, atol=_FEATURE_TOLERANCE, rtol=0):
            return False
    return True


def chunk_dataset(
    template: xr.Dataset, outputs: List[Tuple[str, List[int]]], member: int, step: int, fields: dict
) -> xr.Dataset:
    """One (member, step) chunk in the reference rollout's layout: the template's dims for one
    lead time, with a leading ``sample`` dim."""
    levels = dict(outputs)
    one = template.isel(time=slice(step, step + 1))
    data = {}
    for name in template.data_vars:
        t = one[name]
        lv = levels[name]
        shape = ([len(lv)] if lv else []) + [template.sizes["lat"], template.sizes["lon"]]
        dims = (["level"] if lv else []) + ["lat", "lon"]
        arr = np.asarray(fields[name]).reshape(shape)
        da = xr.DataArray(arr, dims=dims, coords={"level": np.asarray(lv)} if lv else None)
        if lv:
            da = da.sel(level=t["level"].values).drop_vars("level")
        for d in t.dims:
            if d not in da.dims:
                da = da.expand_dims({d: t.sizes[d]})
        da = da.transpose(*t.dims).expand_dims(sample=1)
        data[name] = da
    coords = {c: one.coords[c] for c in one.coords}
    out = xr.Dataset(data, coords=coords)
    return out.assign_coords(sample=np.array([member], dtype=np.int64))
