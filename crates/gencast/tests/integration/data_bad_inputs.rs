//! Bad-input catalogue for the dataset and statistics readers: every error must name the file
//! and the culprit (variable, coordinate, level or missing file), and nothing may panic.

use crate::data_support;

use std::path::Path;

use data_support::*;
use gencast::data::{Dataset, NormStats, StatsSet};
use gencast::Error;

const MHA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-mha");
const EXAMPLE: &str = "source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc";

/// Asserts that `message` mentions every one of `needles`.
fn assert_names(message: &str, needles: &[&str]) {
    for n in needles {
        assert!(
            message.contains(n),
            "error `{message}` does not mention `{n}`"
        );
    }
}

#[test]
fn missing_variable() {
    let dir = tempfile::tempdir().unwrap();
    let ex = Example {
        with_t2m: false,
        ..Example::default()
    };
    let path = write_example(dir.path(), "no_t2m.nc", &ex);
    let ds = Dataset::open(&path).unwrap();
    let err = ds.read("2m_temperature", None).unwrap_err();
    assert!(matches!(err, Error::Missing { .. }), "{err:?}");
    assert_names(&err.to_string(), &["no_t2m.nc", "2m_temperature"]);
    assert!(ds.read_all("2m_temperature").is_err());

    // `require` reports every missing variable at once, and none of the present ones.
    let err = ds
        .require(&["temperature", "2m_temperature", "sea_surface_temperature"])
        .unwrap_err()
        .to_string();
    assert_names(
        &err,
        &["no_t2m.nc", "2m_temperature", "sea_surface_temperature"],
    );
    assert!(!err.contains("`temperature`"), "{err}");

    // The same on the real fixture.
    let fx = Dataset::open(format!("{MHA}/{EXAMPLE}")).unwrap();
    let err = fx
        .read("toa_incident_solar_radiation", Some(0..2))
        .unwrap_err()
        .to_string();
    assert_names(&err, &[EXAMPLE, "toa_incident_solar_radiation"]);
}

#[test]
fn descending_latitudes() {
    let dir = tempfile::tempdir().unwrap();
    let mut ex = Example::default();
    ex.lat.reverse();
    let path = write_example(dir.path(), "lat_desc.nc", &ex);
    let err = Dataset::open(&path).unwrap_err();
    assert!(matches!(err, Error::Data { .. }), "{err:?}");
    assert_names(&err.to_string(), &["lat_desc.nc", "`lat`", "descending"]);
}

#[test]
fn bad_grid_coordinates() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Example, &[&str]); 4] = [
        (
            "lat_no_poles.nc",
            Example {
                lat: (0..N_LAT).map(|i| -75.0 + 25.0 * i as f32).collect(),
                ..Example::default()
            },
            &["`lat`", "-75", "-90 to 90"],
        ),
        (
            "lat_uneven.nc",
            Example {
                lat: vec![-90.0, -60.0, -30.0, 0.0, 20.0, 60.0, 90.0],
                ..Example::default()
            },
            &["`lat`", "not uniform"],
        ),
        (
            "lon_minus180.nc",
            Example {
                lon: (0..N_LON).map(|i| -180.0 + 30.0 * i as f32).collect(),
                ..Example::default()
            },
            &["`lon`", "-180"],
        ),
        (
            "lon_regional.nc",
            Example {
                lon: (0..N_LON).map(|i| 10.0 * i as f32).collect(),
                ..Example::default()
            },
            &["`lon`", "360"],
        ),
    ];
    for (name, ex, needles) in cases {
        let path = write_example(dir.path(), name, &ex);
        let err = Dataset::open(&path).unwrap_err().to_string();
        assert_names(&err, &[name]);
        assert_names(&err, needles);
    }
}

#[test]
fn bad_time_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let ex = Example {
        time_units: "fortnights".into(),
        ..Example::default()
    };
    let path = write_example(dir.path(), "time_units.nc", &ex);
    let err = Dataset::open(&path).unwrap_err().to_string();
    assert_names(&err, &["time_units.nc", "`time`", "fortnights"]);

    let ex = Example {
        calendar: "noleap".into(),
        ..Example::default()
    };
    let path = write_example(dir.path(), "calendar.nc", &ex);
    let err = Dataset::open(&path).unwrap_err().to_string();
    assert_names(&err, &["calendar.nc", "`datetime`", "noleap"]);

    // Frame ranges outside the file are rejected, naming the variable.
    let path = write_example(dir.path(), "ok.nc", &Example::default());
    let ds = Dataset::open(&path).unwrap();
    let err = ds
        .read("2m_temperature", Some(1..3))
        .unwrap_err()
        .to_string();
    assert_names(&err, &["ok.nc", "2m_temperature", "1..3"]);
}

