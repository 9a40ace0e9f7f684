"""Writes `NAME.expected.json` next to source files: what `gencast sources --json` must report
for them, computed independently of gencast: GRIB with ecCodes, NetCDF with netCDF4 and Zarr
with zarr-python, each value in float64 and converted to the model's units by the table below.

Each field object has the keys of `gencast sources --json`, with `source` the file name only,
plus `step`: the decoding step of packed GRIB data in model units (0 for IEEE floats and
NetCDF/Zarr), which bounds how far two correct decoders' values may differ. An inventory of
more than KEEP_ALL rows is kept as its `count` and the rows at its last valid time.

    pip install eccodes netCDF4 numpy zarr
    python tools/make_sources_expected.py crates/gencast/tests/fixtures/prepare/era5-ieee.grib2 ...
"""
import json
import os
import sys

import numpy as np

G = 9.80665
# Source name -> model variable, for the parameters of the fixtures (ecCodes shortNames,
# CDS NetCDF names and the model's own names).
MODEL = {
    "2t": "2m_temperature", "t2m": "2m_temperature", "10u": "10m_u_component_of_wind",
    "u10": "10m_u_component_of_wind", "10v": "10m_v_component_of_wind",
    "v10": "10m_v_component_of_wind", "msl": "mean_sea_level_pressure",
    "sst": "sea_surface_temperature", "tp": "total_precipitation", "t": "temperature",
    "z": "geopotential", "u": "u_component_of_wind", "v": "v_component_of_wind",
    "w": "vertical_velocity", "q": "specific_humidity", "lsm": "land_sea_mask",
}
UNITS = {
    "2m_temperature": "K", "10m_u_component_of_wind": "m s-1",
    "10m_v_component_of_wind": "m s-1", "mean_sea_level_pressure": "Pa",
    "sea_surface_temperature": "K", "total_precipitation": "m", "temperature": "K",
    "geopotential": "m2 s-2", "geopotential_at_surface": "m2 s-2",
    "u_component_of_wind": "m s-1", "v_component_of_wind": "m s-1",
    "vertical_velocity": "Pa s-1", "specific_humidity": "kg kg-1", "land_sea_mask": "1",
    "total_precipitation_6hr": "m", "total_precipitation_12hr": "m",
}
# (units found, model units) -> (scale, offset); same spelling needs no row.
FACTORS = {
    ("m**2 s**-2", "m2 s-2"): (1, 0), ("m s**-1", "m s-1"): (1, 0),
    ("Pa s**-1", "Pa s-1"): (1, 0), ("kg kg**-1", "kg kg-1"): (1, 0),
    ("(0 - 1)", "1"): (1, 0), ("gpm", "m2 s-2"): (G, 0), ("degC", "K"): (1, 273.15),
    ("hPa", "Pa"): (100, 0), ("mm", "m"): (0.001, 0), ("kg m**-2", "m"): (0.001, 0),
}


def variable(name, has_levels):
    v = MODEL.get(name, name if name in UNITS else None)
    if v == "geopotential" and not has_levels:
        return "geopotential_at_surface"
    return v


def convert(values, found, model):
    if found is None or found == model:
        return values, 1.0
    scale, offset = FACTORS[(found, model)]
    return values * scale + offset, scale


def stats(values):
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None, None, None
    return float(finite.min()), float(finite.max()), float(finite.astype(np.float64).mean())


def row(source, message, name, var, level, time, member, units, lat, lon, values, step):
    lo, hi, mean = stats(values)
    return {"source": source, "message": message, "name": name, "variable": var,
            "level": level, "valid_time": time, "member": member, "units": units,
            "lat_min": float(np.min(lat)), "lat_max": float(np.max(lat)),
            "lon_min": float(np.min(lon)), "lon_max": float(np.max(lon)),
            "nlat": int(len(lat)), "nlon": int(len(lon)), "min": lo, "max": hi, "mean": mean,
            "step": step}


def grib(path):
    import eccodes
    fields, name = [], os.path.basename(path)
    with open(path, "rb") as fh:
        k = 0
        while True:
            m = eccodes.codes_grib_new_from_file(fh)
            if m is None:
                break
            get = lambda key: eccodes.codes_get(m, key) if eccodes.codes_is_defined(m, key) else None
            short = get("shortName")
            levels = get("typeOfLevel") == "isobaricInhPa"
            var = variable(short, levels)
            values = eccodes.codes_get_values(m).astype(np.float64)
            if get("bitmapPresent"):
                values[values == get("missingValue")] = np.nan
            units = UNITS.get(var)
            values, scale = convert(values, get("units"), units)
            step = 0.0
            if get("packingType") != "grid_ieee":
                step = 2.0 ** get("binaryScaleFactor") * 10.0 ** -get("decimalScaleFactor") * scale
            d, t = get("validityDate"), get("validityTime")
            time = f"{d // 10000:04}-{d // 100 % 100:02}-{d % 100:02}T{t // 100:02}:{t % 100:02}"
            nj, ni = get("Nj"), get("Ni")
            lat = [get("latitudeOfFirstGridPointInDegrees"), get("latitudeOfLastGridPointInDegrees")]
            lon = [get("longitudeOfFirstGridPointInDegrees"), get("longitudeOfLastGridPointInDegrees")]
            r = row(name, k, short, var, get("level") if levels else None, time, None, units,
                    lat, lon, values, step)
            r["nlat"], r["nlon"] = nj, ni
            fields.append(r)
            eccodes.codes_release(m)
            k += 1
    return {"fields": fields, "skipped": []}


