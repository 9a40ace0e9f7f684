//! Deterministic random corruptions of the fixture NetCDF files (HDF5-based dataset and
//! statistics, a classic file of the forecast writer) and of a Zarr forecast store: every
//! reader must return an error or data, never panic and never hang.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::surface_and_levelled;
use gencast::data::{Dataset, NormStats};
use gencast::output::forecast_nc::{ForecastLayout, ForecastWriter};
use gencast::output::zarr::ZarrForecast;

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-mha");

/// Corrupted copies tried per file (fixed seeds: the test is reproducible).
const CASES: usize = 300;

/// A case taking longer than this counts as a hang (a healthy one takes milliseconds).
const HANG: Duration = Duration::from_secs(20);

/// xorshift64* generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A corrupted copy of `bytes`: a truncation, a few flipped bytes (mostly in the first 64 KiB,
/// where headers and metadata live), or a run of garbage.
fn corrupt(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = bytes.to_vec();
    match rng.below(4) {
        0 => b.truncate(rng.below(b.len())),
        1 | 2 => {
            let span = if rng.below(4) == 0 {
                b.len()
            } else {
                b.len().min(1 << 16)
            };
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(span);
                b[at] ^= 1 << rng.below(8);
            }
        }
        _ => {
            let at = rng.below(b.len());
            let end = (at + 1 + rng.below(64)).min(b.len());
            for x in &mut b[at..end] {
                *x = rng.next() as u8;
            }
        }
    }
    b
}

/// Runs `case(i)` for every case on a worker thread, failing on a panic or a hang.
fn run_cases(what: &str, case: impl Fn(usize) + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        for i in 0..CASES {
            let ok = catch_unwind(AssertUnwindSafe(|| case(i))).is_ok();
            if tx.send((i, ok)).is_err() {
                return;
            }
        }
    });
    for expected in 0..CASES {
        match rx.recv_timeout(HANG) {
            Ok((i, ok)) => assert!(ok, "{what}: case {i} panicked"),
            Err(_) => panic!("{what}: case {expected} hung (or the worker died)"),
        }
    }
    worker.join().unwrap();
}

/// Opens a dataset and reads every variable, ignoring errors.
fn read_dataset(path: &Path) {
    if let Ok(ds) = Dataset::open_lenient(path) {
        let names: Vec<String> = ds.variables().iter().map(|v| v.name.clone()).collect();
        for n in names {
            let _ = ds.read_all(&n);
        }
        let _ = ds.datetime();
    }
}

fn fuzz_netcdf(name: &str, src: PathBuf, seed: u64, read: fn(&Path)) {
    let bytes = std::fs::read(&src).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().to_path_buf();
    run_cases(name, move |i| {
        let mut rng = Rng(seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let path = dir_path.join(format!("{i}.nc"));
        std::fs::write(&path, corrupt(&bytes, &mut rng)).unwrap();
        read(&path);
    });
}

#[test]
fn corrupted_datasets_never_panic_or_hang() {
    fuzz_netcdf(
        "dataset",
        Path::new(FIX).join("source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"),
        0x5EED_0001,
        read_dataset,
    );
}

#[test]
fn corrupted_statistics_never_panic_or_hang() {
    fuzz_netcdf(
        "stats",
        Path::new(FIX).join("diffs_stddev_by_level.nc"),
        0x5EED_0002,
        |p| {
            let _ = NormStats::open(p);
        },
    );
}

/// A small forecast layout: two members, two steps, one surface and one levelled variable.
fn layout(members: usize) -> ForecastLayout {
    ForecastLayout {
        variables: surface_and_levelled(),
        levels: vec![500, 850],
        lat: vec![-90.0, 0.0, 90.0],
        lon: vec![0.0, 90.0, 180.0, 270.0],
        members: (0..members as i32).collect(),
        lead_hours: vec![12, 24],
        init_time: "2019-03-30T00:00:00".into(),
        history: "fuzz".into(),
        naming: Default::default(),
        statics: Vec::new(),
    }
}

#[test]
fn corrupted_forecast_files_never_panic_or_hang() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.nc");
    let mut w = ForecastWriter::create(&path, layout(2)).unwrap();
    for m in 0..2 {
        for s in 0..2 {
            w.write_field(m, s, 0, &[280.0; 12]).unwrap();
            w.write_field(m, s, 1, &[5.0e4; 24]).unwrap();
        }
    }
    w.finish().unwrap();
    fuzz_netcdf("forecast file", path, 0x5EED_0003, read_dataset);
}

#[test]
fn corrupted_zarr_stores_never_panic_or_hang() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("f.zarr");
    let run = serde_json::json!({"seed": 1});
    let z = ZarrForecast::open_or_create(&store, layout(2), &run).unwrap();
    for m in 0..2 {
        for s in 0..2 {
            z.write_field(m, s, 0, &[280.0; 12]).unwrap();
            z.write_field(m, s, 1, &[5.0e4; 24]).unwrap();
        }
    }
    let meta = std::fs::read(store.join("zarr.json")).unwrap();
    let chunk = z.chunk_path(1, 1, 1).unwrap();
    let chunk_bytes = std::fs::read(&chunk).unwrap();
    drop(z);
    run_cases("zarr store", move |i| {
        let mut rng = Rng(0x5EED_0004 ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        // Each case corrupts the root metadata or one chunk, then opens and reads everything.
        if i % 2 == 0 {
            std::fs::write(store.join("zarr.json"), corrupt(&meta, &mut rng)).unwrap();
        } else {
            std::fs::write(&chunk, corrupt(&chunk_bytes, &mut rng)).unwrap();
        }
        if let Ok(z) = ZarrForecast::open_or_create(&store, layout(2), &run) {
            for m in 0..2 {
                for s in 0..2 {
                    let _ = z.step_complete(m, s);
                    for v in 0..2 {
                        let _ = z.read_field(m, s, v);
                    }
                }
            }
            let _ = z.claim_members(0..2);
        }
        std::fs::write(store.join("zarr.json"), &meta).unwrap();
        std::fs::write(&chunk, &chunk_bytes).unwrap();
    });
}
