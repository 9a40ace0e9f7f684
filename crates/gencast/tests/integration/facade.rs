//! The library facade: a forecast into memory equals the NetCDF file of the same request,
//! ensemble statistics equal those computed from the members, statistics given in memory act
//! as the files do, and a set cancellation flag stops the run with its own error.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use gencast::data::{Dataset, NormStats};
use gencast::forecast::{CoordValues, WriteMode};
use gencast::forecast::{EnsembleSummary, SummarySink};
use gencast::{Forecast, MemoryForecast, MemorySink, Model, ModelKind, NetCdfSink, Progress};

/// The bundled demo: model, statistics and dataset.
fn demo() -> (PathBuf, PathBuf, PathBuf) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-mha");
    (
        dir.join("checkpoint.npz"),
        dir.clone(),
        dir.join("source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"),
    )
}

/// A forecast of `members` members and `steps` steps of the demo into memory.
fn in_memory(model: &Model, members: u32, steps: usize) -> MemoryForecast {
    let mut sink = MemorySink::new();
    Forecast::new(demo().2)
        .members(members)
        .steps(steps)
        .seed(3)
        .run(model, &mut sink)
        .unwrap();
    sink.into_forecast().unwrap()
}

fn floats(v: &CoordValues) -> &[f32] {
    match v {
        CoordValues::Float(x) => x,
        other => panic!("expected float32 values, found {other:?}"),
    }
}

