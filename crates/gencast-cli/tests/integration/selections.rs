//! `gencast forecast --variables/--levels/--output-every`: the written part equals the same
//! part of a full run, bit for bit, in NetCDF and Zarr; bad selections and `--resume` with a
//! selection are refused before computing.

use crate::support;

use gencast::data::Dataset;
use support::{assert_ok, forecast};

const SET: &str = "tiny-mha";
const RUN: [&str; 6] = ["--members", "2", "--steps", "2", "--seed", "3"];
const SELECT: [&str; 6] = [
    "--variables",
    "geopotential,2m_temperature",
    "--levels",
    "850,500",
    "--output-every",
    "24h",
];

/// A Zarr chunk (a zstd frame of little-endian floats) decoded.
fn chunk(path: &std::path::Path) -> Vec<f32> {
    support::chunk_bits(path)
        .into_iter()
        .map(f32::from_bits)
        .collect()
}

#[test]
fn selected_output_equals_the_same_part_of_a_full_run() {
    let dir = tempfile::tempdir().unwrap();
    let (full, part, store) = (
        dir.path().join("full.nc"),
        dir.path().join("part.nc"),
        dir.path().join("part.zarr"),
    );
    assert_ok(&forecast(SET, &full, &RUN));
    let args: Vec<&str> = RUN.iter().chain(&SELECT).copied().collect();
    assert_ok(&forecast(SET, &part, &args));
    assert_ok(&forecast(SET, &store, &args));

    let f = Dataset::open_lenient(&full).unwrap();
    let p = Dataset::open_lenient(&part).unwrap();
    // Predicted variables only (the static fields copied from the input have no member).
    let mut names: Vec<&str> = p
        .variables()
        .iter()
        .filter(|v| v.dims.iter().any(|d| d == "sample"))
        .map(|v| v.name.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["2m_temperature", "geopotential"]);
    assert_eq!(p.level(), &[500, 850], "levels in the model's order");
    // One slot: step 2 (+24 h); the time coordinate is in nanoseconds.
    assert_eq!(p.time(), &[24 * 3_600_000_000_000]);

    let (ny, nx) = (f.lat().len(), f.lon().len());
    let plane = ny * nx;
    let (k500, k850) = (f.level_index(500).unwrap(), f.level_index(850).unwrap());
    let n_levels = f.level().len();
    let z_full = f.read_all("geopotential").unwrap().data; // (sample, batch, time, level, y, x)
    let z_part = p.read_all("geopotential").unwrap().data; // (sample, batch, 1, 2, y, x)
    let t_full = f.read_all("2m_temperature").unwrap().data;
    let t_part = p.read_all("2m_temperature").unwrap().data;
    assert_eq!(z_part.len(), 2 * 2 * plane);
    assert_eq!(t_part.len(), 2 * plane);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for m in 0..2 {
        // member m, step index 1 of the full run
        let step = (m * 2 + 1) * n_levels;
        for (j, k) in [k500, k850].into_iter().enumerate() {
            let want = &z_full[(step + k) * plane..(step + k + 1) * plane];
            let got = &z_part[(m * 2 + j) * plane..(m * 2 + j + 1) * plane];
            assert_eq!(bits(got), bits(want), "geopotential member {m} level {k}");
        }
        let want = &t_full[(m * 2 + 1) * plane..(m * 2 + 2) * plane];
        assert_eq!(bits(&t_part[m * plane..(m + 1) * plane]), bits(want));
        // The Zarr store holds the same values, in slot 0.
        let zc = chunk(&store.join(format!("geopotential/c/{m}/0/0/0/0/0")));
        assert_eq!(bits(&zc), bits(&z_part[m * 2 * plane..(m + 1) * 2 * plane]));
        let tc = chunk(&store.join(format!("2m_temperature/c/{m}/0/0/0/0")));
        assert_eq!(bits(&tc), bits(&t_part[m * plane..(m + 1) * plane]));
    }
    assert!(!store.join("temperature").exists() && !store.join("geopotential/c/0/0/1").exists());
}

