//! `gencast check` on the fixture dataset and on a catalogue of broken copies of it, and
//! `gencast forecast` refusing a broken copy before computing anything.

use crate::support;

use support::{check_passes, fixture_dataset, forecast_on, gencast, write_edited, Edit};

/// Points per level of the 10° fixture grid (19 latitudes × 36 longitudes).
const GRID: usize = 19 * 36;
/// Values per frame of an atmospheric variable (13 levels).
const ATMOS_FRAME: usize = 13 * GRID;
/// Labels of the two input frames of the fixture (init time 2019-03-29T12:00... minus 12 h).
const FRAME0: &str = "(-12h)";
const FRAME1: &str = "(0h)";

/// Writes an edited copy of the fixture and runs `gencast check` on it: (success, stdout+stderr).
fn check(edit: Edit) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.nc");
    write_edited(&fixture_dataset("tiny-mha"), &bad, &edit);
    let out = gencast(&["check", "--dataset", bad.to_str().unwrap()]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Asserts `gencast check` rejects the edit and that one table line holds every needle.
fn assert_rejected(edit: Edit, needles: &[&str]) {
    let (ok, text) = check(edit);
    assert!(!ok, "accepted a bad dataset: {text}");
    assert!(
        text.lines().any(|l| needles.iter().all(|n| l.contains(n))),
        "no table row holds all of {needles:?}:\n{text}"
    );
}

#[test]
fn the_fixture_passes() {
    let ds = fixture_dataset("tiny-mha");
    let text = check_passes(&ds);
    assert!(
        text.contains("checks passed (13 variables, 2 frames, 13 levels)"),
        "{text}"
    );
    // An unedited rewrite passes too (the catalogue below differs from it by one edit each).
    let (ok, text) = check(Edit::default());
    assert!(ok, "{text}");
}

#[test]
fn json_report_of_the_fixture_has_no_rows() {
    let ds = fixture_dataset("tiny-mha");
    let out = gencast(&["check", "--dataset", ds.to_str().unwrap(), "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 0);
    assert_eq!(v["frames"], 2);
    assert_eq!(v["variables"], 13);
}

#[test]
fn missing_variable() {
    assert_rejected(
        Edit {
            drop: &["2m_temperature"],
            ..Edit::default()
        },
        &["2m_temperature", "missing variable"],
    );
}

#[test]
fn single_frame() {
    assert_rejected(
        Edit {
            frames: Some(0..1),
            ..Edit::default()
        },
        &["time", "missing input frames", "1 frame"],
    );
}

#[test]
fn missing_levels() {
    assert_rejected(
        Edit {
            levels: Some(10),
            ..Edit::default()
        },
        &["level", "850, 925, 1000"],
    );
}

#[test]
fn descending_latitudes() {
    assert_rejected(
        Edit {
            flip_lat: true,
            ..Edit::default()
        },
        &["lat", "descending"],
    );
}

#[test]
fn nan_in_temperature_at_one_level_and_frame() {
    // Frame 1 (the init time), level index 3 (200 hPa), latitude index 5 (−40°), longitude 7 (70°).
    let idx = ATMOS_FRAME + 3 * GRID + 5 * 36 + 7;
    let (ok, text) = check(Edit {
        poke: Some(("temperature", idx, f32::NAN)),
        ..Edit::default()
    });
    assert!(!ok);
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("NaN")).collect();
    assert_eq!(rows.len(), 1, "exactly one slice has a NaN:\n{text}");
    for needle in [
        "temperature",
        FRAME1,
        " 200 ",
        "1 NaN value",
        "lat -40 lon 70",
        "temperature[time=0h,level=200]",
    ] {
        assert!(rows[0].contains(needle), "`{needle}` missing: {}", rows[0]);
    }
}

#[test]
fn sst_finite_over_land() {
    let (ok, text) = check(Edit {
        fill_nan: Some(("sea_surface_temperature", 290.0)),
        ..Edit::default()
    });
    assert!(!ok);
    for frame in [FRAME0, FRAME1] {
        assert!(
            text.lines().any(|l| l.contains("sea_surface_temperature")
                && l.contains(frame)
                && l.contains("land cell(s)")
                && l.contains("set SST to NaN over land")),
            "no land SST row for frame {frame}:\n{text}"
        );
    }
}

#[test]
fn out_of_range_value() {
    // 2m_temperature is (batch, time, lat, lon): frame 0, latitude index 2 (−70°), longitude 0.
    let idx = 2 * 36;
    assert_rejected(
        Edit {
            poke: Some(("2m_temperature", idx, 500.0)),
            ..Edit::default()
        },
        &[
            "2m_temperature",
            FRAME0,
            "1 value(s) outside the physical range [150, 350]",
            "= 500 at lat -70 lon 0",
        ],
    );
}

#[test]
fn forecast_refuses_a_bad_dataset_with_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.nc");
    write_edited(
        &fixture_dataset("tiny-mha"),
        &bad,
        &Edit {
            fill_nan: Some(("sea_surface_temperature", 290.0)),
            ..Edit::default()
        },
    );
    let out_path = dir.path().join("out.nc");
    let out = forecast_on("tiny-mha", &bad, &out_path, &["--steps", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "accepted a bad dataset");
    assert!(err.contains("input checks failed"), "{err}");
    assert!(
        err.contains("variable") && err.contains("frame") && err.contains("problem"),
        "{err}"
    );
    assert!(
        err.contains("sea_surface_temperature") && err.contains(FRAME1),
        "{err}"
    );
    assert!(!out_path.exists(), "output written for a bad dataset");
}

#[test]
fn geopotential_in_metres_is_caught() {
    let metres = 1.0 / 9.80665;
    assert_rejected(
        Edit {
            scale: Some(("geopotential", metres)),
            ..Edit::default()
        },
        &[
            "geopotential",
            "500",
            "outside the physical range",
            "metres",
        ],
    );
    assert_rejected(
        Edit {
            scale: Some(("geopotential_at_surface", metres)),
            ..Edit::default()
        },
        &["geopotential_at_surface", "looks like heights in metres"],
    );
}

#[test]
fn a_missing_land_sea_mask_or_datetime_is_reported_as_missing() {
    let (ok, text) = check(Edit {
        drop: &["land_sea_mask"],
        ..Edit::default()
    });
    assert!(!ok, "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("land_sea_mask") && l.contains("missing variable")),
        "{text}"
    );
    // Sea-surface temperature's NaNs over land are not mistaken for NaNs over sea.
    assert!(!text.contains("NaN value(s) over sea"), "{text}");
    assert_rejected(
        Edit {
            no_datetime: true,
            ..Edit::default()
        },
        &["datetime", "missing variable"],
    );
}

#[test]
fn units_other_than_the_models_are_reported_by_name() {
    // Temperature said to be in °C, pressure in hPa (the values 100 times smaller). GenCast's
    // precipitation is a target, not an input, so `check` does not read it.
    assert_rejected(
        Edit {
            units: Some(("2m_temperature", "degC")),
            ..Edit::default()
        },
        &["2m_temperature", "units `degC`, expected `K`"],
    );
    assert_rejected(
        Edit {
            units: Some(("mean_sea_level_pressure", "hPa")),
            scale: Some(("mean_sea_level_pressure", 0.01)),
            ..Edit::default()
        },
        &["mean_sea_level_pressure", "units `hPa`, expected `Pa`"],
    );
    // The model's units in another spelling are the model's units.
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("ok.nc");
    write_edited(
        &fixture_dataset("tiny-mha"),
        &ok,
        &Edit {
            units: Some(("geopotential", "m**2 s**-2")),
            ..Edit::default()
        },
    );
    check_passes(&ok);
}

#[test]
fn the_range_hint_names_the_variables_own_units() {
    // Half the temperature in K falls below 150 K: the hint speaks of K, not of geopotential.
    let (ok, text) = check(Edit {
        scale: Some(("2m_temperature", 0.5)),
        ..Edit::default()
    });
    assert!(!ok, "{text}");
    let row = text
        .lines()
        .find(|l| l.contains("2m_temperature") && l.contains("outside the physical range"))
        .unwrap_or_else(|| panic!("no range row:\n{text}"));
    assert!(
        row.contains("`2m_temperature` is expected in `K`") && row.contains("°C"),
        "{row}"
    );
    assert!(!row.contains("geopotential"), "{row}");
}