#[test]
fn memory_forecast_is_the_netcdf_file() {
    let (ckpt, stats, dataset) = demo();
    let model = Model::load(&ckpt, &stats).unwrap();
    assert_eq!(model.kind(), ModelKind::GenCast);
    assert_eq!(model.step_hours(), 12);
    let mem = in_memory(&model, 2, 2);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.nc");
    let mut sink = NetCdfSink::new(&path, WriteMode::default());
    let events = Mutex::new(Vec::new());
    let summary = Forecast::new(&dataset)
        .members(2)
        .steps(2)
        .seed(3)
        .threads(1)
        .progress(|e| events.lock().unwrap().push(e.clone()))
        .run(&model, &mut sink)
        .unwrap();
    assert_eq!((summary.steps_computed, summary.steps_skipped), (4, 0));
    let events = events.into_inner().unwrap();
    let done = events
        .iter()
        .filter(|e| matches!(e, Progress::StepDone { .. }))
        .count();
    assert_eq!(done, 4);

    let file = Dataset::open_lenient(&path).unwrap();
    let dims: Vec<(String, usize)> = file.dims().to_vec();
    assert_eq!(mem.dims, dims);
    assert_eq!(mem.data_vars.len(), file.variables().len());
    for v in &mem.data_vars {
        let a = file.read_all(&v.name).unwrap();
        assert_eq!(a.dims, v.dims, "{}", v.name);
        assert_eq!(a.shape, v.shape, "{}", v.name);
        // Bitwise: the same computation, whatever the sink and thread count.
        let same = floats(&v.values)
            .iter()
            .zip(&a.data)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{} differs between memory and file", v.name);
    }
    for c in &mem.coords {
        let a = file.read_all(&c.name).unwrap();
        assert_eq!(a.dims, c.dims, "{}", c.name);
        let as_f32: Vec<f32> = match &c.values {
            CoordValues::Int(x) => x.iter().map(|&v| v as f32).collect(),
            CoordValues::Float(x) => x.clone(),
            CoordValues::Double(x) => x.iter().map(|&v| v as f32).collect(),
        };
        assert_eq!(as_f32, a.data, "{}", c.name);
    }
    assert_eq!(
        mem.attrs
            .iter()
            .find(|(k, _)| k == "title")
            .map(|(_, v)| format!("{v:?}")),
        Some(format!(
            "{:?}",
            gencast::forecast::AttrValue::Text("GenCast ensemble forecast".into())
        ))
    );
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
fn ensemble_summary_equals_statistics_of_the_members() {
    let (ckpt, stats, dataset) = demo();
    let model = Model::load(&ckpt, &stats).unwrap();
    let members = in_memory(&model, 3, 2);

    let dir = tempfile::tempdir().unwrap();
    let request = EnsembleSummary::parse(&["mean", "std", "q10", "q90", "members"]).unwrap();
    let mut sink = SummarySink::new(MemorySink::new(), request, dir.path());
    Forecast::new(&dataset)
        .members(3)
        .steps(2)
        .seed(3)
        .run(&model, &mut sink)
        .unwrap();
    // The spill file is gone once the summary is written.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let memory = sink.into_inner();
    let summary = memory.into_forecast().unwrap();

    // The static fields copied from the input have no member dimension and no statistics.
    for v in members.data_vars.iter().filter(|v| v.dims[0] == "sample") {
        let x = floats(&v.values);
        // Members written beside the statistics are the members, bit for bit.
        let kept = floats(&summary.variable(&v.name).unwrap().values);
        assert!(x.iter().zip(kept).all(|(a, b)| a.to_bits() == b.to_bits()));
        let per_member = x.len() / 3;
        let stat = |s: &str| {
            let sv = summary.variable(&format!("{s}__{}", v.name)).unwrap();
            assert_eq!(sv.dims[0], "batch", "a statistic has no member dimension");
            floats(&sv.values).to_vec()
        };
        let (mean, std, q10, q90) = (stat("mean"), stat("std"), stat("q10"), stat("q90"));
        for i in 0..per_member {
            let mut m: Vec<f64> = (0..3).map(|k| f64::from(x[k * per_member + i])).collect();
            let mu = m.iter().sum::<f64>() / 3.0;
            let sd = (m.iter().map(|a| (a - mu) * (a - mu)).sum::<f64>() / 2.0).sqrt();
            // Both sides compute in f64 and round once to f32; summation order and numpy's
            // two-sided interpolation formula may differ in the last f64 bits, so allow 2 ulp
            // of float32 (2^-22) relative to the largest member value. A point missing in a
            // member (sea surface temperature over land) is missing in every statistic.
            let scale = m.iter().fold(0f64, |s, v| s.max(v.abs()));
            let close = |a: f32, b: f64| {
                (b.is_nan() && a.is_nan()) || (f64::from(a) - b).abs() <= 2.4e-7 * scale
            };
            assert!(
                close(mean[i], mu),
                "{} mean at {i}: {} vs {mu}",
                v.name,
                mean[i]
            );
            assert!(
                close(std[i], sd),
                "{} std at {i}: {} vs {sd}",
                v.name,
                std[i]
            );
            let (a, b) = (quantile(&mut m, 0.1), quantile(&mut m, 0.9));
            assert!(close(q10[i], a), "{} q10 at {i}: {} vs {a}", v.name, q10[i]);
            assert!(close(q90[i], b), "{} q90 at {i}: {} vs {b}", v.name, q90[i]);
        }
    }
}

#[test]
fn statistics_in_memory_act_as_the_files() {
    let (ckpt, stats_dir, _) = demo();
    let from_files = Model::load(&ckpt, &stats_dir).unwrap();
    // Rebuild each file's statistics through the in-memory constructor.
    let rebuild = |name: &str| {
        let s = NormStats::open(stats_dir.join(name)).unwrap();
        let entries: Vec<(String, gencast::data::stats::Entry)> = s
            .names()
            .map(|n| {
                let entry = match s.is_levelled(n) {
                    Some(true) => {
                        gencast::data::stats::Entry::Levelled(s.get(n, s.levels()).unwrap())
                    }
                    _ => gencast::data::stats::Entry::Scalar(s.scalar(n).unwrap()),
                };
                (n.to_string(), entry)
            })
            .collect();
        NormStats::from_entries(name, s.levels().to_vec(), entries).unwrap()
    };
    let stats = gencast::Stats {
        mean_by_level: rebuild("mean_by_level.nc"),
        stddev_by_level: rebuild("stddev_by_level.nc"),
        diffs_stddev_by_level: rebuild("diffs_stddev_by_level.nc"),
        min_by_level: Some(rebuild("min_by_level.nc")),
    };
    let in_memory_stats = Model::load_with_stats(&ckpt, stats.clone()).unwrap();
    let (a, b) = (
        in_memory(&from_files, 1, 1),
        in_memory(&in_memory_stats, 1, 1),
    );
    for (x, y) in a.data_vars.iter().zip(&b.data_vars) {
        // Bitwise (NaN over land included): the same statistics, whatever their source.
        let bits = |v| floats(v).iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&x.values), bits(&y.values), "{}", x.name);
    }
    // GenCast needs the minimum; its absence is named.
    let without_min = gencast::Stats {
        min_by_level: None,
        ..stats
    };
    let err = Model::load_with_stats(&ckpt, without_min).unwrap_err();
    assert!(err.to_string().contains("min_by_level"), "{err}");
}

