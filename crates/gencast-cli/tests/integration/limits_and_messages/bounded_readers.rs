//! Sizes read from files and the grid asked for are bounded before anything is allocated, in
//! every command that reads them: run under a 4 GB address-space limit, each damaged input ends
//! in a named error (exit 1), never in a panic or an aborted allocation.

use std::path::{Path, PathBuf};
use std::process::Command;

use gencast::forecast::{ForecastLayout, OutputVariable};
use gencast::output::zarr::ZarrForecast;
use serde_json::{json, Value};

use crate::support::fixture;

const WB2: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../gencast/tests/fixtures/prepare/wb2.zarr"
);

/// Runs `gencast args` under `ulimit -v 4000000`: (exit code, stderr).
fn run_limited(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 4000000; exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_gencast"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts a refusal: exit code 1 and a message naming each of `needles`.
fn assert_refused((code, err): (Option<i32>, String), needles: &[&str]) {
    assert_eq!(code, Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "`{err}` does not mention `{n}`");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A copy of the fixture store `wb2.zarr` named `tag.zarr` in `dir`, whose array `name` has
/// `edit` applied to its `.zarray` (consolidated and in the array's own file).
fn wb2_with(dir: &Path, tag: &str, name: &str, edit: impl Fn(&mut Value)) -> PathBuf {
    let store = dir.join(format!("{tag}.zarr"));
    copy_dir(Path::new(WB2), &store);
    let zmeta_path = store.join(".zmetadata");
    let mut zmeta = read_json(&zmeta_path);
    let key = format!("{name}/.zarray");
    edit(&mut zmeta["metadata"][&key]);
    std::fs::write(&zmeta_path, zmeta.to_string()).unwrap();
    let zarray = zmeta["metadata"][&key].to_string();
    std::fs::write(store.join(name).join(".zarray"), zarray).unwrap();
    store
}

/// A complete two-member, two-step forecast store `tag.zarr` in `dir`, on a 3 × 4 grid.
fn forecast_store(dir: &Path, tag: &str) -> PathBuf {
    let var = |name: &str, levelled: bool| OutputVariable {
        name: name.into(),
        levelled,
        units: None,
        statistic: None,
    };
    let layout = ForecastLayout {
        variables: vec![var("2m_temperature", false), var("geopotential", true)],
        levels: vec![500, 850],
        lat: vec![-90.0, 0.0, 90.0],
        lon: vec![0.0, 90.0, 180.0, 270.0],
        members: vec![0, 1],
        lead_hours: vec![12, 24],
        init_time: "2019-03-30T00:00:00".into(),
        history: "test".into(),
        naming: Default::default(),
        statics: Vec::new(),
    };
    let store = dir.join(format!("{tag}.zarr"));
    let z = ZarrForecast::open_or_create(&store, layout, &json!({"seed": 1})).unwrap();
    for m in 0..2 {
        for s in 0..2 {
            z.write_field(m, s, 0, &[280.0; 12]).unwrap();
            z.write_field(m, s, 1, &[5.0e4; 24]).unwrap();
        }
    }
    store
}

/// Applies `edit` to the `zarr.json` of array `name` in `store`.
fn edit_v3(store: &Path, name: &str, edit: impl Fn(&mut Value)) {
    let path = store.join(name).join("zarr.json");
    let mut meta = read_json(&path);
    edit(&mut meta);
    std::fs::write(&path, meta.to_string()).unwrap();
}

#[test]
fn prepare_refuses_impossible_store_shapes_and_grids_under_a_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let prepare = |input: &Path, grid: &str, out: &Path| {
        run_limited(&[
            "prepare",
            "--input",
            input.to_str().unwrap(),
            "--init-time",
            "2019-03-29T12:00",
            "--model",
            "gencast-1p0",
            "--grid",
            grid,
            "--output",
            out.to_str().unwrap(),
        ])
    };
    let out = dir.path().join("inputs.nc");
    // Until now: 14.4 GB of coordinates allocated before the step was looked at.
    assert_refused(
        prepare(Path::new(WB2), "0.0000001", &out),
        &["--grid 0.0000001", "0.05"],
    );
    // 2m_temperature's `.zarray` shape along latitude: 0 and -1 panicked, 2^32 aborted.
    let zmeta = read_json(&Path::new(WB2).join(".zmetadata"));
    let dims = zmeta["metadata"]["2m_temperature/.zattrs"]["_ARRAY_DIMENSIONS"].clone();
    let lat = dims
        .as_array()
        .unwrap()
        .iter()
        .position(|d| d == "latitude")
        .unwrap();
    for (tag, size) in [
        ("zero", json!(0)),
        ("minus", json!(-1)),
        ("big", json!(1u64 << 32)),
    ] {
        let store = wb2_with(dir.path(), tag, "2m_temperature", |z| {
            z["shape"][lat] = size.clone()
        });
        assert_refused(
            prepare(&store, "10", &out),
            &[&format!("{tag}.zarr"), "2m_temperature"],
        );
    }
    assert!(!out.exists());
}

#[test]
fn forecast_refuses_a_dataset_store_of_two_to_the_64_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = wb2_with(dir.path(), "huge", "2m_temperature", |z| {
        z["shape"][0] = json!(u64::MAX)
    });
    let out = dir.path().join("f.nc");
    let set = fixture("tiny-mha");
    // Until now: a "capacity overflow" panic.
    assert_refused(
        run_limited(&[
            "forecast",
            "--checkpoint",
            set.join("checkpoint.npz").to_str().unwrap(),
            "--dataset",
            store.to_str().unwrap(),
            "--stats",
            set.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ]),
        &["huge.zarr", "2m_temperature", "18446744073709551615"],
    );
    assert!(!out.exists());
}

