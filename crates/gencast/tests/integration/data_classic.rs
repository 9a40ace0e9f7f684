//! Reading classic-format (CDF-1) files: CF decoding of packed integers, fill values,
//! integer time offsets and floating-point datetimes, 0-d statistics.

use crate::data_support;

use data_support::*;
use gencast::data::netcdf_time::days_from_civil;
use gencast::data::{AttrValue, Dataset, NormStats};
use gencast::time::NS_PER_DAY;

#[test]
fn classic_example_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_example(dir.path(), "example.nc", &Example::default());
    let ds = Dataset::open(&path).unwrap();
    assert_eq!(ds.lat().len(), N_LAT);
    assert_eq!(ds.lon()[1], 30.0);
    assert_eq!(ds.level(), &LEVELS);
    // int32 "hours" -> ns.
    assert_eq!(ds.time(), &[0, 12 * 3_600_000_000_000]);
    // float64 "days since 2019-03-29T00:00:00" -> ns since epoch.
    let t0 = days_from_civil(2019, 3, 29) * NS_PER_DAY;
    assert_eq!(ds.datetime(), &[t0, t0 + NS_PER_DAY / 2]);

    let names: Vec<&str> = ds.variables().iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "2m_temperature",
            "mean_sea_level_pressure",
            "temperature",
            "land_sea_mask"
        ]
    );
    assert_eq!(
        ds.variable("2m_temperature").unwrap().units.as_deref(),
        Some("K")
    );
    assert_eq!(
        ds.attribute(None, "title"),
        Some(AttrValue::Text("synthetic test file".into()))
    );

    // float32 passes through unchanged.
    let t2m = ds.read("2m_temperature", Some(1..2)).unwrap();
    assert_eq!(t2m.shape, [1, N_LAT, N_LON]);
    assert_eq!(t2m.data[2 * N_LON + 5], t2m_value(1, 2, 5));

    // int16 with scale_factor/add_offset/_FillValue: fill -> NaN, others unpacked.
    let msl = ds.read("mean_sea_level_pressure", None).unwrap();
    assert_eq!(msl.shape, [N_TIME, N_LAT, N_LON]);
    for (k, &x) in msl.data.iter().enumerate() {
        let raw = msl_packed(k);
        if raw == PACKED_FILL {
            assert!(x.is_nan(), "index {k}");
        } else {
            // Unpacked in f64 then rounded once to f32.
            assert_eq!(
                x,
                (f64::from(raw) * MSL_SCALE + MSL_OFFSET) as f32,
                "index {k}"
            );
        }
    }

    // float64 data converted to f32; a frame range selects a hyperslab.
    let t = ds.read("temperature", Some(1..2)).unwrap();
    assert_eq!(t.shape, [1, LEVELS.len(), N_LAT, N_LON]);
    let first = LEVELS.len() * N_LAT * N_LON;
    assert_eq!(t.data[0], (200.0 + first as f64 * 0.125) as f32);

    // A non-NaN float _FillValue becomes NaN.
    let lsm = ds.read("land_sea_mask", None).unwrap();
    assert!(lsm.data[3].is_nan());
    assert_eq!(lsm.data.iter().filter(|x| x.is_nan()).count(), 1);
    assert_eq!(lsm.data[4], 0.0);
}

#[test]
fn classic_stats_scalar_and_levels() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_stats(dir.path(), "mean_by_level.nc", &[1000, 500, 850]);
    let s = NormStats::open(&path).unwrap();
    assert_eq!(s.levels(), &[1000, 500, 850]);
    // Scalars ignore the requested levels.
    assert_eq!(s.get("2m_temperature", &[500, 850]).unwrap(), vec![280.5]);
    // Levelled values follow the requested order, not the file order.
    assert_eq!(
        s.get("temperature", &[500, 850, 1000]).unwrap(),
        vec![250.0, 285.0, 300.0]
    );
    assert_eq!(s.get("temperature", &[]).unwrap(), Vec::<f64>::new());
    assert_eq!(
        s.names().collect::<Vec<_>>(),
        ["2m_temperature", "temperature"]
    );
}
