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
    let mut names: Vec<&str> = p.variables().iter().map(|v| v.name.as_str()).collect();
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
