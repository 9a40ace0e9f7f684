//! `gencast forecast --layout weatherbench2`: WeatherBench-2's dimension and coordinate names
//! around the same values as the reference layout, in NetCDF and Zarr.

use crate::support;

use netcdf_reader::NcFile;
use support::{assert_ok, forecast};

const SET: &str = "tiny-mha";
const RUN: [&str; 6] = ["--members", "2", "--steps", "2", "--seed", "4"];

fn floats(f: &NcFile, name: &str) -> Vec<u32> {
    f.read_variable::<f32>(name)
        .unwrap()
        .iter()
        .map(|x| x.to_bits())
        .collect()
}

#[test]
fn weatherbench2_layout_renames_and_keeps_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let (reference, wb2, store) = (
        dir.path().join("ref.nc"),
        dir.path().join("wb2.nc"),
        dir.path().join("wb2.zarr"),
    );
    assert_ok(&forecast(SET, &reference, &RUN));
    let args: Vec<&str> = RUN
        .iter()
        .copied()
        .chain(["--layout", "weatherbench2"])
        .collect();
    assert_ok(&forecast(SET, &wb2, &args));
    assert_ok(&forecast(SET, &store, &args));

    let r = NcFile::open(&reference).unwrap();
    let w = NcFile::open(&wb2).unwrap();
    let dims = |f: &NcFile, v: &str| -> Vec<String> {
        f.variable(v)
            .unwrap()
            .dimensions()
            .iter()
            .map(|d| d.name.clone())
            .collect()
    };
    assert_eq!(
        dims(&w, "geopotential"),
        [
            "realization",
            "time",
            "prediction_timedelta",
            "level",
            "latitude",
            "longitude"
        ]
    );
    assert_eq!(dims(&w, "valid_time"), ["time", "prediction_timedelta"]);
    assert_eq!(dims(&w, "time"), ["time"]);
    let text = |v: &str, k: &str| {
        w.variable(v)
            .unwrap()
            .attribute(k)
            .and_then(|a| a.value.as_string())
    };
    assert_eq!(
        text("time", "standard_name").as_deref(),
        Some("forecast_reference_time")
    );
    assert_eq!(
        text("time", "units").as_deref(),
        Some("hours since 2019-03-29T12:00:00")
    );
    assert_eq!(
        text("2m_temperature", "coordinates").as_deref(),
        Some("valid_time forecast_period forecast_reference_time height2m")
    );
    let lead: Vec<i32> = w
        .read_variable::<i32>("prediction_timedelta")
        .unwrap()
        .iter()
        .copied()
        .collect();
    assert_eq!(lead, [12, 24]);
    for (a, b) in [("lat", "latitude"), ("lon", "longitude")] {
        assert_eq!(floats(&r, a), floats(&w, b));
    }
    let mut checked = 0;
    for v in r.variables().unwrap() {
        if v.dimensions().len() < 5 {
            continue;
        }
        let want = floats(&r, v.name());
        assert_eq!(floats(&w, v.name()), want, "{}", v.name());
        // The Zarr store's chunk of member 1, step 2 holds the same values.
        let levelled = v.dimensions().len() == 6;
        let key = if levelled { "1/0/1/0/0/0" } else { "1/0/1/0/0" };
        let got = support::chunk_bits(&store.join(v.name()).join("c").join(key));
        let per = want.len() / 4;
        assert_eq!(got, want[3 * per..], "{} in the store", v.name());
        checked += 1;
    }
    assert_eq!(checked, 12);
    let meta = std::fs::read_to_string(store.join("geopotential/zarr.json")).unwrap();
    assert!(meta.contains(
        r#""dimension_names":["realization","time","prediction_timedelta","level","latitude","longitude"]"#
    ), "{meta}");
}
