"""Writes the GRIB trap corpus: small real-world-style GRIB files, one per way a message can look
like a model variable without being one, each with what ecCodes says it holds.

Every file is on a 10° grid (36 × 19 points, except the spectral and reduced Gaussian messages of
`mixed-unsupported.grib2`), valid at 2019-03-29T06:00, written with the `eccodes` 2.50.1 wheel
from PyPI (ecCodes library 2.50.0) and numpy 2.4.6:

- `ecmwf-tprate-vs-tp.grib2`: ECMWF total precipitation `tp` (0/1/193, accumulation over 6 h,
  m) and mean precipitation rate `tprate` (the same 0/1/193, average over 6 h, m s**-1).
- `ncep-cfrzr-vs-apcp.grib2`: NCEP (centre 7) `tp` as 0/1/8 accumulation in kg m**-2, and
  categorical freezing rain `cfrzr` (NCEP's local 0/1/193: 0 or 1), instantaneous and averaged.
- `ecmwf-2t-statistics.grib2`: `2t` and the 6-hour maximum, minimum and mean of it (`mx2t6`,
  `mn2t6`, `avg_2t`), which share its parameter code.
- `ensemble-products.grib2`: ensemble mean and spread of `2t` and of `t` at 500 hPa (template
  4.2), and the ensemble mean of a 6-hour `tp` (template 4.12), plus a plain `2t` analysis.
- `ensemble-members.grib2`: a control and two perturbed forecasts (`number` 0, 1, 2; templates
  4.1) of `2t` and of `t` at 500 and 850 hPa.
- `ecmwf-ensemble.grib1`: GRIB1 `2t` as ECMWF labels ensemble products in its local section
  (MARS type `em`, `es`: skipped; `cf` and `pf` number 3: members 0 and 3).
- `gh-levels.grib2`: geopotential height `gh` (gpm) at 500 and 850 hPa.
- `precip-kg-m2.grib2`: ECMWF `tp` in kg m**-2 (paramId 228228, 0/1/52 accumulated over 6 h).
- `wrong-increment.grib1`: `2t` and `msl` whose header increments (7° and 4°) disagree with their
  first and last points (0…350°, 90…−90°) and counts (36 × 19).
- `mixed-unsupported.grib2`: needed `2t` and `msl` between messages the model does not need in
  encodings this build does not decode: spectral vorticity `vo`, relative humidity `r` on a
  reduced Gaussian grid, total cloud cover `tcc` in JPEG 2000 packing.
- `duplicates-identical.grib2`: `2t`, `msl`, then the same `2t` message again.
- Refusals, without an expected listing: `duplicates-conflicting.grib2` (`2t` twice for the same
  time, the second 10 K warmer), `year-missing.grib2` (`2t` whose reference year is missing,
  65535) and `second-order.grib1` (`2t` in GRIB1 second-order packing as ecCodes writes it,
  `grid_second_order`).

For each file but the refusals the script writes `NAME.expected.json`, the listing
`gencast sources --json` must give, from ecCodes: one entry per message read as a model
variable (`source` the file name, `message` 0-based, `name` ecCodes' shortName, `variable` the
model variable, `level` hPa or null, `valid_time`, `member` ecCodes' `number` for ensemble
members or null, `units` the model's, grid extent and size from ecCodes' latitudes and
longitudes, min/max/mean of ecCodes' values converted to the model's units in float64: kg m**-2
to m divides by 1000, gpm to m2 s-2 multiplies by 9.80665), then one per message skipped
(`message`, `name`; the `reason` is free text and not compared).

Run with a Python that has `eccodes` and numpy:
    python tools/make_grib_corpus.py
"""
import json
import os

import eccodes
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "crates", "gencast", "tests", "fixtures", "grib-corpus")
G = 9.80665
# Inside the input window of a GenCast run at 2019-03-29T12:00 (the example's init time), but at
# none of its frames: `prepare` reads these files with the example's and uses none of them.
VALID = "2019-03-29T06:00"
LAT = np.linspace(90.0, -90.0, 19)
LON = np.arange(36) * 10.0
PHI, LAM = np.meshgrid(np.radians(LAT), np.radians(LON), indexing="ij")


