//! The crate's examples (`crates/gencast/examples/`) run as tests, so that they keep working:
//! each example's work is a function its `main` calls, and these tests call it and check what
//! it produced against an independent computation or the reference's output.

use crate::graphcast_parity::rel_rms;
use gencast::data::Dataset;
use gencast::forecast::CoordValues;
use gencast::{Forecast, MemorySink, Model};

// Each example's `main` serves `cargo run --example` only.
#[allow(dead_code)]
#[path = "../../../examples/ensemble_to_netcdf.rs"]
mod ensemble_to_netcdf;
#[allow(dead_code)]
#[path = "../../../examples/graphcast_in_memory.rs"]
mod graphcast_in_memory;
#[allow(dead_code)]
#[path = "../../../examples/read_forecast.rs"]
mod read_forecast;

fn floats(v: &CoordValues) -> &[f32] {
    match v {
        CoordValues::Float(x) => x,
        other => panic!("expected float32 values, found {other:?}"),
    }
}

/// Runs `ensemble_to_netcdf` into a fresh folder; returns the folder and the file.
fn ensemble_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forecast.nc");
    let summary = ensemble_to_netcdf::run(&path).unwrap();
    assert_eq!(summary.members, [0, 1]);
    assert_eq!((summary.steps_computed, summary.steps_skipped), (4, 0));
    (dir, path)
}

#[test]
fn ensemble_to_netcdf_writes_the_forecast_of_its_request() {
    let (_dir, path) = ensemble_file();
    // The same request into memory: the file must hold it bit for bit.
    let demo = ensemble_to_netcdf::demo_dir();
    let model = Model::load(demo.join("checkpoint.npz"), demo).unwrap();
    let mut sink = MemorySink::new();
    Forecast::new(demo.join("source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"))
        .members(2)
        .steps(2)
        .seed(0)
        .run(&model, &mut sink)
        .unwrap();
    let mem = sink.into_forecast().unwrap();
    let file = Dataset::open_lenient(&path).unwrap();
    assert_eq!(mem.data_vars.len(), file.variables().len());
    for v in &mem.data_vars {
        let a = file.read_all(&v.name).unwrap();
        assert_eq!((&a.dims, &a.shape), (&v.dims, &v.shape), "{}", v.name);
        let same = floats(&v.values)
            .iter()
            .zip(&a.data)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{} differs from the in-memory forecast", v.name);
    }
    // A second run refuses to replace the file.
    let err = ensemble_to_netcdf::run(&path).unwrap_err().to_string();
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn read_forecast_means_are_those_of_the_file() {
    let (_dir, path) = ensemble_file();
    let means = read_forecast::lead_means(&path, "2m_temperature").unwrap();
    // An independent reading: the file's variable as stored, (sample, batch, time, lat, lon).
    let a = Dataset::open_lenient(&path)
        .unwrap()
        .read_all("2m_temperature")
        .unwrap();
    assert_eq!(a.dims, ["sample", "batch", "time", "lat", "lon"]);
    let [members, _, leads, ny, nx] = a.shape[..] else {
        panic!("shape {:?}", a.shape)
    };
    assert_eq!(means.iter().map(|m| m.0).collect::<Vec<_>>(), [12, 24]);
    for (t, &(_, mean)) in means.iter().enumerate() {
        let (mut sum, mut n) = (0f64, 0usize);
        for m in 0..members {
            let start = (m * leads + t) * ny * nx;
            for &v in a.data[start..start + ny * nx]
                .iter()
                .filter(|v| !v.is_nan())
            {
                sum += f64::from(v);
                n += 1;
            }
        }
        // Both sum the same f32 values in f64, in possibly different orders: 1e-12 relative
        // bounds the reordering of ~1400 terms of a few hundred kelvin.
        let expected = sum / n as f64;
        assert!(
            (mean - expected).abs() <= 1e-12 * expected.abs(),
            "lead {t}: {mean} vs {expected}"
        );
    }
}

#[test]
fn graphcast_in_memory_matches_the_reference_rollout() {
    let forecast = graphcast_in_memory::run().unwrap();
    let reference =
        Dataset::open(graphcast_in_memory::fixture_dir().join("rollout_3step_f32.nc")).unwrap();
    assert_eq!(forecast.layout.lead_hours, [6, 12, 18]);
    assert!(!forecast.layout.variables.is_empty());
    // The predicted variables (the static fields copied from the dataset are not predictions).
    for var in &forecast.layout.variables {
        let v = forecast.variable(&var.name).unwrap();
        let ours = floats(&v.values);
        // One member and one initialisation: the values are `[time][level][lat][lon]`.
        let per_step = ours.len() / 3;
        for t in 0..3 {
            let r = reference.read(&v.name, Some(t..t + 1)).unwrap().data;
            let rel = rel_rms(&ours[t * per_step..(t + 1) * per_step], &r);
            // As the rollout parity test: round-off of each step (< 2e-7 relative RMS) grows
            // through the network; 1e-4 bounds three steps with a wide margin.
            assert!(rel < 1e-4, "step {} {}: {rel:.3e}", t + 1, v.name);
        }
    }
}
