"""Makes the GRIB `gencast prepare` source fixtures from the tiny-mha example dataset.

Each file holds the example's first two frames (init time 2019-03-29T12:00) put through the
inverse of a conversion `prepare` does, encoded with ecCodes:

- `era5-single-levels.grib2`: `2t 10u 10v msl sst` as GRIB2 analyses, simple packing, 24 bits per
  value, scanned north to south (ecCodes' default), longitudes 0..350. SST is missing over land
  (bitmap).
- `era5-pressure-levels-ccsds.grib2`: `t z u v w q` on the 13 isobaric levels (in Pa), CCSDS/AEC
  packing, 24 bits per value.
- `era5-precipitation-complex.grib2`: `tp` (metres) as hourly accumulations from forecasts started
  at 06 and 18 UTC (steps 1..12, as ERA5 GRIB delivers it), so valid time = reference time + end
  step; complex packing with spatial differencing, 24 bits per value. Each 12-hour total is split
  into 12 parts as in make_prepare_fixtures.py; the parts are not exact after packing.
- `era5-ieee.grib2`: all of the above (precipitation as one-hour forecasts, step 0-1) in IEEE
  32-bit packing, which holds float32 values exactly: preparing it gives the example bit for bit.
- `jpeg2000.grib2` (one `2t` field in JPEG 2000 packing) and `unknown-parameter.grib2`
  (total precipitation in kg m-2, ecCodes paramId 228228, which it encodes as WMO 0/1/52 and
  the table does not map), `tp-mixed-periods.grib2` (steps 0-6 and 0-12 of one run): for the
  refusals.
- `era5-static.grib1`: surface `z` and `lsm` in GRIB edition 1, simple packing, 24 bits per value,
  scanned south to north with longitudes -180..170.

Run with a Python that has `eccodes` (the wheel bundles the library), xarray and netCDF4:
    python tools/make_grib_fixtures.py
"""
import os

import eccodes
import numpy as np
import xarray as xr

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "crates", "gencast", "tests", "fixtures")
SRC = os.path.join(ROOT, "tiny-mha", "source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc")
OUT = os.path.join(ROOT, "prepare")

SURFACE = {"2m_temperature": "2t", "10m_u_component_of_wind": "10u",
           "10m_v_component_of_wind": "10v", "mean_sea_level_pressure": "msl",
           "sea_surface_temperature": "sst"}
LEVEL = {"temperature": "t", "geopotential": "z", "u_component_of_wind": "u",
         "v_component_of_wind": "v", "vertical_velocity": "w", "specific_humidity": "q"}
BITS = 24
MISSING = 9999.0


def param(short):
    # ecCodes encodes the shortName `sst` in a local ECMWF table; paramId 34 is the WMO
    # oceanographic 10/3/0 that ECMWF's own GRIB2 products use.
    return {"paramId": 34} if short == "sst" else {"shortName": short}


def date_time(t):
    t = np.datetime64(t, "m").astype(object)
    return int(t.strftime("%Y%m%d")), int(t.strftime("%H%M"))


def grid_keys(south_to_north=False, lon_from=0.0):
    lat0, lat1 = (-90.0, 90.0) if south_to_north else (90.0, -90.0)
    return {
        "Ni": 36, "Nj": 19, "iDirectionIncrementInDegrees": 10.0,
        "jDirectionIncrementInDegrees": 10.0, "jScansPositively": 1 if south_to_north else 0,
        "latitudeOfFirstGridPointInDegrees": lat0, "latitudeOfLastGridPointInDegrees": lat1,
        "longitudeOfFirstGridPointInDegrees": lon_from,
        "longitudeOfLastGridPointInDegrees": lon_from + 350.0,
    }


def to_grib_order(field, south_to_north=False, lon_from=0.0):
    """(lat ascending, lon 0..350) to the GRIB scan order of `grid_keys`."""
    f = np.asarray(field, dtype=np.float64)
    if not south_to_north:
        f = f[::-1]
    if lon_from < 0:
        f = np.roll(f, 18, axis=1)
    return f


def write(out, sample, keys, packing, values, grid=None, bits=BITS):
    grid = grid or {}
    h = eccodes.codes_grib_new_from_samples(sample)
    for k, v in grid_keys(**grid).items():
        eccodes.codes_set(h, k, v)
    for k, v in keys.items():
        eccodes.codes_set(h, k, v)
    vals = to_grib_order(values, **grid)
    if np.isnan(vals).any():
        eccodes.codes_set(h, "bitmapPresent", 1)
        eccodes.codes_set(h, "missingValue", MISSING)
        vals = np.where(np.isnan(vals), MISSING, vals)
    eccodes.codes_set(h, "packingType", packing)
    eccodes.codes_set(h, "bitsPerValue", bits)
    eccodes.codes_set_values(h, vals.ravel())
    assert eccodes.codes_get(h, "packingType") == packing or np.ptp(vals) == 0, keys
    eccodes.codes_write(h, out)
    eccodes.codes_release(h)


