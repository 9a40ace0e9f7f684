//! `gencast stats` and `gencast check` on every output format and layout, regional scores,
//! anomaly correlations, rank histograms, score maps and the CSV table, checked against naive
//! f64 computations from the files.

use crate::support;
use crate::zarr_copy;

use std::path::{Path, PathBuf};

use gencast::data::Dataset;
use gencast::forecast::AttrValue;
use gencast::forecast::Naming;
use gencast::output::netcdf::{NcHeader, NcType, NcWriter};
use gencast::output::stats::normalized_latitude_weights;
use serde_json::Value;
use support::{fixture, fixture_dataset, gencast, json, row, run};
use zarr_copy::{nc_to_zarr, rewrite_forecast, Format};

/// The reference's 2-member, 2-step rollout (no valid times).
fn rollout() -> PathBuf {
    fixture("tiny-mha").join("rollout_2step_2members.nc")
}

/// Initialised at the truth's frame 1, so valid times select truth frames 2 and 3.
const INIT: &str = "2019-03-29T12:00:00";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stats(forecast: &Path, truth: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "stats",
        "--forecast",
        s(forecast),
        "--truth",
        s(truth),
        "--json",
    ];
    args.extend(extra);
    json(&args)
}

#[test]
fn stats_read_zarr_and_weatherbench2_outputs_and_zarr_truth_alike() {
    let dir = tempfile::tempdir().unwrap();
    let truth = fixture_dataset("tiny-mha");
    let truth_zarr = dir.path().join("truth.zarr");
    nc_to_zarr(&truth, &truth_zarr);
    let base = stats(&rollout(), &truth, &[]);
    assert_eq!(base["layout"], "reference");
    for (format, naming) in [
        (Format::Nc, Naming::Reference),
        (Format::Zarr, Naming::Reference),
        (Format::Nc, Naming::WeatherBench2),
        (Format::Zarr, Naming::WeatherBench2),
    ] {
        let p = dir.path().join(format!("{format:?}-{naming:?}"));
        rewrite_forecast(&rollout(), &p, format, naming, INIT, None);
        for t in [&truth, &truth_zarr] {
            let v = stats(&p, t, &[]);
            // Same f32 data, same computations: identical numbers.
            assert_eq!(
                v["rows"],
                base["rows"],
                "{format:?} {naming:?} {}",
                t.display()
            );
            assert_eq!(v["truth_frames"], serde_json::json!([2, 3]));
            assert_eq!(v["init_time"], "2019-03-29T12:00:00");
        }
        let v = stats(&p, &truth, &[]);
        let want = match naming {
            Naming::Reference => "reference",
            Naming::WeatherBench2 => "weatherbench2",
        };
        assert_eq!(v["layout"], want);
    }
}

/// Area-weighted fair CRPS of one field over the points `pts` of the 10° grid, in f64 from the
/// files: `x[m][p]`, truth `y[p]`.
fn naive_crps(x: &[Vec<f32>], y: &[f32], pts: &[usize], lat_w: &[f64]) -> (f64, usize) {
    let (mut sum, mut wsum, mut n) = (0.0, 0.0, 0);
    for &p in pts {
        let v: Vec<f64> = x.iter().map(|m| f64::from(m[p])).collect();
        let t = f64::from(y[p]);
        if !t.is_finite() || v.iter().any(|a| !a.is_finite()) {
            continue;
        }
        let m = v.len() as f64;
        let skill = v.iter().map(|a| (a - t).abs()).sum::<f64>() / m;
        let mut pairs = 0.0;
        for a in &v {
            for b in &v {
                pairs += (a - b).abs();
            }
        }
        let w = lat_w[p / 36];
        sum += w * (skill - pairs / (2.0 * m * (m - 1.0)));
        wsum += w;
        n += 1;
    }
    (sum / wsum, n)
}