#[test]
fn a_region_across_greenwich_holds_the_full_runs_values() {
    let dir = tempfile::tempdir().unwrap();
    let (full, part) = (dir.path().join("full.nc"), dir.path().join("part.nc"));
    let run = ["--members", "1", "--steps", "1", "--seed", "5"];
    assert_ok(&forecast(SET, &full, &run));
    let args: Vec<&str> = run
        .iter()
        .copied()
        .chain(["--region", "30,50,-20,20", "--variables", "2m_temperature"])
        .collect();
    assert_ok(&forecast(SET, &part, &args));
    let f = Dataset::open_lenient(&full).unwrap();
    // The dataset reader wants a global grid, so the regional file is read plainly.
    let p = netcdf_reader::NcFile::open(&part).unwrap();
    let read = |name: &str| -> Vec<f32> {
        p.read_variable::<f32>(name)
            .unwrap()
            .iter()
            .copied()
            .collect()
    };
    assert_eq!(read("lat"), [30.0, 40.0, 50.0]);
    assert_eq!(read("lon"), [-20.0, -10.0, 0.0, 10.0, 20.0]);
    let nx = f.lon().len();
    let t_full = f.read_all("2m_temperature").unwrap().data;
    let t_part = read("2m_temperature");
    for (r, lat) in [30.0f32, 40.0, 50.0].iter().enumerate() {
        let y = f.lat().iter().position(|x| x == lat).unwrap();
        for (c, lon) in [340.0f32, 350.0, 0.0, 10.0, 20.0].iter().enumerate() {
            let x = f.lon().iter().position(|v| v == lon).unwrap();
            assert_eq!(
                t_part[r * 5 + c].to_bits(),
                t_full[y * nx + x].to_bits(),
                "lat {lat} lon {lon}"
            );
        }
    }
}

#[test]
fn bad_selections_and_resume_with_a_selection_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.nc");
    for (extra, needle) in [
        (&["--variables", "rain"][..], "predicts no `rain`"),
        (&["--levels", "650"][..], "no 650 hPa level"),
        (&["--output-every", "18h"][..], "multiple of 12h"),
        (&["--output-every", "36h"][..], "longer than the forecast"),
        (&["--region", "50,30,0,10"][..], "lat_min <= lat_max"),
        (&["--region", "31,32,0,10"][..], "holds no point"),
        (&["--levels", "500", "--resume"][..], "--resume replays"),
    ] {
        let args: Vec<&str> = RUN.iter().chain(extra).copied().collect();
        let o = forecast(SET, &out, &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success() && err.contains(needle),
            "{extra:?}: {err}"
        );
        assert!(!out.exists() && !gencast::output::netcdf::tmp_name(&out).exists());
    }
}