def main():
    ex = xr.open_dataset(SRC).isel(batch=0, time=slice(0, 2))
    times = ex.datetime.values

    with open(os.path.join(OUT, "era5-single-levels.grib2"), "wb") as out:
        for k, t in enumerate(times):
            date, hhmm = date_time(t)
            for name, short in SURFACE.items():
                keys = {"dataDate": date, "dataTime": hhmm, **param(short)}
                write(out, "regular_ll_sfc_grib2", keys, "grid_simple", ex[name].values[k])

    with open(os.path.join(OUT, "era5-pressure-levels-ccsds.grib2"), "wb") as out:
        for k, t in enumerate(times):
            date, hhmm = date_time(t)
            for name, short in LEVEL.items():
                for j, level in enumerate(ex.level.values):
                    keys = {"dataDate": date, "dataTime": hhmm, "typeOfLevel": "isobaricInhPa",
                            "level": int(level), **param(short)}
                    write(out, "regular_ll_pl_grib2", keys, "grid_ccsds",
                          ex[name].values[k, j])

    # Hourly parts of each 12-hour total, by valid hour.
    tp12 = ex["total_precipitation_12hr"].values.astype(np.float32)
    hourly = {}
    for k, t in enumerate(times):
        p = (tp12[k] / np.float32(12)).astype(np.float32)
        last = (tp12[k].astype(np.float64) - 11 * p.astype(np.float64)).astype(np.float32)
        for h in range(11, -1, -1):
            hourly[t - np.timedelta64(h, "h")] = last if h == 0 else p
    with open(os.path.join(OUT, "era5-precipitation-complex.grib2"), "wb") as out:
        for valid in sorted(hourly):
            # The forecast started at the 06 or 18 UTC before `valid` (steps 1..12).
            hour = int((valid - np.datetime64(valid, "D")) / np.timedelta64(1, "h"))
            step = (hour - 6) % 12 or 12
            date, hhmm = date_time(valid - np.timedelta64(step, "h"))
            keys = {"dataDate": date, "dataTime": hhmm, "productDefinitionTemplateNumber": 8,
                    "shortName": "tp", "stepType": "accum", "stepUnits": 1,
                    "startStep": step - 1, "endStep": step}
            write(out, "regular_ll_sfc_grib2", keys, "grid_complex_spatial_differencing",
                  hourly[valid])

    # Everything again in IEEE 32-bit packing, in one file: exact float32 values.
    with open(os.path.join(OUT, "era5-ieee.grib2"), "wb") as out:
        for k, t in enumerate(times):
            date, hhmm = date_time(t)
            for name, short in SURFACE.items():
                keys = {"dataDate": date, "dataTime": hhmm, **param(short)}
                write(out, "regular_ll_sfc_grib2", keys, "grid_ieee", ex[name].values[k], bits=32)
            for name, short in LEVEL.items():
                for j, level in enumerate(ex.level.values):
                    keys = {"dataDate": date, "dataTime": hhmm, "typeOfLevel": "isobaricInhPa",
                            "level": int(level), **param(short)}
                    write(out, "regular_ll_pl_grib2", keys, "grid_ieee", ex[name].values[k, j],
                          bits=32)
        for valid in sorted(hourly):
            date, hhmm = date_time(valid - np.timedelta64(1, "h"))
            keys = {"dataDate": date, "dataTime": hhmm, "productDefinitionTemplateNumber": 8,
                    "shortName": "tp", "stepType": "accum", "stepUnits": 1,
                    "startStep": 0, "endStep": 1}
            write(out, "regular_ll_sfc_grib2", keys, "grid_ieee", hourly[valid], bits=32)
        for name, short in [("geopotential_at_surface", "z"), ("land_sea_mask", "lsm")]:
            keys = {"dataDate": 19590101, "dataTime": 0, "typeOfLevel": "surface", "level": 0,
                    **param(short)}
            write(out, "regular_ll_sfc_grib2", keys, "grid_ieee", ex[name].values, bits=32)

    # Refusals: a JPEG 2000 packed field, and a parameter of no table row.
    date, hhmm = date_time(times[0])
    with open(os.path.join(OUT, "jpeg2000.grib2"), "wb") as out:
        keys = {"dataDate": date, "dataTime": hhmm, "shortName": "2t"}
        write(out, "regular_ll_sfc_grib2", keys, "grid_jpeg", ex["2m_temperature"].values[0])
    with open(os.path.join(OUT, "unknown-parameter.grib2"), "wb") as out:
        keys = {"dataDate": date, "dataTime": hhmm, "paramId": 228228}
        write(out, "regular_ll_sfc_grib2", keys, "grid_simple", hourly[times[0]], bits=16)

    # Forecast totals since the start of one run (steps 0-6 and 0-12): periods that differ.
    with open(os.path.join(OUT, "tp-mixed-periods.grib2"), "wb") as out:
        date, hhmm = date_time(times[0])
        for end in (6, 12):
            keys = {"dataDate": date, "dataTime": hhmm, "productDefinitionTemplateNumber": 8,
                    "shortName": "tp", "stepType": "accum", "stepUnits": 1,
                    "startStep": 0, "endStep": end}
            write(out, "regular_ll_sfc_grib2", keys, "grid_simple", hourly[times[0]], bits=16)

    grid = {"south_to_north": True, "lon_from": -180.0}
    with open(os.path.join(OUT, "era5-static.grib1"), "wb") as out:
        for name, short in [("geopotential_at_surface", "z"), ("land_sea_mask", "lsm")]:
            keys = {"dataDate": 19590101, "dataTime": 0, "shortName": short,
                    "typeOfLevel": "surface", "level": 0}
            write(out, "regular_ll_sfc_grib1", keys, "grid_simple", ex[name].values, grid)


if __name__ == "__main__":
    main()