#[test]
fn a_set_cancel_flag_stops_the_run() {
    let (ckpt, stats, dataset) = demo();
    let model = Model::load(&ckpt, &stats).unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let mut sink = MemorySink::new();
    let stopper = flag.clone();
    let err = Forecast::new(&dataset)
        .members(2)
        .steps(2)
        .cancel_flag(flag)
        .progress(move |e| {
            // Cancel once the first step is done (as Ctrl-C would, from another thread).
            if matches!(e, Progress::StepDone { .. }) {
                stopper.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        })
        .run(&model, &mut sink)
        .unwrap_err();
    assert!(matches!(err, gencast::Error::Cancelled), "{err}");
    // Only the first step reached the sink.
    let layout = sink.layout().unwrap().clone();
    assert!(sink.field(0, 0, 0).unwrap().iter().all(|v| v.is_finite()));
    assert!(sink.field(0, 1, 0).unwrap().iter().all(|v| v.is_nan()));
    assert_eq!(layout.members, [0, 1]);
}

#[test]
fn a_dataset_in_memory_forecasts_like_its_file() {
    let (ckpt, stats, path) = demo();
    let model = Model::load(&ckpt, &stats).unwrap();
    let file = Dataset::open(&path).unwrap();
    let coords = gencast::data::MemoryCoords {
        lat: file.lat().to_vec(),
        lon: file.lon().to_vec(),
        level: file.level().to_vec(),
        time: file.time().to_vec(),
        datetime: file.datetime().to_vec(),
    };
    let variables: Vec<_> = file
        .variables()
        .iter()
        .map(|v| {
            (
                v.name.clone(),
                file.read_all(&v.name).unwrap(),
                v.units.clone(),
            )
        })
        .collect();
    let memory = Dataset::from_arrays("in memory", coords, variables).unwrap();
    assert_eq!(memory.num_frames(), file.num_frames());
    let run = |ds: &Dataset| {
        let mut sink = MemorySink::new();
        Forecast::with_dataset(ds)
            .members(2)
            .steps(2)
            .seed(3)
            .run(&model, &mut sink)
            .unwrap();
        sink.into_forecast().unwrap()
    };
    let (a, b) = (run(&file), run(&memory));
    for (x, y) in a.data_vars.iter().zip(&b.data_vars) {
        // Bitwise: the same values reach the model, from the file or from memory.
        let bits = |v| floats(v).iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&x.values), bits(&y.values), "{}", x.name);
    }
    // A variable whose shape does not fit its values is named.
    let bad = gencast::data::Array {
        dims: vec!["lat".into()],
        shape: vec![3],
        data: vec![0.0; 2],
    };
    let err = Dataset::from_arrays("m", Default::default(), [("x".to_string(), bad, None)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("`x`") && err.contains("2 values"), "{err}");
}
