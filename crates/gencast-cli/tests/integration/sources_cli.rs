//! `gencast sources --json` agrees with inventories of the same files made independently:
//! GRIB with ecCodes, NetCDF with netCDF4 and Zarr with zarr-python
//! (tools/make_sources_expected.py writes `NAME.expected.json` next to each source).

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{fixture, run};

/// The sources of `dir` that have an expected inventory: `NAME.expected.json` next to `NAME`
/// (or next to `NAME` without its extension).
fn with_expected(dir: &Path, only_grib: bool) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") || (only_grib && !name.contains(".grib")) {
            continue;
        }
        let full = dir.join(format!("{name}.expected.json"));
        let stem = path
            .file_stem()
            .map(|s| dir.join(format!("{}.expected.json", s.to_string_lossy())));
        if full.exists() {
            out.push((path, full));
        } else if let Some(stem) = stem.filter(|s| s.exists()) {
            out.push((path, stem));
        }
    }
    out.sort();
    out
}

fn key(row: &Value) -> String {
    ["message", "name", "level", "valid_time", "member"]
        .map(|k| row[k].to_string())
        .join(" ")
}

fn f(row: &Value, k: &str) -> Option<f64> {
    row[k].as_f64()
}

/// Compares `gencast sources --json` on `source` with `expected`; returns the differences.
fn compare(source: &Path, expected: &Path) -> Vec<String> {
    let (ok, stdout, stderr) = run(&["sources", "--json", source.to_str().unwrap()]);
    if !ok {
        return vec![format!("{}: failed: {stderr}", source.display())];
    }
    let got: Value = serde_json::from_str(&stdout).unwrap();
    let want: Value = serde_json::from_str(&std::fs::read_to_string(expected).unwrap()).unwrap();
    let file = source.file_name().unwrap().to_string_lossy().into_owned();
    let mut diffs = Vec::new();
    let got_rows = got["fields"].as_array().unwrap();
    let want_rows = want["fields"].as_array().unwrap();
    let mut by_key: BTreeMap<String, &Value> = BTreeMap::new();
    for r in got_rows {
        if by_key.insert(key(r), r).is_some() {
            diffs.push(format!("{file}: two rows for {}", key(r)));
        }
    }
    // A long inventory's expected file holds its row count and the rows at one valid time.
    let count = want["count"]
        .as_u64()
        .map_or(want_rows.len(), |c| c as usize);
    if got_rows.len() != count {
        diffs.push(format!("{file}: {} rows, expected {count}", got_rows.len()));
    }
    for w in want_rows {
        let k = key(w);
        let Some(g) = by_key.get(&k) else {
            diffs.push(format!("{file}: no row for {k}"));
            continue;
        };
        let source_name = g["source"]
            .as_str()
            .and_then(|s| Path::new(s).file_name())
            .map(|s| s.to_string_lossy().into_owned());
        if source_name.as_deref() != w["source"].as_str() {
            diffs.push(format!("{file} {k}: source {}", g["source"]));
        }
        for exact in ["variable", "units", "nlat", "nlon"] {
            if g[exact] != w[exact] {
                diffs.push(format!("{file} {k}: {exact} {} != {}", g[exact], w[exact]));
            }
        }
        // Grid corners: both readers take them from the same stored numbers (GRIB stores
        // micro- or milli-degrees), so they agree to far better than a millionth of a degree.
        for c in ["lat_min", "lat_max", "lon_min", "lon_max"] {
            match (f(g, c), f(w, c)) {
                (Some(a), Some(b)) if (a - b).abs() <= 1e-6 => {}
                _ => diffs.push(format!("{file} {k}: {c} {} != {}", g[c], w[c])),
            }
        }
        // Values: gencast keeps them as float32 (relative rounding 6e-8), the expectation in
        // float64, so they agree to 1e-6 of the field's magnitude; packed GRIB data may also
        // differ by one decoding step (`step`, in model units) between decoders.
        let scale = [f(w, "min"), f(w, "max")]
            .iter()
            .flatten()
            .fold(0f64, |m, x| m.max(x.abs()));
        let tol = 1e-6 * scale + f(w, "step").unwrap_or(0.0);
        for s in ["min", "max", "mean"] {
            match (f(g, s), f(w, s)) {
                (None, None) => {}
                (Some(a), Some(b)) if (a - b).abs() <= tol => {}
                _ => diffs.push(format!("{file} {k}: {s} {} != {} (± {tol})", g[s], w[s])),
            }
        }
    }
    // Skipped entries: the reason is free text; the message and name must agree.
    let skipped = |v: &Value| -> BTreeSet<String> {
        v["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| format!("{} {}", s["message"], s["name"]))
            .collect()
    };
    if skipped(&got) != skipped(&want) {
        diffs.push(format!(
            "{file}: skipped {:?}, expected {:?}",
            skipped(&got),
            skipped(&want)
        ));
    }
    diffs
}

#[test]
fn sources_json_agrees_with_independent_readers_on_the_prepare_fixtures() {
    let cases = with_expected(&fixture("prepare"), false);
    let names: Vec<String> = cases
        .iter()
        .map(|(s, _)| s.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // GRIB 1 and 2 (IEEE and simple packing), CDS NetCDF and a WeatherBench-2 Zarr store.
    for needed in [
        "era5-ieee.grib2",
        "era5-static.grib1",
        "era5-single-levels.grib2",
        "cds-single-levels.nc",
        "cds-precipitation.nc",
        "wb2.zarr",
    ] {
        assert!(
            names.iter().any(|n| n == needed),
            "{needed} has no expected file"
        );
    }
    let diffs: Vec<String> = cases.iter().flat_map(|(s, e)| compare(s, e)).collect();
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// The corpus files whose reading is refused (no expected inventory), with what the refusal
/// must name.
const REFUSED: [(&str, &str); 3] = [
    ("duplicates-conflicting.grib2", "different values"),
    ("year-missing.grib2", "year"),
    ("second-order.grib1", "second-order"),
];

#[test]
fn sources_json_agrees_with_eccodes_on_the_grib_corpus() {
    let dir = fixture("grib-corpus");
    let cases = with_expected(&dir, true);
    // Every GRIB file of the corpus is either compared with its ecCodes inventory or refused.
    let gribs: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("the GRIB corpus (tools/make_grib_corpus.py)")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".grib") && !n.ends_with(".json"))
        .collect();
    let compared: BTreeSet<String> = cases
        .iter()
        .map(|(s, _)| s.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let refused: BTreeSet<String> = REFUSED.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        gribs,
        &compared | &refused,
        "corpus files without an expected inventory or a refusal"
    );
    assert!(compared.len() >= 11, "{compared:?}");
    let diffs: Vec<String> = cases.iter().flat_map(|(s, e)| compare(s, e)).collect();
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn sources_refuses_the_corpus_files_it_cannot_read_naming_file_and_cause() {
    let dir = fixture("grib-corpus");
    for (name, cause) in REFUSED {
        let path = dir.join(name);
        let (ok, stdout, stderr) = run(&["sources", "--json", path.to_str().unwrap()]);
        assert!(!ok, "{name}: accepted:\n{stdout}");
        assert!(stderr.contains(name), "{name}: {stderr}");
        assert!(stderr.contains("message"), "{name}: {stderr}");
        assert!(stderr.contains(cause), "{name}: {stderr}");
    }
}

#[test]
fn sources_json_has_the_documented_shape_and_converted_units() {
    let src = fixture("prepare").join("era5-static.grib1");
    let (ok, stdout, stderr) = run(&["sources", "--json", src.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let keys: BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["fields", "skipped"]));
    let row = v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "z")
        .unwrap();
    let keys: Vec<&str> = row
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = vec![
        "source",
        "message",
        "name",
        "variable",
        "level",
        "valid_time",
        "member",
        "units",
        "lat_min",
        "lat_max",
        "lon_min",
        "lon_max",
        "nlat",
        "nlon",
        "min",
        "max",
        "mean",
    ];
    want.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, want);
    // The source as given; the surface geopotential in the model's spelling of its units.
    assert_eq!(row["source"], src.to_str().unwrap());
    assert_eq!(row["variable"], "geopotential_at_surface");
    assert_eq!(row["units"], "m2 s-2");
    assert_eq!(row["valid_time"], "1959-01-01T00:00");
}

#[test]
fn sources_prints_a_table_and_fails_naming_an_unreadable_source() {
    let src = fixture("prepare").join("cds-static.nc");
    let (ok, stdout, stderr) = run(&["sources", src.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("2 field slice(s)"), "{stdout}");
    assert!(
        stdout.contains("geopotential_at_surface") && stdout.contains("land_sea_mask"),
        "{stdout}"
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("notes.txt");
    std::fs::write(&bad, "not weather").unwrap();
    let out = support::gencast(&["sources", "--json", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("notes.txt") && err.contains("not NetCDF"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}
