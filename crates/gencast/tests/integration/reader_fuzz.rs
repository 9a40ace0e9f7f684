//! Deterministic random corruptions of every reader's input: the fixture NetCDF files
//! (HDF5-based dataset and statistics, a classic file of the forecast writer, CDS downloads),
//! forecast Zarr v3 stores (as the writer resumes them and as `stats`/`plot` read them), a
//! `prepare` Zarr v2 store (its `.zmetadata`, `.zarray` and `.zattrs` fields and chunks) and GRIB
//! files. Every reader must return an error or data: never panic, never hang, and never abort.
//! Each reader's cases run in a child process under a 4 GB address-space limit (see
//! `harness::isolated`), so an allocation the readers let through fails the test, with the case.

mod harness;
mod metadata;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::support::surface_and_levelled;
use gencast::data::sources::{self, Wanted};
use gencast::data::{Dataset, NormStats};
use gencast::forecast::ForecastLayout;
use gencast::output::forecast_nc::ForecastWriter;
use gencast::output::read::{Climatology, ForecastOutput};
use gencast::output::zarr::ZarrForecast;
use harness::{corrupt, isolated, run_cases, Rng};
use serde_json::Value;

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-mha");
const PREPARE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/prepare");

/// The name libtest gives the test function `f` of this module.
macro_rules! test_name {
    ($f:ident) => {
        concat!(module_path!(), "::", stringify!($f))
    };
}

/// Opens a dataset and reads every variable, ignoring errors.
fn read_dataset(path: &Path) {
    if let Ok(ds) = Dataset::open_lenient(path) {
        let names: Vec<String> = ds.variables().iter().map(|v| v.name.clone()).collect();
        for n in names {
            let _ = ds.read_all(&n);
            let _ = ds.read(&n, Some(0..1));
        }
        let _ = ds.datetime();
    }
}

/// Opens a forecast output as `stats` and `plot` do and reads every variable at every lead
/// time, and the same file as a climatology, ignoring errors.
fn read_forecast_output(path: &Path) {
    if let Ok(out) = ForecastOutput::open(path) {
        let names: Vec<String> = out.variables().iter().map(|v| v.name.clone()).collect();
        for n in &names {
            for lead in 0..out.lead_times().len().clamp(1, 4) {
                let _ = out.read(n, lead);
            }
        }
    }
    if let Ok(c) = Climatology::open(path) {
        for n in ["2m_temperature", "geopotential"] {
            let _ = c.read(n, None);
        }
    }
}

fn fuzz_files(what: &'static str, files: Vec<PathBuf>, seed: u64, read: fn(&Path)) {
    let originals: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(f).unwrap())
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().to_path_buf();
    run_cases(what, move |i| {
        let mut rng = Rng::for_case(seed, i);
        let (name, bytes) = rng.pick(&originals);
        let path = dir_path.join(format!("{i}-{name}"));
        std::fs::write(&path, corrupt(bytes, &mut rng)).unwrap();
        read(&path);
        let _ = std::fs::remove_file(&path);
    });
}

#[test]
fn corrupted_datasets_never_panic_or_hang() {
    isolated(
        test_name!(corrupted_datasets_never_panic_or_hang),
        "dataset",
        || {
            fuzz_files(
                "dataset",
                vec![Path::new(FIX)
                    .join("source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc")],
                0x5EED_0001,
                read_dataset,
            )
        },
    );
}

