"""`gencast forecast --output X.grib2` read back with ecCodes: every message has the expected
shortName, level, step or step range, member number, reference time and grid, and the values of
the NetCDF output of the same run. The packing is lossless (IEEE float32; precipitation float64
in kg m-2), so values compare exactly, NaN where the bitmap marks a point missing."""

import subprocess

import eccodes
import numpy as np
import xarray as xr

from conftest import DATASET, fixture, model_of

# The shortName ecCodes must give each forecast variable, stated here independently of the
# writer's parameter table.
SHORT_NAMES = {
    "2m_temperature": "2t",
    "10m_u_component_of_wind": "10u",
    "10m_v_component_of_wind": "10v",
    "mean_sea_level_pressure": "msl",
    "total_precipitation_12hr": "tp",
    "total_precipitation_6hr": "tp",
    "sea_surface_temperature": "sst",
    "temperature": "t",
    "geopotential": "z",
    "u_component_of_wind": "u",
    "v_component_of_wind": "v",
    "vertical_velocity": "w",
    "specific_humidity": "q",
}
# (typeOfLevel, level) of the surface fields.
SURFACE_LEVELS = {
    "2t": ("heightAboveGround", 2),
    "10u": ("heightAboveGround", 10),
    "10v": ("heightAboveGround", 10),
    "msl": ("meanSea", 0),
    "tp": ("surface", 0),
    "sst": ("surface", 0),
}
# kg m-2 of water per metre of precipitation.
TP_FACTOR = 1000.0


def run(gencast_bin, set_name, dataset, out, args):
    d = fixture(set_name)
    subprocess.run(
        [gencast_bin, "forecast", "--checkpoint", str(d / "checkpoint.npz"), "--dataset",
         str(d / dataset), "--stats", str(d), "--output", str(out), *args],
        check=True, capture_output=True,
    )


def messages(path):
    """Every message of a GRIB file as a dict of keys, with its values (NaN where missing)."""
    keys = ["shortName", "typeOfLevel", "level", "stepRange", "dataDate", "dataTime", "Ni", "Nj",
            "latitudeOfFirstGridPointInDegrees", "latitudeOfLastGridPointInDegrees",
            "longitudeOfFirstGridPointInDegrees", "longitudeOfLastGridPointInDegrees",
            "iDirectionIncrementInDegrees", "jDirectionIncrementInDegrees", "jScansPositively",
            "iScansNegatively", "typeOfProcessedData", "packingType", "isMessageValid"]
    out = []
    with open(path, "rb") as f:
        while True:
            h = eccodes.codes_grib_new_from_file(f)
            if h is None:
                return out
            try:
                m = {k: eccodes.codes_get(h, k) for k in keys}
                for k in ["number", "numberOfForecastsInEnsemble"]:
                    m[k] = eccodes.codes_get(h, k) if eccodes.codes_is_defined(h, k) else None
                values = eccodes.codes_get_values(h).astype(np.float64)
                if eccodes.codes_get(h, "bitmapPresent"):
                    present = eccodes.codes_get_array(h, "bitmap").astype(bool)
                    values[~present] = np.nan
                m["values"] = values
                out.append(m)
            finally:
                eccodes.codes_release(h)


def expected_messages(nc):
    """What the GRIB file must hold for a NetCDF forecast: one entry per member, step,
    variable and level, in that order."""
    ds = xr.open_dataset(nc, decode_timedelta=True)
    names = [n for n in ds.data_vars if n in SHORT_NAMES and "sample" in ds[n].dims]
    lead_h = (ds["time"].values / np.timedelta64(1, "h")).astype(int)
    init = ds["datetime"].values[0, 0] - ds["time"].values[0]
    out = []
    for m, member in enumerate(ds["sample"].values):
        for s, lead in enumerate(lead_h):
            for name in names:
                a = ds[name].isel(sample=m, batch=0, time=s)
                levels = list(ds["level"].values) if "level" in a.dims else [None]
                for level in levels:
                    field = a.sel(level=level) if level is not None else a
                    out.append(dict(name=name, member=int(member), lead=int(lead), level=level,
                                    values=field.values, init=init))
    return ds, out