def smooth(base, amp, k=1):
    """A smooth 19 × 36 field in north-to-south, 0…350° order."""
    return base + amp * (np.cos(PHI) ** 2 + 0.3 * np.sin(k * LAM) * np.cos(PHI))


GRID = {
    "Ni": 36, "Nj": 19, "iDirectionIncrementInDegrees": 10.0,
    "jDirectionIncrementInDegrees": 10.0, "jScansPositively": 0,
    "latitudeOfFirstGridPointInDegrees": 90.0, "latitudeOfLastGridPointInDegrees": -90.0,
    "longitudeOfFirstGridPointInDegrees": 0.0, "longitudeOfLastGridPointInDegrees": 350.0,
}
# Model variable and units per shortName, for the listing.
MODEL = {
    "2t": ("2m_temperature", "K", 1.0), "msl": ("mean_sea_level_pressure", "Pa", 1.0),
    "t": ("temperature", "K", 1.0), "tp": ("total_precipitation", "m", 1.0),
    "gh": ("geopotential", "m2 s-2", G),
}


def message(sample, keys, values, packing="grid_simple", bits=16, grid=True, after=None):
    h = eccodes.codes_grib_new_from_samples(sample)
    if grid:
        for k, v in GRID.items():
            eccodes.codes_set(h, k, v)
    for k, v in keys.items():
        eccodes.codes_set(h, k, v)
    # ecCodes chooses second-order groups from the values: it packs them after they are set.
    late = packing == "grid_second_order"
    if not late:
        eccodes.codes_set(h, "packingType", packing)
    eccodes.codes_set(h, "bitsPerValue", bits)
    eccodes.codes_set_values(h, np.asarray(values, dtype=np.float64).ravel())
    if late:
        eccodes.codes_set(h, "packingType", packing)
    for k, v in (after or {}).items():
        eccodes.codes_set(h, k, v)
    got = eccodes.codes_get(h, "packingType")
    assert got == packing, (keys, got)
    return h


def when(hours_before=0):
    """dataDate and dataTime of a run `hours_before` the valid time."""
    t = np.datetime64(VALID) - np.timedelta64(hours_before, "h")
    t = t.astype(object)
    return {"dataDate": int(t.strftime("%Y%m%d")), "dataTime": int(t.strftime("%H%M"))}


def accum6(stat, **keys):
    """A 6-hour statistic (template 4.8) from a run 6 hours before the valid time."""
    return {**when(6), "productDefinitionTemplateNumber": 8, **keys,
            "typeOfStatisticalProcessing": stat, "stepUnits": 1, "startStep": 0, "endStep": 6}


def listing(name, handles, expect):
    """The expected `sources --json` of a file: `expect[i]` is `None` for a field, else the
    reason message `i` is skipped."""
    fields, skipped = [], []
    for i, (h, reason) in enumerate(zip(handles, expect)):
        short = eccodes.codes_get(h, "shortName")
        if reason is not None:
            skipped.append({"source": name, "message": i, "name": short, "reason": reason})
            continue
        variable, units, factor = MODEL[short]
        if eccodes.codes_get(h, "units") == "kg m**-2":
            factor = 1e-3
        values = eccodes.codes_get_values(h).astype(np.float64)
        if eccodes.codes_get(h, "bitmapPresent"):
            values = values[values != eccodes.codes_get(h, "missingValue")]
        values = values * factor
        lats = eccodes.codes_get_array(h, "latitudes")
        lons = eccodes.codes_get_array(h, "longitudes")
        date = str(eccodes.codes_get(h, "validityDate"))
        time = "%04d" % eccodes.codes_get(h, "validityTime")
        level = None
        if eccodes.codes_get(h, "typeOfLevel") == "isobaricInhPa":
            level = int(eccodes.codes_get(h, "level"))
        if eccodes.codes_get(h, "edition") == 1:
            member_keys = eccodes.codes_get(h, "marsType") in ("cf", "pf")
        else:
            member_keys = eccodes.codes_get(h, "productDefinitionTemplateNumber") in (1, 11)
        member = int(eccodes.codes_get(h, "number")) if member_keys else None
        fields.append({
            "source": name, "message": i, "name": short, "variable": variable, "level": level,
            "valid_time": f"{date[:4]}-{date[4:6]}-{date[6:]}T{time[:2]}:{time[2:]}",
            "member": member, "units": units,
            "lat_min": float(lats.min()), "lat_max": float(lats.max()),
            "lon_min": float(lons.min()), "lon_max": float(lons.max()),
            "nlat": int(len(np.unique(lats))), "nlon": int(len(np.unique(lons))),
            "min": float(values.min()), "max": float(values.max()),
            "mean": float(values.mean()),
        })
    return {"fields": fields, "skipped": skipped}


