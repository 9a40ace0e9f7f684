//! `gencast forecast` with a GraphCast checkpoint and every output option GenCast has
//! (`--variables`, `--levels`, `--region`, `--output-every`, `--layout weatherbench2`): the
//! written part equals the same part of the unselected GraphCast forecast, bit for bit, in
//! NetCDF and Zarr; bad selections and `--resume` with a selection are refused.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Output;

use gencast::data::Dataset;
use netcdf_reader::NcFile;
use support::{assert_ok, chunk_bits, run_forecast};

/// The GraphCast fixture set.
const SET: &str = "graphcast-tiny";

/// Three 6 h steps.
const RUN: [&str; 2] = ["--steps", "3"];

/// The fixture dataset: two input frames and three target frames, 6 h apart.
fn dataset() -> PathBuf {
    support::fixture(SET).join("source-era5_date-2019-03-29_res-10.0_levels-13_steps-03.nc")
}

/// Runs `gencast forecast` with the GraphCast fixture model, `RUN` and `extra`.
fn forecast(out: &Path, extra: &[&str]) -> Output {
    let args: Vec<&str> = RUN.iter().chain(extra).copied().collect();
    let ckpt = support::fixture(SET).join("checkpoint.npz");
    run_forecast(SET, &ckpt, &dataset(), out, &args)
}

/// Bit patterns of values.
fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The unselected forecast, written once per test.
fn full(dir: &Path) -> Dataset {
    let out = dir.join("full.nc");
    assert_ok(&forecast(&out, &[]));
    Dataset::open_lenient(&out).unwrap()
}

#[test]
fn graphcast_variables_levels_and_output_every_equal_the_full_runs_values() {
    let dir = tempfile::tempdir().unwrap();
    let f = full(dir.path());
    let (part, store) = (dir.path().join("part.nc"), dir.path().join("part.zarr"));
    let select = [
        "--variables",
        "temperature,2m_temperature",
        "--levels",
        "850,500",
        "--output-every",
        "12h",
    ];
    assert_ok(&forecast(&part, &select));
    assert_ok(&forecast(&store, &select));

    let p = Dataset::open_lenient(&part).unwrap();
    let mut names: Vec<&str> = p
        .variables()
        .iter()
        .filter(|v| v.dims.iter().any(|d| d == "sample"))
        .map(|v| v.name.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["2m_temperature", "temperature"]);
    assert_eq!(p.level(), &[500, 850], "levels in the model's order");
    // Three 6 h steps every 12 h: one slot, step 2 (+12 h), in nanoseconds.
    assert_eq!(p.time(), &[12 * 3_600_000_000_000]);

    let plane = f.lat().len() * f.lon().len();
    let n_levels = f.level().len();
    let (k500, k850) = (f.level_index(500).unwrap(), f.level_index(850).unwrap());
    // (sample 1, batch 1, time 3, level, lat, lon): step index 1 of the full run.
    let t_full = f.read_all("temperature").unwrap().data;
    let t_part = p.read_all("temperature").unwrap().data;
    assert_eq!(t_part.len(), 2 * plane);
    let zc = chunk_bits(&store.join("temperature/c/0/0/0/0/0/0"));
    for (j, k) in [k500, k850].into_iter().enumerate() {
        let at = (n_levels + k) * plane;
        let want = bits(&t_full[at..at + plane]);
        assert_eq!(bits(&t_part[j * plane..(j + 1) * plane]), want, "level {k}");
        assert_eq!(
            zc[j * plane..(j + 1) * plane],
            want,
            "level {k} in the store"
        );
    }
    let s_full = f.read_all("2m_temperature").unwrap().data;
    let s_part = p.read_all("2m_temperature").unwrap().data;
    assert_eq!(bits(&s_part), bits(&s_full[plane..2 * plane]));
    assert_eq!(
        chunk_bits(&store.join("2m_temperature/c/0/0/0/0/0")),
        bits(&s_part)
    );
    assert!(!store.join("geopotential").exists());
    assert!(!store.join("temperature/c/0/0/1").exists(), "one slot");
}