def assert_grib_matches_netcdf(grib, nc, ensemble):
    ds, want = expected_messages(nc)
    got = messages(grib)
    assert len(got) == len(want), "one message per member, step, variable and level"
    lat, lon = ds["lat"].values.astype(np.float64), ds["lon"].values.astype(np.float64)
    size = int(ds["sample"].values.max()) + 1
    for g, w in zip(got, want):
        where = f"{w['name']} level {w['level']} member {w['member']} lead {w['lead']}"
        short = SHORT_NAMES[w["name"]]
        assert g["shortName"] == short, where
        assert g["isMessageValid"] == 1, where
        if w["level"] is None:
            assert (g["typeOfLevel"], g["level"]) == SURFACE_LEVELS[short], where
        else:
            assert (g["typeOfLevel"], g["level"]) == ("isobaricInhPa", int(w["level"])), where
        period = {"total_precipitation_12hr": 12, "total_precipitation_6hr": 6}.get(w["name"])
        step = f"{w['lead'] - period}-{w['lead']}" if period else str(w["lead"])
        assert g["stepRange"] == step, where
        init = np.datetime64(w["init"], "m").astype(object)
        assert (g["dataDate"], g["dataTime"]) == (
            int(init.strftime("%Y%m%d")), int(init.strftime("%H%M"))), where
        if ensemble:
            # Every member is a perturbed forecast, numbered from 1: number = sample + 1.
            assert g["typeOfProcessedData"] == "pf", where
            assert (g["number"], g["numberOfForecastsInEnsemble"]) == (w["member"] + 1, size)
        else:
            assert g["typeOfProcessedData"] == "fc", where
            assert (g["number"], g["numberOfForecastsInEnsemble"]) == (None, None), where
        assert (g["Ni"], g["Nj"]) == (len(lon), len(lat)), where
        assert (g["jScansPositively"], g["iScansNegatively"]) == (1, 0), where
        assert g["latitudeOfFirstGridPointInDegrees"] == lat[0]
        assert g["latitudeOfLastGridPointInDegrees"] == lat[-1]
        assert g["longitudeOfFirstGridPointInDegrees"] == lon[0] % 360
        assert g["longitudeOfLastGridPointInDegrees"] == lon[-1] % 360
        if len(lon) > 1:
            assert g["iDirectionIncrementInDegrees"] == (lon[1] - lon[0]) % 360
        if len(lat) > 1:
            assert g["jDirectionIncrementInDegrees"] == lat[1] - lat[0]
        assert g["packingType"] == "grid_ieee"
        # The stated packing error is none: the NetCDF float32 values exactly (precipitation
        # stored as float64 kg m-2 = 1000 x metres, divided back), missing where NaN.
        values = g["values"] / (TP_FACTOR if short == "tp" else 1.0)
        expect = w["values"].astype(np.float64).ravel()
        np.testing.assert_array_equal(np.isnan(values), np.isnan(expect), err_msg=where)
        ok = ~np.isnan(expect)
        np.testing.assert_array_equal(values[ok].astype(np.float32), expect[ok], err_msg=where)
    return got


def test_gencast_grib2_reads_back_with_eccodes(gencast_bin, tmp_path):
    args = ["--members", "2", "--steps", "2", "--seed", "7"]
    run(gencast_bin, "tiny-mha", DATASET, tmp_path / "f.nc", args)
    run(gencast_bin, "tiny-mha", DATASET, tmp_path / "f.grib2", args)
    got = assert_grib_matches_netcdf(tmp_path / "f.grib2", tmp_path / "f.nc", ensemble=True)
    assert {g["shortName"] for g in got} == {
        "2t", "10u", "10v", "msl", "tp", "sst", "t", "z", "u", "v", "w", "q"}
    # Sea surface temperature is missing over land: a bitmap marks those points.
    assert any(np.isnan(g["values"]).any() for g in got if g["shortName"] == "sst")


def test_gencast_selection_and_region_read_back_with_eccodes(gencast_bin, tmp_path):
    # A region across the prime meridian, a variable and level selection and a member offset.
    args = ["--members", "2", "--member-offset", "3", "--steps", "2", "--seed", "7",
            "--variables", "2m_temperature,total_precipitation_12hr,temperature",
            "--levels", "850", "--region=-40,30,-30,50"]
    run(gencast_bin, "tiny-mha", DATASET, tmp_path / "r.nc", args)
    run(gencast_bin, "tiny-mha", DATASET, tmp_path / "r.grib", args)
    got = assert_grib_matches_netcdf(tmp_path / "r.grib", tmp_path / "r.nc", ensemble=True)
    assert len(got) == 2 * 2 * 3
    assert got[0]["longitudeOfFirstGridPointInDegrees"] == 330
    assert {g["number"] for g in got} == {4, 5}


def test_graphcast_grib2_reads_back_with_eccodes(gencast_bin, tmp_path):
    dataset = "source-era5_date-2019-03-29_res-10.0_levels-13_steps-03.nc"
    args = ["--steps", "3"]
    run(gencast_bin, "graphcast-tiny", dataset, tmp_path / "g.nc", args)
    run(gencast_bin, "graphcast-tiny", dataset, tmp_path / "g.grib2", args)
    got = assert_grib_matches_netcdf(tmp_path / "g.grib2", tmp_path / "g.nc", ensemble=False)
    assert sorted({g["stepRange"] for g in got if g["shortName"] == "tp"}) == [
        "0-6", "12-18", "6-12"]


def test_graphcast_selection_region_and_output_every_read_back_with_eccodes(gencast_bin, tmp_path):
    dataset = "source-era5_date-2019-03-29_res-10.0_levels-13_steps-03.nc"
    args = ["--steps", "3", "--output-every", "12h",
            "--variables", "2m_temperature,total_precipitation_6hr,geopotential",
            "--levels", "500,850", "--region=20,70,-20,40"]
    run(gencast_bin, "graphcast-tiny", dataset, tmp_path / "s.nc", args)
    run(gencast_bin, "graphcast-tiny", dataset, tmp_path / "s.grib2", args)
    got = assert_grib_matches_netcdf(tmp_path / "s.grib2", tmp_path / "s.nc", ensemble=False)
    # One lead (12 h of 6, 12, 18 h) of 2t, tp and z at two levels.
    assert len(got) == 1 * (2 + 2)
    assert {g["stepRange"] for g in got} == {"12", "6-12"}
    assert got[0]["longitudeOfFirstGridPointInDegrees"] == 340


def test_forecast_to_writes_the_clis_grib2_file_byte_for_byte(gencast_bin, tmp_path):
    args = ["--members", "2", "--member-offset", "1", "--steps", "2", "--seed", "9"]
    run(gencast_bin, "tiny-mha", DATASET, tmp_path / "cli.grib2", args)
    ours = tmp_path / "ours.grib2"
    model_of("tiny-mha").forecast_to(
        ours, fixture("tiny-mha") / DATASET, members=2, member_offset=1, steps=2, seed=9
    )
    assert ours.read_bytes() == (tmp_path / "cli.grib2").read_bytes()
    assert {m["number"] for m in messages(ours)} == {2, 3}
