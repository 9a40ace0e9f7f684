//! `gencast stats` on the reference's 2-step, 2-member rollout with the example dataset as truth.

use crate::support;

use support::{json, run};

use gencast::data::Dataset;
use gencast::output::forecast_nc::{ForecastLayout, ForecastWriter, OutputVariable};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../gencast/tests/fixtures/tiny-mha/"
);
const ROLLOUT: &str = "rollout_2step_2members.nc";
const TRUTH: &str = "source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc";

const VARIABLES: [&str; 12] = [
    "10m_u_component_of_wind",
    "10m_v_component_of_wind",
    "2m_temperature",
    "geopotential",
    "mean_sea_level_pressure",
    "sea_surface_temperature",
    "specific_humidity",
    "temperature",
    "total_precipitation_12hr",
    "u_component_of_wind",
    "v_component_of_wind",
    "vertical_velocity",
];

fn fixture(name: &str) -> String {
    format!("{DIR}{name}")
}

fn row<'a>(
    v: &'a serde_json::Value,
    var: &str,
    level: Option<i64>,
    lead: f64,
) -> &'a serde_json::Value {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["variable"] == var && r["level"].as_i64() == level && r["lead_hours"] == lead)
        .unwrap_or_else(|| panic!("no row {var} {level:?} {lead}"))
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// Expected values computed independently with xarray/numpy in f64 from the same files:
/// weights cos(lat)·sin(5°) with pole rows sin²(2.5°), normalised to mean 1, NaN points dropped;
/// truth frames 2 and 3 for leads 12h and 24h. Columns: valid points, mean, spread, CRPS, RMSE,
/// unbiased RMSE, SSR.
/// Variable, level, lead hours, valid points and the six expected values.
type Expected = (&'static str, Option<i64>, f64, usize, [f64; 6]);

const EXPECTED: [Expected; 4] = [
    (
        "2m_temperature",
        None,
        12.0,
        684,
        [
            279.9636909436437,
            0.6616473372673204,
            2.751827007638539,
            3.8410843232106244,
            3.812484777485407,
            0.21096886056141298,
        ],
    ),
    (
        "sea_surface_temperature",
        None,
        24.0,
        383,
        [
            288.604014112386,
            0.4963777375552261,
            1.193842502872436,
            1.7739042865699202,
            1.7388332262586068,
            0.342710761198536,
        ],
    ),
    (
        "geopotential",
        Some(500),
        12.0,
        684,
        [
            53784.234876994655,
            69.65408487428982,
            48.151504374236595,
            102.7842799400232,
            90.21508982953833,
            0.8299759775623298,
        ],
    ),
    (
        "specific_humidity",
        Some(850),
        24.0,
        684,
        [
            0.0043368557157523,
            0.0017423276674276465,
            0.0016212648710078998,
            0.0029337258011375884,
            0.0026624977419555593,
            0.7273709336224371,
        ],
    ),
];

fn check_expected(v: &serde_json::Value) {
    for (var, level, lead, n, want) in EXPECTED {
        let r = row(v, var, level, lead);
        assert_eq!(r["valid_points"], n, "{var}");
        let keys = [
            "mean",
            "spread",
            "crps",
            "rmse",
            "rmse_unbiased",
            "spread_skill",
        ];
        for (k, w) in keys.iter().zip(want) {
            let got = r[*k].as_f64().unwrap();
            // Both sides are f64 sums of the same f32 data in different orders.
            assert!(
                rel(got, w) < 1e-12,
                "{var} {level:?} {lead} {k}: {got} vs {w}"
            );
        }
    }
}

#[test]
fn table_names_every_variable_and_json_is_finite_and_matches_numpy() {
    let (forecast, truth) = (fixture(ROLLOUT), fixture(TRUTH));
    let (ok, table, stderr) = run(&["stats", "--forecast", &forecast, "--truth", &truth]);
    assert!(ok, "{stderr}");
    assert!(table.contains("crps") && table.contains("ssr"), "{table}");
    let fc = Dataset::open(&forecast).unwrap();
    for var in VARIABLES {
        // 2 leads for surface variables, 2 × 13 levels for atmospheric ones.
        let lines = table
            .lines()
            .filter(|l| l.split_whitespace().next() == Some(var))
            .count();
        let levelled = fc.variable(var).unwrap().dims.iter().any(|d| d == "level");
        assert_eq!(lines, if levelled { 2 * 13 } else { 2 }, "{var}\n{table}");
    }

    let v = json(&[
        "stats",
        "--forecast",
        &forecast,
        "--truth",
        &truth,
        "--json",
    ]);
    assert_eq!(v["members"], 2);
    assert_eq!(v["truth_frames"], serde_json::json!([2, 3]));
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2 * (6 + 6 * 13));
    for r in rows {
        for k in [
            "mean",
            "spread",
            "crps",
            "rmse",
            "mse_unbiased",
            "rmse_unbiased",
            "spread_skill",
        ] {
            let x = r[k].as_f64().unwrap_or(f64::NAN);
            assert!(x.is_finite(), "{r}: {k}");
        }
        assert!(r["crps"].as_f64().unwrap() >= 0.0);
    }
    check_expected(&v);

    // Without a truth: only the mean and spread, which do not change.
    let v2 = json(&["stats", "--forecast", &forecast, "--json"]);
    let r = row(&v2, "2m_temperature", None, 12.0);
    assert!(r.get("crps").is_none());
    assert_eq!(r["mean"], row(&v, "2m_temperature", None, 12.0)["mean"]);
}