#[test]
fn region_scores_cross_zero_and_equal_those_of_a_regional_output() {
    let dir = tempfile::tempdir().unwrap();
    let truth = fixture_dataset("tiny-mha");
    // 30°S..40°N, 60°W..50°E on the 10° grid: rows 6..=13, columns 30..=35 then 0..=5.
    let region = "-30,40,-60,50";
    let rows: Vec<usize> = (6..=13).collect();
    let cols: Vec<usize> = (30..36).chain(0..6).collect();
    let lons: Vec<f32> = cols
        .iter()
        .map(|&j| {
            if j >= 30 {
                j as f32 * 10.0 - 360.0
            } else {
                j as f32 * 10.0
            }
        })
        .collect();
    let global = stats(&rollout(), &truth, &["--region", region]);
    assert_eq!(global["region"], region);
    for format in [Format::Nc, Format::Zarr] {
        let p = dir.path().join(format!("regional-{format:?}"));
        rewrite_forecast(
            &rollout(),
            &p,
            format,
            Naming::Reference,
            INIT,
            Some((&rows, &cols, &lons)),
        );
        let regional = stats(&p, &truth, &[]);
        let (a, b) = (
            global["rows"].as_array().unwrap(),
            regional["rows"].as_array().unwrap(),
        );
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x["valid_points"], y["valid_points"]);
            assert_eq!(x["rank_histogram"], y["rank_histogram"]);
            for k in ["mean", "spread", "crps", "rmse", "spread_skill"] {
                let (u, v) = (x[k].as_f64().unwrap(), y[k].as_f64().unwrap());
                // The weights differ by a constant factor, which changes the f64 rounding only.
                assert!(
                    (u - v).abs() <= 1e-12 * u.abs().max(1e-30),
                    "{k}: {u} vs {v}"
                );
            }
        }
    }
    // Against a naive computation: 2m temperature at 12 h (truth frame 2).
    let fc = Dataset::open(rollout()).unwrap();
    let t = Dataset::open(&truth).unwrap();
    let x = fc.read_all("2m_temperature").unwrap().data; // (sample, time, lat, lon)
    let n = 19 * 36;
    let members = vec![x[0..n].to_vec(), x[2 * n..3 * n].to_vec()];
    let y = t.read("2m_temperature", Some(2..3)).unwrap().data;
    let pts: Vec<usize> = rows
        .iter()
        .flat_map(|&i| cols.iter().map(move |&j| i * 36 + j))
        .collect();
    let w = normalized_latitude_weights(fc.lat()).unwrap();
    let (want, count) = naive_crps(&members, &y, &pts, &w);
    let r = row(&global, "2m_temperature", None, 12.0);
    assert_eq!(r["valid_points"], count);
    let got = r["crps"].as_f64().unwrap();
    // f64 sums of the same terms in other orders.
    assert!((got - want).abs() <= 1e-12 * want, "{got} vs {want}");
    // A region holding no grid point is refused by name.
    let (ok, _, err) = run(&["stats", "--forecast", s(&rollout()), "--region", "1,2,1,2"]);
    assert!(!ok && err.contains("holds no point"), "{err}");
}