#[test]
fn not_a_netcdf_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.nc");
    std::fs::write(&text, "this is not a NetCDF file, just text\n").unwrap();
    let empty = dir.path().join("empty.nc");
    std::fs::write(&empty, b"").unwrap();
    for (path, name) in [(&text, "notes.nc"), (&empty, "empty.nc")] {
        let err = Dataset::open(path).unwrap_err();
        assert!(matches!(err, Error::Format { .. }), "{err:?}");
        assert_names(&err.to_string(), &[name, "not a NetCDF file"]);
        let err = NormStats::open(path).unwrap_err().to_string();
        assert_names(&err, &[name]);
    }
    let err = Dataset::open(dir.path().join("absent.nc")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert_names(&err.to_string(), &["absent.nc"]);
}

/// Opens a truncated file and reads every variable; returns the first error.
fn first_error(path: &Path) -> Option<Error> {
    let ds = match Dataset::open_lenient(path) {
        Ok(ds) => ds,
        Err(e) => return Some(e),
    };
    let names: Vec<String> = ds.variables().iter().map(|v| v.name.clone()).collect();
    names.iter().find_map(|n| ds.read_all(n).err())
}

#[test]
fn truncated_files() {
    let dir = tempfile::tempdir().unwrap();
    // NetCDF-4 (HDF5) fixture and a classic file, cut at several lengths.
    let hdf5 = std::fs::read(format!("{MHA}/{EXAMPLE}")).unwrap();
    let classic_path = write_example(dir.path(), "classic.nc", &Example::default());
    let classic = std::fs::read(&classic_path).unwrap();
    for (kind, bytes) in [("hdf5", &hdf5), ("classic", &classic)] {
        for frac in [0.01, 0.1, 0.5, 0.9, 0.99] {
            let len = (bytes.len() as f64 * frac) as usize;
            let name = format!("truncated_{kind}_{len}.nc");
            let path = dir.path().join(&name);
            std::fs::write(&path, &bytes[..len]).unwrap();
            let err = first_error(&path).unwrap_or_else(|| panic!("{name}: no error"));
            assert_names(&err.to_string(), &[name.as_str()]);
        }
    }
}

#[test]
fn stats_dir_missing_a_file() {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "mean_by_level.nc",
        "stddev_by_level.nc",
        "diffs_stddev_by_level.nc",
    ] {
        std::fs::copy(format!("{MHA}/{f}"), dir.path().join(f)).unwrap();
    }
    let err = StatsSet::open_dir(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Missing { .. }), "{err:?}");
    let msg = err.to_string();
    assert_names(
        &msg,
        &["min_by_level.nc", &dir.path().display().to_string()],
    );
    assert!(!msg.contains("`mean_by_level.nc"), "{msg}");

    let err = StatsSet::open_dir(dir.path().join("nowhere"))
        .unwrap_err()
        .to_string();
    assert_names(&err, &["nowhere"]);

    // A statistics file given where the folder is expected says so.
    let file = dir.path().join("mean_by_level.nc");
    std::fs::write(&file, b"x").unwrap();
    let err = StatsSet::open_dir(&file).unwrap_err().to_string();
    assert!(err.contains("is a file; expected the folder"), "{err}");
}

#[test]
fn stats_file_missing_a_level() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_stats(dir.path(), "stddev_by_level.nc", &[50, 100, 500]);
    let s = NormStats::open(&path).unwrap();
    let err = s.get("temperature", &[50, 850, 500, 1000]).unwrap_err();
    assert!(matches!(err, Error::Data { .. }), "{err:?}");
    assert_names(
        &err.to_string(),
        &["stddev_by_level.nc", "temperature", "850", "1000"],
    );
    let err = s.get("geopotential", &[500]).unwrap_err().to_string();
    assert_names(&err, &["stddev_by_level.nc", "geopotential"]);
    let err = s.scalar("temperature").unwrap_err().to_string();
    assert_names(&err, &["stddev_by_level.nc", "temperature", "scalar"]);
}

mod sizes;