#[test]
fn output_file_holds_mean_std_quantiles_and_scores() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stats.nc");
    let out_s = out.to_str().unwrap();
    let (forecast, truth) = (fixture(ROLLOUT), fixture(TRUTH));
    let v = json(&[
        "stats",
        "--forecast",
        &forecast,
        "--truth",
        &truth,
        "--output",
        out_s,
        "--quantiles",
        "0,0.5,1",
        "--json",
    ]);
    assert!(out.exists() && !dir.path().join("stats.nc.tmp").exists());

    let fc = Dataset::open(&forecast).unwrap();
    let s = Dataset::open_lenient(&out).unwrap();
    assert_eq!(s.level(), fc.level());
    assert_eq!(s.time(), fc.time());
    for var in ["2m_temperature", "sea_surface_temperature", "temperature"] {
        let x = fc.read_all(var).unwrap(); // (sample, batch, time, [level,] lat, lon)
        let n = x.data.len() / 2;
        let mean = s.read_all(&format!("mean__{var}")).unwrap();
        let std = s.read_all(&format!("std__{var}")).unwrap();
        let q = s.read_all(&format!("quantile__{var}")).unwrap();
        assert_eq!(mean.data.len(), n);
        assert_eq!(q.data.len(), 3 * n);
        for i in 0..n {
            let (a, b) = (f64::from(x.data[i]), f64::from(x.data[n + i]));
            if a.is_nan() {
                assert!(mean.data[i].is_nan() && std.data[i].is_nan() && q.data[n + i].is_nan());
                continue;
            }
            // Two members: mean (a+b)/2, std (ddof 1) |a−b|/√2, quantiles min, mean, max;
            // each computed in f64 and rounded once to f32.
            assert_eq!(mean.data[i], ((a + b) / 2.0) as f32);
            assert_eq!(std.data[i], ((a - b).abs() / 2f64.sqrt()) as f32);
            assert_eq!(q.data[i], a.min(b) as f32);
            assert_eq!(q.data[n + i], mean.data[i]);
            assert_eq!(q.data[2 * n + i], a.max(b) as f32);
        }
    }
    // Scores: (time) for surface variables, (time, level) for atmospheric ones, as in the JSON.
    let crps = s.read_all("crps__2m_temperature").unwrap();
    assert_eq!(crps.dims, ["time"]);
    let want = row(&v, "2m_temperature", None, 24.0)["crps"]
        .as_f64()
        .unwrap();
    assert_eq!(f64::from(crps.data[1]), f64::from(want as f32));
    let ssr = s.read_all("spread_skill__geopotential").unwrap();
    assert_eq!(ssr.dims, ["time", "level"]);
    let k = fc.level_index(500).unwrap();
    let want = row(&v, "geopotential", Some(500), 12.0)["spread_skill"]
        .as_f64()
        .unwrap();
    assert_eq!(ssr.data[k], want as f32);
    // Every data variable has units: the forecast variable's for statistics and scores (the
    // reference's rollout file has none, so the CF table's), none for the ratio.
    let units = |name: &str| {
        s.variables()
            .iter()
            .find(|x| x.name == name)
            .and_then(|x| x.units.clone())
    };
    assert_eq!(units("mean__2m_temperature").as_deref(), Some("K"));
    assert_eq!(units("crps__geopotential").as_deref(), Some("m2 s-2"));
    assert_eq!(units("spread_skill__geopotential").as_deref(), Some("1"));
    for x in s.variables().iter().filter(|x| x.name.contains("__")) {
        assert!(x.units.is_some(), "{} has no units", x.name);
    }
}