/// Writes a climatology from the truth dataset: the mean of its frames, per variable,
/// `(level, lat, lon)` or `(lat, lon)`.
fn write_climatology(truth: &Path, dst: &Path, vars: &[&str]) {
    let t = Dataset::open(truth).unwrap();
    let mut h = NcHeader::default();
    let l = h.add_dim("level", t.level().len());
    let y = h.add_dim("lat", 19);
    let x = h.add_dim("lon", 36);
    h.add_var("level", &[l], NcType::Int, vec![]);
    h.add_var("lat", &[y], NcType::Float, vec![]);
    h.add_var("lon", &[x], NcType::Float, vec![]);
    let mut data = Vec::new();
    for v in vars {
        let a = t.read(v, None).unwrap(); // (time, [level,] lat, lon)
        let frames = a.shape[0];
        let per = a.data.len() / frames;
        let mean: Vec<f32> = (0..per)
            .map(|i| {
                ((0..frames)
                    .map(|f| f64::from(a.data[f * per + i]))
                    .sum::<f64>()
                    / frames as f64) as f32
            })
            .collect();
        let dims = if a.dims.contains(&"level".to_string()) {
            vec![l, y, x]
        } else {
            vec![y, x]
        };
        let attrs = vec![("_FillValue".into(), AttrValue::Float(vec![f32::NAN]))];
        data.push((h.add_var(v, &dims, NcType::Float, attrs), mean));
    }
    let mut w = NcWriter::create(dst, h).unwrap();
    w.write_i32(0, 0, t.level()).unwrap();
    w.write_f32(1, 0, t.lat()).unwrap();
    w.write_f32(2, 0, t.lon()).unwrap();
    for (i, d) in data {
        w.write_f32(i, 0, &d).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn acc_rank_histograms_maps_and_csv_match_naive_values() {
    let dir = tempfile::tempdir().unwrap();
    let truth = fixture_dataset("tiny-mha");
    let clim = dir.path().join("clim.nc");
    let vars = ["2m_temperature", "geopotential"];
    write_climatology(&truth, &clim, &vars);
    let out = dir.path().join("stats.nc");
    let csv = dir.path().join("table.csv");
    let v = stats(
        &rollout(),
        &truth,
        &[
            "--variables",
            "2m_temperature,geopotential",
            "--climatology",
            s(&clim),
            "--output",
            s(&out),
            "--csv",
            s(&csv),
        ],
    );
    let fc = Dataset::open(rollout()).unwrap();
    let t = Dataset::open(&truth).unwrap();
    let c = Dataset::open(&clim).unwrap();
    let w = normalized_latitude_weights(fc.lat()).unwrap();
    let n = 19 * 36;
    let k500 = fc.level_index(500).unwrap();
    let nlev = fc.level().len();
    for (var, level, lead) in [
        ("2m_temperature", None, 0usize),
        ("geopotential", Some(500), 1),
    ] {
        let levelled = level.is_some();
        let per = if levelled { nlev * n } else { n };
        let off = if levelled { k500 * n } else { 0 };
        let x = fc.read_all(var).unwrap().data; // (sample, time, [level,] lat, lon)
        let m: Vec<&[f32]> = (0..2)
            .map(|s| {
                let start = (s * 2 + lead) * per + off;
                &x[start..start + n]
            })
            .collect();
        let ty = t.read(var, Some(2 + lead..3 + lead)).unwrap().data;
        let y = &ty[off..off + n];
        let cy = c.read_all(var).unwrap().data;
        let cl = &cy[off..off + n];
        let (mut fo, mut ff, mut oo) = (0.0, 0.0, 0.0);
        let mut hist = [0f64; 3];
        for p in 0..n {
            let (a, b, o) = (f64::from(m[0][p]), f64::from(m[1][p]), f64::from(y[p]));
            let f = (a + b) / 2.0 - f64::from(cl[p]);
            let oa = o - f64::from(cl[p]);
            let wt = w[p / 36];
            fo += wt * f * oa;
            ff += wt * f * f;
            oo += wt * oa * oa;
            let below = [a, b].iter().filter(|&&x| x < o).count();
            let equal = [a, b].iter().filter(|&&x| x == o).count();
            for h in &mut hist[below..=below + equal] {
                *h += 1.0 / (equal + 1) as f64;
            }
        }
        let want = fo / (ff * oo).sqrt();
        let r = row(&v, var, level, 12.0 * (lead + 1) as f64);
        let acc = r["acc"].as_f64().unwrap();
        // f64 sums of the same terms in other orders.
        assert!((acc - want).abs() < 1e-12, "{var}: {acc} vs {want}");
        let got: Vec<f64> = r["rank_histogram"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(got.len(), 3);
        for (g, h) in got.iter().zip(hist) {
            // Sums of the same fractions in other orders.
            assert!((g - h).abs() < 1e-9, "{var}: {got:?} vs {hist:?}");
        }
        assert!((got.iter().sum::<f64>() - n as f64).abs() < 1e-9);

        // The CRPS map: its area-weighted mean is the reported CRPS.
        let s = Dataset::open_lenient(&out).unwrap();
        let map = s.read_all(&format!("crps_map__{var}")).unwrap().data;
        let err_map = s.read_all(&format!("rmse_map__{var}")).unwrap().data;
        let start = lead * per + off;
        let (mut sum, mut wsum) = (0.0, 0.0);
        for p in 0..n {
            let cr = f64::from(map[start + p]);
            let (a, b, o) = (f64::from(m[0][p]), f64::from(m[1][p]), f64::from(y[p]));
            let want = ((a - o).abs() + (b - o).abs()) / 2.0 - (a - b).abs() / 2.0;
            // f64 values rounded once to f32.
            assert!(
                (cr - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{var} point {p}"
            );
            let e = f64::from(err_map[start + p]);
            let want_e = ((a + b) / 2.0 - o).abs();
            // f64 value rounded once to f32.
            assert!((want_e - e).abs() <= 1e-6 * e.max(1.0), "{var} point {p}");
            sum += w[p / 36] * cr;
            wsum += w[p / 36];
        }
        let crps = r["crps"].as_f64().unwrap();
        // The map holds f32 roundings of the per-point values.
        assert!((sum / wsum - crps).abs() <= 1e-6 * crps, "{var}");
        let accs = s.read_all(&format!("acc__{var}")).unwrap();
        let idx = if levelled { lead * nlev + k500 } else { lead };
        assert_eq!(f64::from(accs.data[idx]), f64::from(acc as f32));
        let ranks = s.read_all(&format!("rank_histogram__{var}")).unwrap();
        assert_eq!(*ranks.shape.last().unwrap(), 3);
    }
    // The CSV holds the JSON's numbers in full.
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        head,
        [
            "variable",
            "level",
            "units",
            "lead_hours",
            "valid_points",
            "mean",
            "spread",
            "crps",
            "rmse",
            "rmse_unbiased",
            "spread_skill",
            "acc",
            "scored_from",
            "rank_0",
            "rank_1",
            "rank_2"
        ]
    );
    let body: Vec<&str> = lines.collect();
    assert_eq!(body.len(), 2 * (1 + nlev));
    for line in body {
        let f: Vec<&str> = line.split(',').collect();
        let level = f[1].parse::<i64>().ok();
        let r = row(&v, f[0], level, f[3].parse().unwrap());
        // The file's units, per variable.
        let units = if f[0] == "geopotential" {
            "m2 s-2"
        } else {
            "K"
        };
        assert_eq!((f[2], r["units"].as_str()), (units, Some(units)));
        assert_eq!(f[4], r["valid_points"].to_string());
        for (i, k) in head.iter().enumerate().skip(5).take(7) {
            assert_eq!(f[i].parse::<f64>().unwrap(), r[*k].as_f64().unwrap(), "{k}");
        }
        assert_eq!(
            (f[12], r["scored_from"].as_str()),
            ("members", Some("members"))
        );
        // Rank histogram counts in full, as in the JSON.
        let ranks: Vec<f64> = f[13..].iter().map(|x| x.parse().unwrap()).collect();
        let want: Vec<f64> = r["rank_histogram"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(ranks, want);
    }
}

#[test]
fn a_perfect_one_member_forecast_scores_zero_crps_and_unit_acc() {
    let dir = tempfile::tempdir().unwrap();
    let truth = fixture_dataset("tiny-mha");
    // One member equal to the truth at 12 h and 24 h: write truth frames 2 and 3 as a forecast.
    let t = Dataset::open(&truth).unwrap();
    let var = "2m_temperature";
    let x = t.read_all(var).unwrap().data;
    let n = 19 * 36;
    let layout = gencast::forecast::ForecastLayout {
        variables: vec![gencast::forecast::OutputVariable {
            name: var.into(),
            levelled: false,
            units: None,
            statistic: None,
        }],
        levels: vec![],
        lat: t.lat().to_vec(),
        lon: t.lon().to_vec(),
        members: vec![0],
        lead_hours: vec![12, 24],
        init_time: INIT.into(),
        history: "test".into(),
        naming: Naming::Reference,
        statics: Vec::new(),
    };
    let p = dir.path().join("perfect.nc");
    let mut w = gencast::output::forecast_nc::ForecastWriter::create(&p, layout).unwrap();
    for s in 0..2 {
        w.write_field(0, s, 0, &x[(2 + s) * n..(3 + s) * n])
            .unwrap();
    }
    w.finish().unwrap();
    let clim = dir.path().join("clim.nc");
    write_climatology(&truth, &clim, &[var]);
    let v = stats(&p, &truth, &["--climatology", s(&clim)]);
    for lead in [12.0, 24.0] {
        let r = row(&v, var, None, lead);
        assert_eq!(r["crps"], 0.0);
        assert_eq!(r["rmse"], 0.0);
        // f·o equals f² and o² exactly; only the square root rounds.
        assert!((r["acc"].as_f64().unwrap() - 1.0).abs() < 1e-15, "{r}");
        // Every point ties with the member: half a count in each of the two bins.
        assert_eq!(
            r["rank_histogram"],
            serde_json::json!([n as f64 / 2.0, n as f64 / 2.0])
        );
    }
}

#[test]
fn check_reads_zarr_datasets_and_refuses_forecast_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let ds = fixture_dataset("tiny-mha");
    let store = dir.path().join("dataset.zarr");
    nc_to_zarr(&ds, &store);
    let text = support::check_passes(&store);
    assert!(
        text.contains("checks passed (13 variables, 2 frames, 13 levels)")
            && text.contains("dataset.zarr"),
        "{text}"
    );
    // The JSON report of the store is that of the NetCDF file.
    let nc_report = gencast(&["check", "--dataset", s(&ds), "--json"]);
    let zarr_report = gencast(&["check", "--dataset", s(&store), "--json"]);
    assert_eq!(nc_report.stdout, zarr_report.stdout);

    for format in [Format::Nc, Format::Zarr] {
        let p = dir.path().join(format!("fc-{format:?}"));
        rewrite_forecast(&rollout(), &p, format, Naming::WeatherBench2, INIT, None);
        let (ok, _, err) = run(&["check", "--dataset", s(&p)]);
        assert!(
            !ok && err.contains("is a forecast output (2 members, 2 lead times)"),
            "{err}"
        );
    }
    let (ok, _, err) = run(&["check", "--dataset", s(&rollout())]);
    assert!(!ok && err.contains("forecast output"), "{err}");
}

#[test]
fn an_analysis_zarr_v2_store_serves_as_truth() {
    // The prepare fixture's WeatherBench-2 style store: Zarr v2, hourly absolute `time`,
    // latitude/longitude names, some variables stored (latitude, longitude, time). It holds the
    // example dataset's first three frames, so the 12 h lead (valid 2019-03-30T00) verifies and
    // the 24 h lead has no truth.
    let store = fixture("prepare").join("wb2.zarr");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("fc.zarr");
    rewrite_forecast(
        &rollout(),
        &p,
        Format::Zarr,
        Naming::WeatherBench2,
        INIT,
        None,
    );
    let vars = ["--variables", "2m_temperature,temperature"];
    let from_store = stats(&p, &store, &vars);
    let from_nc = stats(&p, &fixture_dataset("tiny-mha"), &vars);
    assert!(
        from_store["truth_frames"][0].is_u64(),
        "{}",
        from_store["truth_frames"]
    );
    assert!(from_store["truth_frames"][1].is_null());
    let rows = |v: &Value, lead: f64| -> Vec<Value> {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["lead_hours"] == lead)
            .cloned()
            .collect()
    };
    // Same values on the same points: identical scores.
    assert_eq!(rows(&from_store, 12.0), rows(&from_nc, 12.0));
    assert!(rows(&from_store, 24.0)
        .iter()
        .all(|r| r.get("crps").is_none()));
}

#[test]
fn a_selected_regional_weatherbench2_zarr_forecast_scores_like_the_region_of_a_full_run() {
    let dir = tempfile::tempdir().unwrap();
    let truth = fixture_dataset("tiny-mha");
    let (full, part) = (dir.path().join("full.nc"), dir.path().join("part.zarr"));
    let run = ["--members", "2", "--steps", "2", "--seed", "3"];
    support::assert_ok(&support::forecast("tiny-mha", &full, &run));
    let region = "-30,40,-60,50";
    let args: Vec<&str> = run
        .iter()
        .copied()
        .chain([
            "--region",
            region,
            "--variables",
            "2m_temperature,geopotential",
            "--levels",
            "500",
            "--output-every",
            "24h",
            "--layout",
            "weatherbench2",
        ])
        .collect();
    support::assert_ok(&support::forecast("tiny-mha", &part, &args));
    let whole = stats(&full, &truth, &["--region", region]);
    let sel = stats(&part, &truth, &[]);
    assert_eq!(sel["layout"], "weatherbench2");
    assert_eq!(sel["lead_hours"], serde_json::json!([24.0]));
    let rows = sel["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    for r in rows {
        let level = r["level"].as_i64();
        let w = row(&whole, r["variable"].as_str().unwrap(), level, 24.0);
        assert_eq!(r["valid_points"], w["valid_points"]);
        assert_eq!(r["rank_histogram"], w["rank_histogram"]);
        for k in ["mean", "spread", "crps", "rmse", "spread_skill"] {
            let (u, v) = (r[k].as_f64().unwrap(), w[k].as_f64().unwrap());
            // The weights differ by a constant factor, which changes the f64 rounding only.
            assert!((u - v).abs() <= 1e-12 * v.abs(), "{k}: {u} vs {v}");
        }
    }
}

#[test]
fn a_dayofyear_hour_climatology_in_any_dimension_order_selects_the_valid_times_slot() {
    let dir = tempfile::tempdir().unwrap();
    let truth = fixture_dataset("tiny-mha");
    let var = "2m_temperature";
    let simple = dir.path().join("simple.nc");
    write_climatology(&truth, &simple, &[var]);
    let mean = Dataset::open(&simple).unwrap().read_all(var).unwrap().data; // (lat, lon)
                                                                            // WeatherBench-2 style: (dayofyear, hour, longitude, latitude). Only the slots of the valid
                                                                            // times (day 89 = 2019-03-30, hours 0 and 12) hold the mean; the others are 50 K off.
    let (days, hours) = ([88, 89, 90], [0, 6, 12, 18]);
    let mut h = NcHeader::default();
    let d = h.add_dim("dayofyear", days.len());
    let hr = h.add_dim("hour", hours.len());
    let x = h.add_dim("longitude", 36);
    let y = h.add_dim("latitude", 19);
    h.add_var("dayofyear", &[d], NcType::Int, vec![]);
    h.add_var("hour", &[hr], NcType::Int, vec![]);
    h.add_var("longitude", &[x], NcType::Float, vec![]);
    h.add_var("latitude", &[y], NcType::Float, vec![]);
    h.add_var(var, &[d, hr, x, y], NcType::Float, vec![]);
    let mut values = Vec::new();
    for day in days {
        for hour in hours {
            let off = if day == 89 && (hour == 0 || hour == 12) {
                0.0
            } else {
                50.0
            };
            for lon in 0..36 {
                for lat in 0..19 {
                    values.push(mean[lat * 36 + lon] + off);
                }
            }
        }
    }
    let t = Dataset::open(&truth).unwrap();
    let mut w = NcWriter::create(&dir.path().join("wb2.nc"), h).unwrap();
    w.write_i32(0, 0, &days).unwrap();
    w.write_i32(1, 0, &hours).unwrap();
    w.write_f32(2, 0, t.lon()).unwrap();
    w.write_f32(3, 0, t.lat()).unwrap();
    w.write_f32(4, 0, &values).unwrap();
    w.finish().unwrap();
    let wb2 = dir.path().join("wb2.nc");

    let fc = dir.path().join("fc.nc");
    rewrite_forecast(&rollout(), &fc, Format::Nc, Naming::Reference, INIT, None);
    let only = ["--variables", var, "--climatology"];
    let a = stats(&fc, &truth, &[&only[..], &[s(&simple)]].concat());
    let b = stats(&fc, &truth, &[&only[..], &[s(&wb2)]].concat());
    for lead in [12.0, 24.0] {
        let (x, y) = (row(&a, var, None, lead), row(&b, var, None, lead));
        assert!(x["acc"].as_f64().unwrap().is_finite());
        assert_eq!(x["acc"], y["acc"], "lead {lead}");
    }
    // The reference's rollout has no valid times to pick a day and hour with.
    let (ok, _, err) = run(&[
        "stats",
        "--forecast",
        s(&rollout()),
        "--truth",
        s(&truth),
        "--climatology",
        s(&wb2),
        "--variables",
        var,
    ]);
    assert!(!ok && err.contains("no valid times"), "{err}");
    let (ok, _, err) = run(&["stats", "--forecast", s(&fc), "--climatology", s(&wb2)]);
    assert!(!ok && err.contains("--climatology needs --truth"), "{err}");
    // A climatology on another grid is refused by name.
    let (ok, _, err) = run(&[
        "stats",
        "--forecast",
        s(&fc),
        "--truth",
        s(&truth),
        "--climatology",
        s(&fixture("tiny-mha").join("mean_by_level.nc")),
    ]);
    assert!(!ok && err.contains("mean_by_level.nc"), "{err}");
}