def write(name, items, expected=True):
    """Writes `items` (handle, expected skip reason or None) to `name` and its listing."""
    handles = [h for h, _ in items]
    with open(os.path.join(OUT, name), "wb") as out:
        for h in handles:
            eccodes.codes_write(h, out)
    if expected:
        with open(os.path.join(OUT, name + ".expected.json"), "w") as out:
            json.dump(listing(name, handles, [r for _, r in items]), out, indent=1)
            out.write("\n")
    for h in handles:
        eccodes.codes_release(h)


SFC, PL = "regular_ll_sfc_grib2", "regular_ll_pl_grib2"
T2 = smooth(250.0, 40.0)
MSL = smooth(100000.0, 2000.0, 2)
TP = np.maximum(smooth(-0.004, 0.02, 3), 0.0)


def main():
    os.makedirs(OUT, exist_ok=True)
    write("ecmwf-tprate-vs-tp.grib2", [
        (message(SFC, accum6(1, shortName="tp"), TP), None),
        (message(SFC, accum6(0, shortName="tprate"), TP / 21600.0),
         "mean precipitation rate, not an accumulation"),
    ])
    ncep = {"centre": 7}
    write("ncep-cfrzr-vs-apcp.grib2", [
        (message(SFC, {**ncep, **accum6(1, discipline=0, parameterCategory=1,
                                         parameterNumber=8)}, TP * 1000.0), None),
        (message(SFC, {**ncep, **when(), "discipline": 0, "parameterCategory": 1,
                       "parameterNumber": 193}, TP > 0.004), "NCEP local parameter"),
        (message(SFC, {**ncep, **accum6(0, discipline=0, parameterCategory=1,
                                         parameterNumber=193)}, TP > 0.002),
         "NCEP local parameter, averaged"),
    ])
    write("ecmwf-2t-statistics.grib2", [
        (message(SFC, {**when(), "shortName": "2t"}, T2), None),
        (message(SFC, accum6(2, shortName="mx2t6"), T2 + 3.0), "maximum over 6 h"),
        (message(SFC, accum6(3, shortName="mn2t6"), T2 - 3.0), "minimum over 6 h"),
        (message(SFC, accum6(0, shortName="avg_2t"), T2 + 0.5), "average over 6 h"),
    ])
    derived = {**when(6), "productDefinitionTemplateNumber": 2, "stepUnits": 1, "step": 6,
               "numberOfForecastsInEnsemble": 51}
    write("ensemble-products.grib2", [
        (message(SFC, {**derived, "shortName": "2t", "derivedForecast": 0}, T2),
         "ensemble mean"),
        (message(SFC, {**derived, "shortName": "2t", "derivedForecast": 4},
                 smooth(0.5, 2.0)), "ensemble spread"),
        (message(PL, {**derived, "typeOfLevel": "isobaricInhPa", "level": 500,
                      "shortName": "t", "derivedForecast": 0}, T2 - 40.0), "ensemble mean"),
        (message(PL, {**derived, "typeOfLevel": "isobaricInhPa", "level": 500,
                      "shortName": "t", "derivedForecast": 4}, smooth(0.3, 1.0)),
         "ensemble spread"),
        (message(SFC, {**when(6), "productDefinitionTemplateNumber": 12, "shortName": "tp",
                       "typeOfStatisticalProcessing": 1, "derivedForecast": 0,
                       "numberOfForecastsInEnsemble": 51, "stepUnits": 1, "startStep": 0,
                       "endStep": 6}, TP), "ensemble mean of an accumulation"),
        (message(SFC, {**when(), "shortName": "2t"}, T2), None),
    ])
    items = []
    for number in range(3):
        ens = {**when(6), "productDefinitionTemplateNumber": 1, "stepUnits": 1, "step": 6,
               "typeOfEnsembleForecast": 1 if number == 0 else 3, "perturbationNumber": number,
               "numberOfForecastsInEnsemble": 51}
        items.append((message(SFC, {**ens, "shortName": "2t"}, T2 + number), None))
        for level in (500, 850):
            keys = {**ens, "typeOfLevel": "isobaricInhPa", "level": level, "shortName": "t"}
            items.append((message(PL, keys, T2 - (1000 - level) / 10.0 + number), None))
    write("ensemble-members.grib2", items)
    grib1 = "regular_ll_sfc_grib1"
    write("ecmwf-ensemble.grib1", [
        (message(grib1, {**when(), "shortName": "2t", "marsType": "em"}, T2), "ensemble mean"),
        (message(grib1, {**when(), "shortName": "2t", "marsType": "es"}, smooth(0.5, 2.0)),
         "ensemble standard deviation"),
        (message(grib1, {**when(), "shortName": "2t", "marsType": "cf", "number": 0}, T2),
         None),
        (message(grib1, {**when(), "shortName": "2t", "marsType": "pf", "number": 3},
                 T2 + 1.0), None),
    ])
    write("gh-levels.grib2", [
        (message(PL, {**when(), "typeOfLevel": "isobaricInhPa", "level": level,
                      "shortName": "gh"}, smooth((1100 - level) * 10.0, 300.0)), None)
        for level in (500, 850)
    ])
    write("precip-kg-m2.grib2", [
        (message(SFC, accum6(1, paramId=228228), TP * 1000.0), None),
    ])
    wrong = {"iDirectionIncrementInDegrees": 7.0, "jDirectionIncrementInDegrees": 4.0}
    write("wrong-increment.grib1", [
        (message("regular_ll_sfc_grib1", {**when(), "shortName": "2t"}, T2, after=wrong),
         None),
        (message("regular_ll_sfc_grib1", {**when(), "shortName": "msl"}, MSL, after=wrong),
         None),
    ])
    sh = message("sh_sfc_grib2", {**when(), "typeOfLevel": "isobaricInhPa", "level": 500,
                                   "shortName": "vo"},
                 np.linspace(-1e-5, 1e-5, 4160), packing="spectral_complex", grid=False)
    gg = eccodes.codes_grib_new_from_samples("reduced_gg_pl_grib2")
    n = eccodes.codes_get(gg, "numberOfValues")
    eccodes.codes_release(gg)
    rgg = message("reduced_gg_pl_grib2", {**when(), "typeOfLevel": "isobaricInhPa",
                                           "level": 500, "shortName": "r"},
                  np.linspace(10.0, 90.0, n), grid=False)
    write("mixed-unsupported.grib2", [
        (message(SFC, {**when(), "shortName": "2t"}, T2), None),
        (sh, "spectral"),
        (rgg, "reduced Gaussian"),
        (message(SFC, {**when(), "shortName": "tcc"}, smooth(0.1, 0.8), packing="grid_jpeg"),
         "JPEG 2000"),
        (message(SFC, {**when(), "shortName": "msl"}, MSL), None),
    ])
    write("duplicates-identical.grib2", [
        (message(SFC, {**when(), "shortName": "2t"}, T2), None),
        (message(SFC, {**when(), "shortName": "msl"}, MSL), None),
        (message(SFC, {**when(), "shortName": "2t"}, T2), "identical copy of message 0"),
    ])
    write("duplicates-conflicting.grib2", [
        (message(SFC, {**when(), "shortName": "2t"}, T2), None),
        (message(SFC, {**when(), "shortName": "msl"}, MSL), None),
        (message(SFC, {**when(), "shortName": "2t"}, T2 + 10.0), None),
    ], expected=False)
    write("year-missing.grib2", [
        (message(SFC, {**when(), "shortName": "2t"}, T2, after={"year": 65535}), None),
    ], expected=False)
    write("second-order.grib1", [
        (message("regular_ll_sfc_grib1", {**when(), "shortName": "2t"}, T2,
                 packing="grid_second_order"), None),
    ], expected=False)


if __name__ == "__main__":
    main()