TIME, LEVEL, LAT, LON = ("valid_time", "time"), ("pressure_level", "level"), ("latitude", "lat"), ("longitude", "lon")


def frames(name, source, dims, data, coords, units_of):
    """Rows of one array with dimensions `dims` (names) and coordinate values `coords`."""
    lat = next(coords[d] for d in dims if d in LAT)
    lon = next(coords[d] for d in dims if d in LON)
    tdim = next((d for d in dims if d in TIME), None)
    ldim = next((d for d in dims if d in LEVEL), None)
    var = variable(name, ldim is not None)
    units = UNITS.get(var)
    out = []
    order = [d for d in (tdim, ldim) if d] + [d for d in dims if d in LAT] + [d for d in dims if d in LON]
    data = np.transpose(data, [dims.index(d) for d in order])
    for ti in range(data.shape[0] if tdim else 1):
        for li in range(data.shape[1 if tdim else 0] if ldim else 1):
            idx = tuple(i for i, d in ((ti, tdim), (li, ldim)) if d)
            values, _ = convert(np.asarray(data[idx], dtype=np.float64), units_of, units)
            time = str(coords[tdim][ti])[:16] if tdim else None
            level = int(coords[ldim][li]) if ldim else None
            out.append(row(source, None, name, var, level, time, None, units, lat, lon, values, 0.0))
    return out


def netcdf(path):
    import netCDF4
    ds = netCDF4.Dataset(path)
    ds.set_auto_mask(True)
    coords = {}
    for d in ds.dimensions:
        if d in ds.variables:
            v = ds.variables[d]
            if d in TIME:
                coords[d] = np.array(netCDF4.num2date(v[:], v.units, only_use_cftime_datetimes=False,
                                                      only_use_python_datetimes=True), dtype="datetime64[m]")
            else:
                coords[d] = np.asarray(v[:], dtype=np.float64)
    fields = []
    for name, v in ds.variables.items():
        if name in ds.dimensions:
            continue
        data = np.ma.filled(v[:].astype(np.float64), np.nan)
        fields += frames(name, os.path.basename(path), list(v.dimensions), data, coords,
                         getattr(v, "units", None))
    return {"fields": fields, "skipped": []}


def zarr_store(path):
    import zarr
    g = zarr.open_group(path, mode="r")
    coords = {}
    for name, a in g.arrays():
        dims = a.attrs.get("_ARRAY_DIMENSIONS", [])
        if dims == [name]:
            values = np.asarray(a[:])
            if name in TIME:
                unit = a.attrs["units"].split(" since ")[0]
                assert unit == "hours" and a.attrs["units"].endswith("1970-01-01"), a.attrs["units"]
                values = values.astype("datetime64[h]").astype("datetime64[m]")
            coords[name] = values
    fields = []
    for name, a in g.arrays():
        dims = a.attrs.get("_ARRAY_DIMENSIONS", [])
        if dims == [name]:
            continue
        data = np.asarray(a[:], dtype=np.float64)
        # CF missing values only: Zarr's own fill_value is the value of absent chunks.
        for key in ("_FillValue", "missing_value"):
            fill = a.attrs.get(key)
            if fill is not None and not np.isnan(fill):
                data[data == fill] = np.nan
        fields += frames(name, os.path.basename(path.rstrip("/")), dims, data, coords, a.attrs.get("units"))
    return {"fields": fields, "skipped": []}


KEEP_ALL = 400


def dumps(out):
    """The JSON object with one field or skipped entry a line."""
    lines = []
    for key in ("fields", "skipped"):
        items = [json.dumps(x, allow_nan=False) for x in out[key]]
        lines.append(f' "{key}": [\n  ' + ",\n  ".join(items) + "\n ]")
    if "count" in out:
        lines.append(f' "count": {out["count"]}')
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main():
    for path in sys.argv[1:]:
        path = path.rstrip("/")
        head = b""
        if os.path.isfile(path):
            with open(path, "rb") as fh:
                head = fh.read(4)
        if os.path.isdir(path):
            out = zarr_store(path)
        elif head == b"GRIB":
            out = grib(path)
        else:
            out = netcdf(path)
        if len(out["fields"]) > KEEP_ALL:
            # A long inventory is kept as its row count and the rows at one valid time.
            out["count"] = len(out["fields"])
            keep = sorted({f["valid_time"] for f in out["fields"] if f["valid_time"]})[-1]
            out["fields"] = [f for f in out["fields"] if f["valid_time"] in (None, keep)]
        with open(path + ".expected.json", "w") as fh:
            fh.write(dumps(out))
        print(path, len(out["fields"]), "fields")


if __name__ == "__main__":
    main()
