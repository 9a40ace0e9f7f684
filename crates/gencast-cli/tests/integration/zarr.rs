//! `gencast forecast` into Zarr v3 stores: parity with the NetCDF output, several writers
//! filling one store concurrently, `--resume` after an interrupted run, and rejection of
//! writers whose settings disagree with the store's.

use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use netcdf_reader::{NcAttrValue, NcFile, NcType};
use serde_json::{json, Value};
use zarrs::array::Array;
use zarrs::filesystem::FilesystemStore;

use support::{assert_ok, chunk_bits, fixture, fixture_dataset, forecast};

const SET: &str = "tiny-mha";

/// Every file of a store, by path relative to its root.
fn store_files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Asserts two stores hold the same files with the same bytes.
fn assert_same_store(a: &Path, b: &Path) {
    let (fa, fb) = (store_files(a), store_files(b));
    assert_eq!(
        fa.keys().collect::<Vec<_>>(),
        fb.keys().collect::<Vec<_>>(),
        "file lists differ"
    );
    for (k, v) in &fa {
        assert!(v == &fb[k], "{} differs", k.display());
    }
}

/// Arguments of a forecast on the fixture set into `out`.
fn forecast_args(out: &Path, extra: &[&str]) -> Vec<String> {
    let dir = fixture(SET);
    let mut args: Vec<String> = vec![
        "forecast".into(),
        "--checkpoint".into(),
        dir.join("checkpoint.npz").to_str().unwrap().into(),
        "--dataset".into(),
        fixture_dataset(SET).to_str().unwrap().into(),
        "--stats".into(),
        dir.to_str().unwrap().into(),
        "--output".into(),
        out.to_str().unwrap().into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn zarr_store_equals_netcdf_bitwise() {
    let dir = tempfile::tempdir().unwrap();
    let (nc, zarr) = (dir.path().join("f.nc"), dir.path().join("f.zarr"));
    let args = ["--members", "2", "--steps", "2", "--seed", "3"];
    assert_ok(&forecast(SET, &nc, &args));
    assert_ok(&forecast(SET, &zarr, &args));
    let ds = gencast::data::Dataset::open_lenient(&nc).unwrap();
    let mut checked = 0;
    // Predicted variables only (the static fields copied from the input have no member).
    for v in ds
        .variables()
        .iter()
        .filter(|v| v.dims.iter().any(|d| d == "sample"))
    {
        let a = ds.read_all(&v.name).unwrap();
        let levelled = v.dims.iter().any(|d| d == "level");
        let per = a.data.len() / 4;
        for m in 0..2 {
            for s in 0..2 {
                let key = if levelled {
                    format!("{m}/0/{s}/0/0/0")
                } else {
                    format!("{m}/0/{s}/0/0")
                };
                let got = chunk_bits(&zarr.join(&v.name).join("c").join(key));
                let start = (m * 2 + s) * per;
                let want: Vec<u32> = a.data[start..start + per]
                    .iter()
                    .map(|x| x.to_bits())
                    .collect();
                assert_eq!(got, want, "{} member {m} step {s}", v.name);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 12 * 4, "12 variables × 2 members × 2 steps");
    let meta = std::fs::read_to_string(zarr.join("geopotential/zarr.json")).unwrap();
    assert!(
        meta.contains(
            "\"dimension_names\":[\"sample\",\"batch\",\"time\",\"level\",\"lat\",\"lon\"]"
        ),
        "{meta}"
    );
    assert_store_matches_netcdf(&zarr, &nc);
}

/// A NetCDF attribute as the Zarr attribute JSON: text a string, one number a number, several
/// an array.
fn attribute_json(value: &NcAttrValue) -> Value {
    let numbers: Vec<Value> = match value {
        NcAttrValue::Chars(s) => return json!(s),
        NcAttrValue::Ints(v) => v.iter().map(|x| json!(x)).collect(),
        NcAttrValue::Floats(v) => v.iter().map(|x| json!(x)).collect(),
        NcAttrValue::Doubles(v) => v.iter().map(|x| json!(x)).collect(),
        other => panic!("unexpected attribute type {other:?}"),
    };
    match <[Value; 1]>::try_from(numbers) {
        Ok([one]) => one,
        Err(many) => Value::Array(many),
    }
}

/// Asserts that the Zarr store `zarr` holds exactly the variables of the NetCDF forecast `nc`:
/// for each, a `zarr.json` equal to its consolidated entry in the root, the NetCDF dimension
/// names and lengths, data type and attributes (`_FillValue` is Zarr's `fill_value`), the
/// `bytes` + `zstd` codecs, and every value decoded through zarrs equal bit for bit to the
/// NetCDF file's; the root carries the NetCDF global attributes.
fn assert_store_matches_netcdf(zarr: &Path, nc: &Path) {
    let f = NcFile::open(nc).unwrap();
    let read_json = |p: PathBuf| -> Value {
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
    };
    let root = read_json(zarr.join("zarr.json"));
    for a in f.global_attributes().unwrap() {
        assert_eq!(
            root["attributes"][&a.name],
            attribute_json(&a.value),
            "global attribute {}",
            a.name
        );
    }
    let consolidated = root["consolidated_metadata"]["metadata"]
        .as_object()
        .unwrap();
    let variables = f.variables().unwrap();
    let mut names: Vec<&str> = variables.iter().map(|v| v.name()).collect();
    let mut stored: Vec<&str> = consolidated.keys().map(String::as_str).collect();
    names.sort_unstable();
    stored.sort_unstable();
    assert_eq!(
        stored, names,
        "the store's arrays are the NetCDF file's variables"
    );
    let storage = Arc::new(FilesystemStore::new(zarr).unwrap());
    let codecs = json!([
        {"name": "bytes", "configuration": {"endian": "little"}},
        {"name": "zstd", "configuration": {"level": 1, "checksum": false}},
    ]);
    for v in variables {
        let name = v.name();
        let meta = read_json(zarr.join(name).join("zarr.json"));
        assert_eq!(&meta, &consolidated[name], "{name}: consolidated metadata");
        let dims: Vec<&str> = v.dimensions().iter().map(|d| d.name.as_str()).collect();
        let shape: Vec<u64> = v.dimensions().iter().map(|d| d.size).collect();
        assert_eq!(meta["dimension_names"], json!(dims), "{name}");
        assert_eq!(meta["shape"], json!(shape), "{name}");
        assert_eq!(meta["codecs"], codecs, "{name}");
        let mut attributes = serde_json::Map::new();
        for a in v.attributes() {
            if a.name == "_FillValue" {
                assert_eq!(meta["fill_value"], json!("NaN"), "{name}");
            } else {
                attributes.insert(a.name.clone(), attribute_json(&a.value));
            }
        }
        assert_eq!(meta["attributes"], Value::Object(attributes), "{name}");
        let array = Array::open(storage.clone(), &format!("/{name}")).unwrap();
        let all = array.subset_all();
        let (dtype, same) = match v.dtype() {
            NcType::Float => (
                "float32",
                array
                    .retrieve_array_subset::<Vec<f32>>(&all)
                    .unwrap()
                    .iter()
                    .map(|x| x.to_bits())
                    .eq(f
                        .read_variable::<f32>(name)
                        .unwrap()
                        .iter()
                        .map(|x| x.to_bits())),
            ),
            NcType::Double => (
                "float64",
                array
                    .retrieve_array_subset::<Vec<f64>>(&all)
                    .unwrap()
                    .iter()
                    .map(|x| x.to_bits())
                    .eq(f
                        .read_variable::<f64>(name)
                        .unwrap()
                        .iter()
                        .map(|x| x.to_bits())),
            ),
            NcType::Int => (
                "int32",
                array
                    .retrieve_array_subset::<Vec<i32>>(&all)
                    .unwrap()
                    .iter()
                    .eq(f.read_variable::<i32>(name).unwrap().iter()),
            ),
            other => panic!("{name}: unexpected type {other:?}"),
        };
        assert_eq!(meta["data_type"], json!(dtype), "{name}");
        assert!(
            same,
            "{name}: the store's values differ from the NetCDF file's"
        );
    }
}

#[test]
fn two_concurrent_writers_fill_one_store_like_a_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let (single, shared) = (
        dir.path().join("single.zarr"),
        dir.path().join("shared.zarr"),
    );
    assert_ok(&forecast(
        SET,
        &single,
        &["--members", "4", "--steps", "2", "--seed", "5"],
    ));
    let children: Vec<_> = ["0", "2"]
        .iter()
        .map(|offset| {
            Command::new(env!("CARGO_BIN_EXE_gencast"))
                .args(forecast_args(
                    &shared,
                    &[
                        "--members",
                        "2",
                        "--member-offset",
                        offset,
                        "--ensemble-size",
                        "4",
                        "--steps",
                        "2",
                        "--seed",
                        "5",
                        "--threads",
                        "1",
                    ],
                ))
                .env("RUST_LOG", "warn")
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        assert_ok(&c.wait_with_output().unwrap());
    }
    assert_same_store(&single, &shared);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 2, "no temporary folder left behind");
}

#[test]
fn resume_after_an_interrupted_run_equals_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let (full, part) = (dir.path().join("full.zarr"), dir.path().join("part.zarr"));
    let args = ["--members", "2", "--steps", "3", "--seed", "11"];
    assert_ok(&forecast(SET, &full, &args));
    // Killed after member 0's first step.
    let out = Command::new(env!("CARGO_BIN_EXE_gencast"))
        .args(forecast_args(&part, &args))
        .env("RUST_LOG", "warn")
        .env("GENCAST_STOP_AFTER_STEPS", "1")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the stop hook did not stop the run");
    assert!(part.join("geopotential/c/0/0/0/0/0/0").is_file());
    assert!(!part.join("geopotential/c/0/0/1").exists());
    let mut resumed = args.to_vec();
    resumed.push("--resume");
    assert_ok(&forecast(SET, &part, &resumed));
    assert_same_store(&full, &part);

    // Steps 2 and 3 of member 0 lost: resume recomputes them from step 1's stored fields.
    for name in ["geopotential", "2m_temperature"] {
        for s in ["1", "2"] {
            std::fs::remove_dir_all(part.join(name).join("c/0/0").join(s)).unwrap();
        }
    }
    assert_ok(&forecast(SET, &part, &resumed));
    assert_same_store(&full, &part);
}

#[test]
fn mismatched_writers_are_rejected_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("f.zarr");
    let base = ["--members", "1", "--ensemble-size", "2", "--steps", "1"];
    assert_ok(&forecast(SET, &store, &base));
    for (extra, needle) in [
        (
            vec!["--ensemble-size", "3", "--steps", "1"],
            "ensemble_size",
        ),
        (vec!["--ensemble-size", "2", "--steps", "2"], "lead_hours"),
        (
            vec!["--ensemble-size", "2", "--steps", "1", "--seed", "9"],
            "`seed`: this run has 9, the store has 0",
        ),
    ] {
        let mut args = vec!["--members", "1", "--member-offset", "1"];
        args.extend(extra);
        let out = forecast(SET, &store, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{needle}: accepted");
        assert!(err.contains(needle), "{needle}: {err}");
    }
    // Members past the ensemble size and --ensemble-size on NetCDF are refused up front.
    let out = forecast(
        SET,
        &store,
        &[
            "--members",
            "2",
            "--member-offset",
            "1",
            "--ensemble-size",
            "2",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ensemble-size 2"));
    let out = forecast(SET, &dir.path().join("f.nc"), &["--ensemble-size", "1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Zarr"));
}

#[test]
fn overlapping_writers_are_refused_and_stale_chunk_files_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("f.zarr");
    let ckpt = fixture(SET).join("checkpoint.npz");
    // Long enough (about 30 short steps) for the second writer to start while it runs.
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_gencast"))
        .args(["forecast", "--checkpoint"])
        .arg(&ckpt)
        .arg("--dataset")
        .arg(fixture_dataset(SET))
        .arg("--stats")
        .arg(fixture(SET))
        .arg("--output")
        .arg(&store)
        .args(["--members", "3", "--steps", "10", "--ensemble-size", "4"])
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !store.join("2m_temperature/c/0").exists() {
        assert!(start.elapsed().as_secs() < 60, "first writer never started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let overlap = [
        "--members",
        "2",
        "--member-offset",
        "2",
        "--ensemble-size",
        "4",
        "--steps",
        "10",
    ];
    let out = forecast(SET, &store, &overlap);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "overlapping writer accepted");
    assert!(err.contains("another process is writing member 2"), "{err}");
    assert!(first.wait().unwrap().success());
    // Without --resume or --overwrite, members with chunks are not written again.
    let again = [
        "--members",
        "1",
        "--member-offset",
        "0",
        "--ensemble-size",
        "4",
        "--steps",
        "10",
    ];
    let out = forecast(SET, &store, &again);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("member 0 already has chunks"),
        "{err}"
    );
    // A temporary chunk file a killed writer left is removed by a resume.
    let chunk_dir = store.join("2m_temperature/c/3/0/0/0");
    std::fs::create_dir_all(&chunk_dir).unwrap();
    std::fs::write(chunk_dir.join(".0.tmp-999999-0"), b"partial").unwrap();
    let last = [
        "--members",
        "1",
        "--member-offset",
        "3",
        "--ensemble-size",
        "4",
        "--steps",
        "10",
        "--resume",
    ];
    assert_ok(&forecast(SET, &store, &last));
    assert!(!chunk_dir.join(".0.tmp-999999-0").exists());
    assert!(chunk_dir.join("0").is_file());
}