#[test]
fn corrupted_statistics_never_panic_or_hang() {
    isolated(
        test_name!(corrupted_statistics_never_panic_or_hang),
        "stats",
        || {
            fuzz_files(
                "stats",
                vec![Path::new(FIX).join("diffs_stddev_by_level.nc")],
                0x5EED_0002,
                |p| {
                    let _ = NormStats::open(p);
                },
            )
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
    isolated(
        test_name!(corrupted_forecast_files_never_panic_or_hang),
        "forecast file",
        || {
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
            fuzz_files("forecast file", vec![path], 0x5EED_0003, |p| {
                read_dataset(p);
                read_forecast_output(p);
            });
        },
    );
}

/// A complete two-member, two-step forecast store in `dir`, with its run record.
fn forecast_store(dir: &Path) -> (PathBuf, Value) {
    let store = dir.join("f.zarr");
    let run = serde_json::json!({"seed": 1});
    let z = ZarrForecast::open_or_create(&store, layout(2), &run).unwrap();
    for m in 0..2 {
        for s in 0..2 {
            z.write_field(m, s, 0, &[280.0; 12]).unwrap();
            z.write_field(m, s, 1, &[5.0e4; 24]).unwrap();
        }
    }
    (store, run)
}

#[test]
fn corrupted_zarr_stores_never_panic_or_hang() {
    isolated(
        test_name!(corrupted_zarr_stores_never_panic_or_hang),
        "zarr store",
        || {
            let dir = tempfile::tempdir().unwrap();
            let (store, run) = forecast_store(dir.path());
            let z = ZarrForecast::open_or_create(&store, layout(2), &run).unwrap();
            let meta = std::fs::read(store.join("zarr.json")).unwrap();
            let chunk = z.chunk_path(1, 1, 1).unwrap();
            let chunk_bytes = std::fs::read(&chunk).unwrap();
            drop(z);
            run_cases("zarr store", move |i| {
                let mut rng = Rng::for_case(0x5EED_0004, i);
                // Each case corrupts the root metadata or one chunk, then resumes and reads.
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
        },
    );
}

/// Every file under `dir` (recursively), sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Files a case changed, with their original bytes (`None`: the case created the file).
#[derive(Default)]
struct Touched(Vec<(PathBuf, Option<Vec<u8>>)>);

impl Touched {
    fn write(&mut self, path: &Path, bytes: &[u8]) {
        if !self.0.iter().any(|(p, _)| p == path) {
            self.0.push((path.to_path_buf(), std::fs::read(path).ok()));
        }
        std::fs::write(path, bytes).unwrap();
    }

    fn restore(self) {
        for (path, bytes) in self.0 {
            match bytes {
                Some(b) => std::fs::write(&path, b).unwrap(),
                None => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
    }
}

fn json_file(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn corrupted_forecast_stores_read_as_stats_and_plot_never_panic_or_hang() {
    isolated(
        test_name!(corrupted_forecast_stores_read_as_stats_and_plot_never_panic_or_hang),
        "forecast store",
        || {
            let dir = tempfile::tempdir().unwrap();
            let (store, _) = forecast_store(dir.path());
            let metas: Vec<PathBuf> = files_under(&store)
                .into_iter()
                .filter(|p| p.ends_with("zarr.json"))
                .collect();
            let chunks: Vec<PathBuf> = files_under(&store)
                .into_iter()
                .filter(|p| p.components().any(|c| c.as_os_str() == "c"))
                .collect();
            assert!(
                metas.len() > 5 && !chunks.is_empty(),
                "{metas:?} {chunks:?}"
            );
            run_cases("forecast store", move |i| {
                let mut rng = Rng::for_case(0x5EED_0005, i);
                let mut touched = Touched::default();
                match rng.below(5) {
                    0 | 1 => {
                        let path = rng.pick(&metas).clone();
                        let mut meta = json_file(&path);
                        if meta["node_type"] == "array" {
                            metadata::corrupt_v3(&mut rng, &mut meta);
                        } else {
                            meta["attributes"] = serde_json::json!(null);
                        }
                        touched.write(&path, meta.to_string().as_bytes());
                    }
                    2 => {
                        let path = rng.pick(&metas).clone();
                        let bytes = std::fs::read(&path).unwrap();
                        touched.write(&path, &corrupt(&bytes, &mut rng));
                    }
                    _ => {
                        let path = rng.pick(&chunks).clone();
                        let bytes = std::fs::read(&path).unwrap();
                        touched.write(&path, &corrupt(&bytes, &mut rng));
                    }
                }
                read_forecast_output(&store);
                touched.restore();
            });
        },
    );
}

/// Reads a `prepare` source as `prepare` does (two time steps of every variable), and every
/// fourth case also as a dataset (`forecast --dataset` on a Zarr v2 store).
fn read_prepare_zarr(store: &Path, window: (i64, i64), whole: bool) {
    let wanted = Wanted {
        names: BTreeSet::new(),
        window: Some(window),
    };
    let _ = sources::read_source_part(store, &wanted);
    if whole {
        read_dataset(store);
    }
}

#[test]
fn corrupted_prepare_zarr_stores_never_panic_or_hang() {
    isolated(
        test_name!(corrupted_prepare_zarr_stores_never_panic_or_hang),
        "prepare zarr",
        || {
            let dir = tempfile::tempdir().unwrap();
            let store = dir.path().join("wb2.zarr");
            for f in files_under(Path::new(PREPARE).join("wb2.zarr").as_path()) {
                let rel = f.strip_prefix(Path::new(PREPARE).join("wb2.zarr")).unwrap();
                let to = store.join(rel);
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::copy(&f, &to).unwrap();
            }
            let zmeta_path = store.join(".zmetadata");
            let zmeta = json_file(&zmeta_path);
            let arrays: Vec<String> = zmeta["metadata"]
                .as_object()
                .unwrap()
                .keys()
                .filter_map(|k| k.strip_suffix("/.zarray").map(str::to_string))
                .collect();
            let chunks: Vec<PathBuf> = files_under(&store)
                .into_iter()
                .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
                .collect();
            // Two hourly steps inside the store's time axis.
            let t2m = sources::read_source_part(
                &store,
                &Wanted {
                    names: ["2m_temperature".to_string()].into(),
                    window: None,
                },
            )
            .unwrap();
            let times = t2m[0].times.clone().unwrap();
            let window = (times[10], times[11]);
            run_cases("prepare zarr", move |i| {
                let mut rng = Rng::for_case(0x5EED_0006, i);
                let mut touched = Touched::default();
                match rng.below(6) {
                    0..=2 => {
                        // One field of one array, in the consolidated metadata, in the array's
                        // own files, or in both.
                        let name = rng.pick(&arrays).clone();
                        let mut all = zmeta.clone();
                        let mut zarray = all["metadata"][format!("{name}/.zarray")].clone();
                        let mut zattrs = all["metadata"][format!("{name}/.zattrs")].clone();
                        metadata::corrupt_v2(&mut rng, &mut zarray, &mut zattrs);
                        let place = rng.below(3);
                        if place != 1 {
                            all["metadata"][format!("{name}/.zarray")] = zarray.clone();
                            all["metadata"][format!("{name}/.zattrs")] = zattrs.clone();
                            touched.write(&zmeta_path, all.to_string().as_bytes());
                        }
                        if place != 0 {
                            let a = store.join(&name);
                            touched.write(&a.join(".zarray"), zarray.to_string().as_bytes());
                            touched.write(&a.join(".zattrs"), zattrs.to_string().as_bytes());
                        }
                    }
                    3 => {
                        let bytes = std::fs::read(&zmeta_path).unwrap();
                        touched.write(&zmeta_path, &corrupt(&bytes, &mut rng));
                    }
                    4 => {
                        let name = rng.pick(&arrays).clone();
                        let path = store.join(name).join(".zarray");
                        let bytes = std::fs::read(&path).unwrap();
                        touched.write(&path, &corrupt(&bytes, &mut rng));
                    }
                    _ => {
                        let path = rng.pick(&chunks).clone();
                        let bytes = std::fs::read(&path).unwrap();
                        touched.write(&path, &corrupt(&bytes, &mut rng));
                    }
                }
                read_prepare_zarr(&store, window, i % 4 == 0);
                touched.restore();
            });
        },
    );
}

/// The `prepare` fixtures whose names end in one of `suffixes`.
fn prepare_fixtures(suffixes: &[&str]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(PREPARE)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            suffixes.iter().any(|s| name.ends_with(s))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures ending in {suffixes:?}");
    files
}

#[test]
fn corrupted_grib_files_never_panic_or_hang() {
    isolated(
        test_name!(corrupted_grib_files_never_panic_or_hang),
        "grib",
        || {
            fuzz_files(
                "grib",
                prepare_fixtures(&[".grib1", ".grib2"]),
                0x5EED_0007,
                |p| {
                    let _ = sources::read_source(p);
                },
            )
        },
    );
}

#[test]
fn corrupted_cds_netcdf_files_never_panic_or_hang() {
    isolated(
        test_name!(corrupted_cds_netcdf_files_never_panic_or_hang),
        "cds netcdf",
        || {
            fuzz_files("cds netcdf", prepare_fixtures(&[".nc"]), 0x5EED_0008, |p| {
                let _ = sources::read_source(p);
            })
        },
    );
}
