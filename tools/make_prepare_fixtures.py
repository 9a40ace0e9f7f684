"""Makes the `gencast prepare` source fixtures from the tiny-mha example dataset.

Each fixture is the example dataset put through the inverse of a conversion `prepare` does, so
that preparing it must give back the example's input frames:

- `cds-single-levels.nc`: CDS layout: `valid_time` (seconds since 1970), `latitude` 90..-90,
  `longitude` -180..170, short names `t2m u10 v10 msl sst`.
- `cds-precipitation.nc`: `tp` as hourly accumulations over the 36 hours ending at the last
  frame; each 12-hour total is split into 12 float32 parts whose float64 sum is exactly the total.
- `cds-pressure-levels.nc`: `t z u v w q` on `pressure_level` in CDS order (1000 ... 50 hPa)
  plus 975 hPa (not a model level, filled with the 1000 hPa values), which must be dropped.
- `cds-static.nc`: `z` (surface geopotential) and `lsm` with one `valid_time`, as CDS delivers
  the invariant fields.
- `wb2.zarr`: a WeatherBench-2 / ARCO-ERA5 style Zarr v2 store (see `make_wb2_zarr`).

Run with a Python that has xarray, netCDF4, numpy, zarr (3.x, writing format 2) and numcodecs:
    python tools/make_prepare_fixtures.py
"""
import os

import numpy as np
import xarray as xr

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "crates", "gencast", "tests", "fixtures")
SRC = os.path.join(ROOT, "tiny-mha", "source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc")
OUT = os.path.join(ROOT, "prepare")

SURFACE = {"2m_temperature": "t2m", "10m_u_component_of_wind": "u10",
           "10m_v_component_of_wind": "v10", "mean_sea_level_pressure": "msl",
           "sea_surface_temperature": "sst"}
LEVEL = {"temperature": "t", "geopotential": "z", "u_component_of_wind": "u",
         "v_component_of_wind": "v", "vertical_velocity": "w", "specific_humidity": "q"}
ENC = {"zlib": True, "complevel": 4}