/// The `q`-quantile of `x` by numpy's default linear interpolation, naively in f64.
fn quantile(x: &mut [f64], q: f64) -> f64 {
    x.sort_by(f64::total_cmp);
    let h = q * (x.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(x.len() - 1);
    x[lo] + (h - lo as f64) * (x[hi] - x[lo])
}

#[test]
fn ensemble_summary_equals_the_statistics_of_a_members_run() {
    let dir = tempfile::tempdir().unwrap();
    let (full, sum_nc, sum_zarr) = (
        dir.path().join("full.nc"),
        dir.path().join("summary.nc"),
        dir.path().join("summary.zarr"),
    );
    let run = ["--members", "3", "--steps", "2", "--seed", "5"];
    assert_ok(&forecast(SET, &full, &run));
    let with = |extra: &[&'static str]| -> Vec<&str> { run.iter().chain(extra).copied().collect() };
    assert_ok(&forecast(
        SET,
        &sum_nc,
        &with(&["--ensemble-summary", "mean,std,q10,q90,members"]),
    ));
    assert_ok(&forecast(
        SET,
        &sum_zarr,
        &with(&["--ensemble-summary", "mean,std,q10,q90"]),
    ));
    // Only the outputs are left: the spill files are gone.
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["full.nc", "summary.nc", "summary.zarr"]);

    let f = Dataset::open_lenient(&full).unwrap();
    let s = Dataset::open_lenient(&sum_nc).unwrap();
    // Predicted variables only (the static fields copied from the input have no member).
    for v in f
        .variables()
        .iter()
        .filter(|v| v.dims.iter().any(|d| d == "sample"))
    {
        let members = f.read_all(&v.name).unwrap();
        // Members written beside the statistics are those of the members run, bit for bit.
        let kept = s.read_all(&v.name).unwrap();
        assert!(members
            .data
            .iter()
            .zip(&kept.data)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        let n = members.data.len() / 3;
        let stat = |st: &str| {
            let a = s.read_all(&format!("{st}__{}", v.name)).unwrap();
            assert_eq!(a.dims[0], "batch", "no member dimension");
            a.data
        };
        let (mean, std, q10, q90) = (stat("mean"), stat("std"), stat("q10"), stat("q90"));
        // The Zarr store's statistics: chunk (batch 0, step[, level 0], 0, 0) of each.
        let levelled = v.dims.iter().any(|d| d == "level");
        let zarr_stat = |st: &str| -> Vec<f32> {
            let per_step = n / 2;
            (0..2)
                .flat_map(|step| {
                    let mut p = sum_zarr.join(format!("{st}__{}", v.name)).join("c");
                    p.extend(["0".to_string(), step.to_string()]);
                    p.extend(["0"; 2].iter().map(|s| s.to_string()));
                    if levelled {
                        p.push("0");
                    }
                    let c = chunk(&p);
                    assert_eq!(c.len(), per_step);
                    c
                })
                .collect()
        };
        for (st, ours) in [("mean", &mean), ("std", &std), ("q10", &q10), ("q90", &q90)] {
            let z = zarr_stat(st);
            assert!(
                z.iter()
                    .zip(ours.iter())
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{st}__{}: Zarr and NetCDF differ",
                v.name
            );
        }
        for i in 0..n {
            let mut m: Vec<f64> = (0..3).map(|k| f64::from(members.data[k * n + i])).collect();
            let mu = m.iter().sum::<f64>() / 3.0;
            let sd = (m.iter().map(|a| (a - mu) * (a - mu)).sum::<f64>() / 2.0).sqrt();
            let (a, b) = (quantile(&mut m, 0.1), quantile(&mut m, 0.9));
            // Both sides compute in f64 and round once to f32; summation order and numpy's
            // two-sided interpolation formula may differ in the last f64 bits, so allow 2 ulp
            // of float32 (2^-22) relative to the largest member value. A point missing in a
            // member (sea surface temperature over land) is missing in every statistic.
            let scale = m.iter().fold(0f64, |s, v| s.max(v.abs()));
            let close = |x: f32, y: f64| {
                (y.is_nan() && x.is_nan()) || (f64::from(x) - y).abs() <= 2.4e-7 * scale
            };
            for (name, x, y) in [
                ("mean", mean[i], mu),
                ("std", std[i], sd),
                ("q10", q10[i], a),
                ("q90", q90[i], b),
            ] {
                assert!(close(x, y), "{name}__{} at {i}: {x} vs {y}", v.name);
            }
        }
    }
    // Refused before computing: a resumed summary, and a summary of a store's part.
    let out = forecast(
        SET,
        &dir.path().join("r.nc"),
        &with(&["--ensemble-summary", "mean", "--resume"]),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be resumed"));
    let out = forecast(
        SET,
        &dir.path().join("r.nc"),
        &with(&["--ensemble-summary", "q150"]),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("percentage"));
}