#[test]
fn graphcast_region_across_greenwich_holds_the_full_runs_values() {
    let dir = tempfile::tempdir().unwrap();
    let f = full(dir.path());
    let part = dir.path().join("part.nc");
    assert_ok(&forecast(
        &part,
        &["--region", "30,50,-20,20", "--variables", "geopotential"],
    ));
    // The dataset reader wants a global grid, so the regional file is read plainly.
    let p = NcFile::open(&part).unwrap();
    let read = |name: &str| -> Vec<f32> {
        p.read_variable::<f32>(name)
            .unwrap()
            .iter()
            .copied()
            .collect()
    };
    assert_eq!(read("lat"), [30.0, 40.0, 50.0]);
    assert_eq!(read("lon"), [-20.0, -10.0, 0.0, 10.0, 20.0]);
    let (nx, plane, n_levels) = (
        f.lon().len(),
        f.lat().len() * f.lon().len(),
        f.level().len(),
    );
    let z_full = f.read_all("geopotential").unwrap().data;
    let z_part = read("geopotential");
    assert_eq!(
        z_part.len(),
        3 * n_levels * 15,
        "3 steps × levels × 3 × 5 points"
    );
    for step in 0..3 {
        for k in 0..n_levels {
            for (r, lat) in [30.0f32, 40.0, 50.0].iter().enumerate() {
                let y = f.lat().iter().position(|x| x == lat).unwrap();
                for (c, lon) in [340.0f32, 350.0, 0.0, 10.0, 20.0].iter().enumerate() {
                    let x = f.lon().iter().position(|v| v == lon).unwrap();
                    let got = z_part[((step * n_levels + k) * 3 + r) * 5 + c];
                    let want = z_full[(step * n_levels + k) * plane + y * nx + x];
                    assert_eq!(
                        got.to_bits(),
                        want.to_bits(),
                        "step {step} level {k} lat {lat} lon {lon}"
                    );
                }
            }
        }
    }
}

#[test]
fn graphcast_weatherbench2_layout_keeps_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("full.nc");
    assert_ok(&forecast(&reference, &[]));
    let (wb2, store) = (dir.path().join("wb2.nc"), dir.path().join("wb2.zarr"));
    assert_ok(&forecast(&wb2, &["--layout", "weatherbench2"]));
    assert_ok(&forecast(&store, &["--layout", "weatherbench2"]));
    let (r, w) = (
        NcFile::open(&reference).unwrap(),
        NcFile::open(&wb2).unwrap(),
    );
    let floats = |f: &NcFile, name: &str| {
        bits(
            &f.read_variable::<f32>(name)
                .unwrap()
                .iter()
                .copied()
                .collect::<Vec<f32>>(),
        )
    };
    let dims: Vec<String> = w
        .variable("temperature")
        .unwrap()
        .dimensions()
        .iter()
        .map(|d| d.name.clone())
        .collect();
    assert_eq!(
        dims,
        [
            "realization",
            "time",
            "prediction_timedelta",
            "level",
            "latitude",
            "longitude"
        ]
    );
    let lead: Vec<i32> = w
        .read_variable::<i32>("prediction_timedelta")
        .unwrap()
        .iter()
        .copied()
        .collect();
    assert_eq!(lead, [6, 12, 18], "GraphCast's 6 h steps");
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
        // The store's chunk of step 3 holds the same values.
        let key = if v.dimensions().len() == 6 {
            "0/0/2/0/0/0"
        } else {
            "0/0/2/0/0"
        };
        let per = want.len() / 3;
        assert_eq!(
            chunk_bits(&store.join(v.name()).join("c").join(key)),
            want[2 * per..],
            "{} in the store",
            v.name()
        );
        checked += 1;
    }
    assert_eq!(checked, 11, "the fixture model's eleven target variables");
}

#[test]
fn bad_graphcast_selections_and_resume_with_a_selection_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.nc");
    for (extra, needle) in [
        (&["--variables", "rain"][..], "predicts no `rain`"),
        (&["--levels", "650"][..], "no 650 hPa level"),
        (&["--output-every", "9h"][..], "multiple of 6h"),
        (&["--output-every", "24h"][..], "longer than the forecast"),
        (&["--region", "31,32,0,10"][..], "holds no point"),
        (&["--levels", "500", "--resume"][..], "--resume replays"),
    ] {
        let o = forecast(&out, extra);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success() && err.contains(needle),
            "{extra:?}: {err}"
        );
        assert!(!out.exists() && !gencast::output::netcdf::tmp_name(&out).exists());
    }
}