def cds_grid(da):
    """Example grid (lat ascending, lon 0..350) to CDS (latitude descending, lon -180..170)."""
    da = da.rename({"lat": "latitude", "lon": "longitude"}).isel(latitude=slice(None, None, -1))
    lon = da.longitude.values
    da = da.roll(longitude=len(lon) // 2, roll_coords=True)
    return da.assign_coords(longitude=((da.longitude.values + 180.0) % 360.0) - 180.0)


def time_coord(ds, values):
    return ds.assign_coords(valid_time=("valid_time", values))


def encode_times(ds):
    enc = {"valid_time": {"units": "seconds since 1970-01-01", "dtype": "int64",
                          "calendar": "proleptic_gregorian"}}
    return enc


def main():
    os.makedirs(OUT, exist_ok=True)
    # Three frames: enough for two different init times, and a smaller fixture.
    ex = xr.open_dataset(SRC).isel(batch=0, time=slice(0, 3))
    times = ex.datetime.values
    ex = ex.drop_vars("datetime").rename({"time": "valid_time"}).assign_coords(valid_time=times)

    single = xr.Dataset({short: cds_grid(ex[name]) for name, short in SURFACE.items()})
    single.to_netcdf(os.path.join(OUT, "cds-single-levels.nc"),
                     encoding={**encode_times(single), **{v: ENC for v in single.data_vars}})

    levels = xr.Dataset({short: cds_grid(ex[name]) for name, short in LEVEL.items()})
    levels = levels.rename({"level": "pressure_level"})
    extra = levels.sel(pressure_level=[1000]).assign_coords(pressure_level=[975])
    levels = xr.concat([levels, extra], dim="pressure_level").sortby("pressure_level", ascending=False)
    levels = levels.transpose("valid_time", "pressure_level", "latitude", "longitude")
    levels.to_netcdf(os.path.join(OUT, "cds-pressure-levels.nc"),
                     encoding={**encode_times(levels), **{v: ENC for v in levels.data_vars}})

    tp12 = cds_grid(ex["total_precipitation_12hr"]).values.astype(np.float32)
    hourly, hours = [], []
    for k, t in enumerate(times):
        p = (tp12[k] / np.float32(12)).astype(np.float32)
        last = (tp12[k].astype(np.float64) - 11 * p.astype(np.float64)).astype(np.float32)
        assert np.array_equal((11 * p.astype(np.float64) + last.astype(np.float64)).astype(np.float32), tp12[k])
        for h in range(11, -1, -1):
            hours.append(t - np.timedelta64(h, "h"))
            hourly.append(last if h == 0 else p)
    # Frames are 12 h apart, so the hours of consecutive frames do not overlap.
    tp = xr.Dataset({"tp": (("valid_time", "latitude", "longitude"), np.stack(hourly))},
                    coords={"valid_time": np.array(hours), "latitude": single.latitude,
                            "longitude": single.longitude})
    tp.tp.attrs["units"] = "m"
    tp.to_netcdf(os.path.join(OUT, "cds-precipitation.nc"),
                 encoding={**encode_times(tp), "tp": ENC})

    static = xr.Dataset({"z": cds_grid(ex["geopotential_at_surface"]),
                         "lsm": cds_grid(ex["land_sea_mask"])})
    static = static.expand_dims(valid_time=[np.datetime64("1940-01-01T00:00", "ns")])
    static.to_netcdf(os.path.join(OUT, "cds-static.nc"),
                     encoding={**encode_times(static), **{v: ENC for v in static.data_vars}})


def make_wb2_zarr():
    """`wb2.zarr`: a WeatherBench-2 / ARCO-ERA5 style Zarr v2 store with consolidated metadata:
    long names, `latitude` 90..-90, `longitude` 0..350, `level`, absolute `time` (hours since
    1970), hourly `total_precipitation`, statics without time, and some variables stored with
    their dimensions in another order. Chunks are Blosc-compressed: LZ4 with byte shuffle for
    some variables, zstd with bit shuffle for the others. The hourly precipitation of each 12 h
    total is put in the last 6 hours, so the first 6 hours of each total are all zero and, zero
    being the fill value, their chunks are not written (they must read as the fill value).
    """
    import numcodecs
    import zarr

    ex = xr.open_dataset(SRC).isel(batch=0, time=slice(0, 3))
    times = ex.datetime.values
    ex = ex.drop_vars("datetime").assign_coords(time=times)
    ex = ex.rename({"lat": "latitude", "lon": "longitude"}).isel(latitude=slice(None, None, -1))
    out = xr.Dataset()
    for name in list(SURFACE) + list(LEVEL) + ["geopotential_at_surface", "land_sea_mask"]:
        out[name] = ex[name]
    # Other dimension orders than (time, level, latitude, longitude).
    out["temperature"] = out["temperature"].transpose("level", "time", "longitude", "latitude")
    out["2m_temperature"] = out["2m_temperature"].transpose("latitude", "longitude", "time")

    tp12 = ex["total_precipitation_12hr"].values.astype(np.float32)
    hourly, hours = [], []
    for k, t in enumerate(times):
        p = (tp12[k] / np.float32(6)).astype(np.float32)
        last = (tp12[k].astype(np.float64) - 5 * p.astype(np.float64)).astype(np.float32)
        assert np.array_equal((5 * p.astype(np.float64) + last.astype(np.float64)).astype(np.float32), tp12[k])
        for h in range(11, -1, -1):
            hours.append(t - np.timedelta64(h, "h"))
            hourly.append(np.zeros_like(p) if h >= 6 else (last if h == 0 else p))
    precip = xr.DataArray(np.stack(hourly), dims=("time", "latitude", "longitude"),
                          coords={"time": np.array(hours)})
    out = xr.merge([out, precip.rename("total_precipitation").to_dataset()], join="outer")
    lz4 = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)
    zstd = numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.BITSHUFFLE)
    enc = {"time": {"units": "hours since 1970-01-01", "dtype": "int64"}}
    for i, v in enumerate(out.data_vars):
        da = out[v]
        chunks = tuple(1 if d in ("time", "level") else n for d, n in zip(da.dims, da.shape))
        enc[v] = {"compressors": (lz4 if i % 2 == 0 else zstd,), "chunks": chunks}
        if v == "total_precipitation":
            enc[v]["_FillValue"] = 0.0
    path = os.path.join(OUT, "wb2.zarr")
    import shutil
    shutil.rmtree(path, ignore_errors=True)
    # Only the hours of the precipitation are on the hourly axis; the other variables are NaN
    # there after the merge, and are cut back to their own frames by `prepare`.
    out.to_zarr(path, encoding=enc, consolidated=True, zarr_format=2,
                write_empty_chunks=False)


if __name__ == "__main__":
    main()
    make_wb2_zarr()