/// Writes the fixture rollout again with our forecast writer, which adds valid times.
fn rewrite_with_datetime(path: &std::path::Path, init_time: &str) {
    let fc = Dataset::open(fixture(ROLLOUT)).unwrap();
    let variables: Vec<OutputVariable> = VARIABLES
        .iter()
        .map(|v| OutputVariable {
            name: v.to_string(),
            levelled: fc.variable(v).unwrap().dims.contains(&"level".to_string()),
            units: None,
            statistic: None,
        })
        .collect();
    let layout = ForecastLayout {
        variables: variables.clone(),
        levels: fc.level().to_vec(),
        lat: fc.lat().to_vec(),
        lon: fc.lon().to_vec(),
        members: vec![0, 1],
        lead_hours: vec![12, 24],
        init_time: init_time.into(),
        history: "test".into(),
        naming: Default::default(),
        statics: Vec::new(),
    };
    let mut w = ForecastWriter::create(path, layout).unwrap();
    for (vi, v) in variables.iter().enumerate() {
        let x = fc.read_all(&v.name).unwrap();
        let per = x.data.len() / 4;
        for m in 0..2 {
            for s in 0..2 {
                let start = (m * 2 + s) * per;
                w.write_field(m, s, vi, &x.data[start..start + per])
                    .unwrap();
            }
        }
    }
    w.finish().unwrap();
}

#[test]
fn valid_times_select_truth_frames() {
    let dir = tempfile::tempdir().unwrap();
    let truth = fixture(TRUTH);
    // Initialised at the truth's frame 1 (2019-03-29T12): valid times are frames 2 and 3, the same
    // frames as the lead-time convention, so the scores are identical.
    let path = dir.path().join("f.nc");
    rewrite_with_datetime(&path, "2019-03-29T12:00:00");
    let v = json(&[
        "stats",
        "--forecast",
        path.to_str().unwrap(),
        "--truth",
        &truth,
        "--json",
    ]);
    assert_eq!(v["truth_frames"], serde_json::json!([2, 3]));
    assert_eq!(v["valid_times"][1], "2019-03-30T12:00:00");
    check_expected(&v);

    // Initialised one frame later: lead 12h verifies against frame 3, lead 24h has no truth.
    let later = dir.path().join("g.nc");
    rewrite_with_datetime(&later, "2019-03-30T00:00:00");
    let v = json(&[
        "stats",
        "--forecast",
        later.to_str().unwrap(),
        "--truth",
        &truth,
        "--json",
    ]);
    assert_eq!(v["truth_frames"], serde_json::json!([3, null]));
    assert!(row(&v, "2m_temperature", None, 12.0)["crps"]
        .as_f64()
        .unwrap()
        .is_finite());
    assert!(row(&v, "2m_temperature", None, 24.0).get("crps").is_none());
    // --truth-init-frame overrides the valid times: frame 1 + leads -> frames 2, 3 again.
    let v = json(&[
        "stats",
        "--forecast",
        later.to_str().unwrap(),
        "--truth",
        &truth,
        "--truth-init-frame",
        "1",
        "--json",
    ]);
    assert_eq!(v["truth_frames"], serde_json::json!([2, 3]));
}

#[test]
fn bad_requests_are_clear_errors() {
    let (forecast, truth) = (fixture(ROLLOUT), fixture(TRUTH));
    let (ok, _, err) = run(&[
        "stats",
        "--forecast",
        &forecast,
        "--truth",
        &truth,
        "--truth-init-frame",
        "9",
    ]);
    assert!(!ok && err.contains("init frame 9"), "{err}");
    let (ok, _, err) = run(&[
        "stats",
        "--forecast",
        &forecast,
        "--truth",
        &truth,
        "--truth-init-frame",
        "3",
    ]);
    assert!(!ok && err.contains("no frame matches"), "{err}");
    let (ok, _, err) = run(&["stats", "--forecast", &truth]);
    assert!(!ok && err.contains("is this a forecast file"), "{err}");
    let (ok, _, err) = run(&["stats", "--forecast", &forecast, "--variables", "nope"]);
    assert!(!ok && err.contains("nope"), "{err}");
    let (ok, _, err) = run(&["stats", "--forecast", &forecast, "--quantiles", "1.5"]);
    assert!(!ok && err.contains("1.5"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.nc");
    let (ok, _, err) = run(&[
        "stats",
        "--forecast",
        &forecast,
        "--output",
        out.to_str().unwrap(),
        "--truth",
        "/nonexistent.nc",
    ]);
    assert!(!ok && err.contains("nonexistent"), "{err}");
    assert!(!out.exists());
}

#[test]
fn a_zarr_store_without_coordinates_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("f.zarr");
    std::fs::create_dir(&store).unwrap();
    std::fs::write(store.join("zarr.json"), "{}").unwrap();
    let s = store.to_str().unwrap();
    let png = dir.path().join("m.png");
    // `stats`, `check` and `plot` read Zarr stores: an empty one lacks its coordinates.
    let png_arg = png.to_str().unwrap();
    for args in [
        vec!["stats", "--forecast", s],
        vec!["check", "--dataset", s],
        vec![
            "plot",
            "--input",
            s,
            "--variable",
            "2m_temperature",
            "--output",
            png_arg,
        ],
    ] {
        let (ok, out, err) = run(&args);
        let text = format!("{out}{err}");
        assert!(
            !ok && text.contains("missing coordinate") && text.contains("f.zarr"),
            "{args:?}: {text}"
        );
    }
    assert!(!png.exists());
}