#[test]
fn stats_and_plot_refuse_impossible_forecast_stores_under_a_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let stats = |store: &Path| run_limited(&["stats", "--forecast", store.to_str().unwrap()]);
    let png = dir.path().join("p.png");
    let plot = |store: &Path| {
        run_limited(&[
            "plot",
            "--input",
            store.to_str().unwrap(),
            "--variable",
            "2m_temperature",
            "--output",
            png.to_str().unwrap(),
        ])
    };
    let healthy = forecast_store(dir.path(), "healthy");
    assert_eq!(stats(&healthy).0, Some(0), "{}", stats(&healthy).1);

    // 2^64 - 1 members: until now a "capacity overflow" panic.
    let members = forecast_store(dir.path(), "members");
    for name in ["sample", "2m_temperature", "geopotential"] {
        edit_v3(&members, name, |m| m["shape"][0] = json!(u64::MAX));
    }
    assert_refused(stats(&members), &["members.zarr", "sample"]);
    assert_refused(plot(&members), &["members.zarr", "sample"]);

    // A chunk of 2^60 values: until now an allocation of terabytes that aborted.
    let chunk = forecast_store(dir.path(), "chunk");
    edit_v3(&chunk, "2m_temperature", |m| {
        m["chunk_grid"]["configuration"]["chunk_shape"] = json!([1, 1, 1, 1u64 << 40, 1u64 << 20])
    });
    assert_refused(
        stats(&chunk),
        &["chunk.zarr", "2m_temperature", "chunk_shape"],
    );
    assert_refused(
        plot(&chunk),
        &["chunk.zarr", "2m_temperature", "chunk_shape"],
    );

    // No latitudes: until now `stats` panicked ("chunk size must be non-zero").
    let empty = forecast_store(dir.path(), "empty");
    for name in ["lat", "2m_temperature", "geopotential"] {
        edit_v3(&empty, name, |m| {
            let dims = m["dimension_names"].as_array().unwrap().clone();
            let i = dims.iter().position(|d| d == "lat").unwrap();
            m["shape"][i] = json!(0);
        });
    }
    assert_refused(stats(&empty), &["empty.zarr", "`lat`", "has no values"]);
    assert_refused(plot(&empty), &["empty.zarr", "`lat`", "has no values"]);
    assert!(!png.exists());
}
