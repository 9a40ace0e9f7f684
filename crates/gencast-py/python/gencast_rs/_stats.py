"""Normalisation statistics given as ``xarray.Dataset``s: by name (a mapping) or as a
sequence, whose datasets are told apart by what they hold.

A sequence may come in any order (the GenCast notebook loads them as diffs, mean, stddev,
min). Each dataset is recognised by two things every GenCast and GraphCast statistics set has:
``diffs_stddev_by_level`` has no static fields (``land_sea_mask``, ``geopotential_at_surface``:
they have no time differences), and ``day_progress_sin``, the sine of a phase uniform over the
day, has mean 0, standard deviation 1/√2 and minimum -1 (its time differences have another
standard deviation). A sequence that cannot be told apart this way is taken in the documented
order, which the error messages name.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np
import xarray as xr

from ._gencast_rs import GencastError

#: The statistics files of a model, without ``.nc``, in the order a sequence is read.
STATS_NAMES = ("mean_by_level", "stddev_by_level", "diffs_stddev_by_level", "min_by_level")

_ORDER = ", ".join(STATS_NAMES)
_STATICS = ("land_sea_mask", "geopotential_at_surface")
_SIGNATURE = "day_progress_sin"
# The exact values of a uniform phase's sine statistics, and how far a finite sample of
# times (the statistics are computed over a few decades of hourly data) may stray from them.
_SIGNATURE_VALUES = {"mean_by_level": 0.0, "stddev_by_level": 2**-0.5, "min_by_level": -1.0}
_SIGNATURE_TOLERANCE = 0.02


def entries(name: str, ds: xr.Dataset) -> tuple:
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


def _recognise(ds: xr.Dataset, others: Sequence[xr.Dataset]) -> Optional[str]:
    """The name of the statistics ``ds`` holds, when its content tells."""
    if any(s in o for o in others for s in _STATICS) and not any(s in ds for s in _STATICS):
        return "diffs_stddev_by_level"
    if _SIGNATURE not in ds or ds[_SIGNATURE].size != 1:
        return None
    value = float(np.asarray(ds[_SIGNATURE].values).reshape(-1)[0])
    for name, expected in _SIGNATURE_VALUES.items():
        if abs(value - expected) <= _SIGNATURE_TOLERANCE:
            return name
    return "diffs_stddev_by_level"


def _from_sequence(stats: Sequence[Any]) -> Dict[str, Any]:
    """The datasets of a sequence by name: recognised by content, else in the documented
    order."""
    if len(stats) not in (3, 4):
        raise GencastError(
            f"stats: expected 4 datasets ({_ORDER}; GraphCast: the first 3), got {len(stats)}"
        )
    if not all(isinstance(ds, xr.Dataset) for ds in stats):
        return dict(zip(STATS_NAMES, stats))
    names: List[Optional[str]] = [
        _recognise(ds, [o for o in stats if o is not ds]) for ds in stats
    ]
    if None in names:
        # Nothing to tell them apart by: the documented order.
        return dict(zip(STATS_NAMES, stats))
    if len(set(names)) != len(names) or (len(names) == 3 and "min_by_level" in names):
        raise GencastError(
            f"stats: could not tell the {len(stats)} datasets apart (they look like "
            f"{', '.join(names)}); give them in the order {_ORDER} (GraphCast: the first 3), "
            "or as a dict keyed by these names"
        )
    return dict(zip(names, stats))


def datasets(stats: Any) -> Dict[str, xr.Dataset]:
    """The statistics datasets by name, from a mapping or a sequence."""
    if isinstance(stats, Mapping):
        found = {str(k).removesuffix(".nc"): v for k, v in stats.items()}
        unknown = sorted(set(found) - set(STATS_NAMES))
        # GraphCast has no min_by_level; the engine names what a model lacks.
        missing = [n for n in STATS_NAMES[:3] if n not in found]
        if unknown or missing:
            raise GencastError(
                f"stats: expected the datasets {_ORDER}; "
                + (f"missing {', '.join(missing)}" if missing else "")
                + ("; " if missing and unknown else "")
                + (f"unknown {', '.join(unknown)}" if unknown else "")
            )
    elif isinstance(stats, Sequence) and not isinstance(stats, (str, bytes)):
        found = _from_sequence(stats)
    else:
        raise GencastError(
            "stats: expected a folder path, a dict of the statistics xarray.Datasets keyed "
            f"{_ORDER}, or a list of them, got {type(stats).__name__}"
        )
    for name, ds in found.items():
        if not isinstance(ds, xr.Dataset):
            raise GencastError(f"stats {name}: expected an xarray.Dataset, got {type(ds).__name__}")
    return found
