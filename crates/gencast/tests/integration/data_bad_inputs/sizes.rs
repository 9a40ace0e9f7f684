//! Sizes read from files are checked before anything is allocated or indexed: Zarr v2 shapes
//! of `prepare` and `forecast --dataset` stores, forecast Zarr v3 stores as `stats` and `plot`
//! read them, and the model grid. Each refusal names the file, the array and what was found.

use std::path::{Path, PathBuf};

use crate::support::{gencast_request_10deg as request, surface_and_levelled};
use gencast::data::bounds::MAX_READ_BYTES_ENV;
use gencast::data::sources::{self, convert};
use gencast::data::Dataset;
use gencast::forecast::ForecastLayout;
use gencast::output::read::ForecastOutput;
use gencast::output::zarr::ZarrForecast;
use serde_json::{json, Value};

const WB2: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/prepare/wb2.zarr"
);

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

/// A copy of the `prepare` fixture store `wb2.zarr` in `dir` whose array `name` has `edit`
/// applied to its `.zarray`, in the consolidated metadata and in the array's own file.
fn wb2_with(dir: &Path, name: &str, edit: impl Fn(&mut Value)) -> PathBuf {
    let store = dir.join("store.zarr");
    copy_dir(Path::new(WB2), &store);
    let zmeta_path = store.join(".zmetadata");
    let mut zmeta = read_json(&zmeta_path);
    let key = format!("{name}/.zarray");
    edit(&mut zmeta["metadata"][&key]);
    std::fs::write(&zmeta_path, zmeta.to_string()).unwrap();
    std::fs::write(
        store.join(name).join(".zarray"),
        zmeta["metadata"][&key].to_string(),
    )
    .unwrap();
    store
}

/// Asserts that `err` mentions every one of `needles`.
fn assert_names(err: &str, needles: &[&str]) {
    for n in needles {
        assert!(err.contains(n), "error `{err}` does not mention `{n}`");
    }
}

/// The position of dimension `dim` in array `name` of the fixture store.
fn axis(name: &str, dim: &str) -> usize {
    let zmeta = read_json(&Path::new(WB2).join(".zmetadata"));
    let dims = zmeta["metadata"][format!("{name}/.zattrs")]["_ARRAY_DIMENSIONS"]
        .as_array()
        .unwrap()
        .clone();
    dims.iter().position(|d| d == dim).unwrap()
}

#[test]
fn prepare_zarr_shapes_of_zero_minus_one_or_two_to_the_32_are_refused_by_name() {
    let lat = axis("2m_temperature", "latitude");
    let cases: [(Value, &[&str]); 3] = [
        (
            json!(0),
            &["`latitude` has 0 values", "coordinate `latitude` has 19"],
        ),
        (json!(-1), &["`shape` entry -1"]),
        (
            json!(1u64 << 32),
            &[
                "`latitude` has 4294967296 values",
                "coordinate `latitude` has 19",
            ],
        ),
    ];
    for (size, needles) in cases {
        let dir = tempfile::tempdir().unwrap();
        let store = wb2_with(dir.path(), "2m_temperature", |z| {
            z["shape"][lat] = size.clone()
        });
        // Until now: a panic slicing the field (0 and -1), an abort allocating 282 TB (2^32).
        let err = sources::prepare(std::slice::from_ref(&store), &request())
            .unwrap_err()
            .to_string();
        assert_names(&err, &["store.zarr", "2m_temperature"]);
        assert_names(&err, needles);
        let err = sources::read_source(&store).unwrap_err().to_string();
        assert_names(&err, &["store.zarr", "2m_temperature"]);
    }
}

#[test]
fn a_coordinate_too_large_to_read_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    // The coordinate itself claims 2^32 latitudes: 32 GiB as f64, over the 16 GiB limit.
    let store = wb2_with(dir.path(), "latitude", |z| {
        z["shape"] = json!([1u64 << 32]);
        z["chunks"] = json!([19]);
    });
    let err = sources::prepare(&[store], &request())
        .unwrap_err()
        .to_string();
    if std::env::var(MAX_READ_BYTES_ENV).is_err() {
        assert_names(
            &err,
            &[
                "store.zarr",
                "latitude",
                "[4294967296]",
                "16 GiB",
                MAX_READ_BYTES_ENV,
            ],
        );
    }
}

#[test]
fn chunks_too_large_to_decode_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let lat = axis("2m_temperature", "latitude");
    // One chunk of 2^40 × 19 × 36 float32 values.
    let store = wb2_with(dir.path(), "2m_temperature", |z| {
        z["chunks"][lat] = json!(1u64 << 40)
    });
    let err = sources::read_source(&store).unwrap_err().to_string();
    assert_names(
        &err,
        &["store.zarr", "2m_temperature", "chunks", "1099511627776"],
    );
    let dir = tempfile::tempdir().unwrap();
    let store = wb2_with(dir.path(), "2m_temperature", |z| {
        z["chunks"][lat] = json!(0)
    });
    let err = sources::read_source(&store).unwrap_err().to_string();
    assert_names(&err, &["store.zarr", "2m_temperature"]);
}

#[test]
fn a_dataset_store_with_a_shape_of_two_to_the_64_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // `forecast --dataset` reads a Zarr v2 store whole; until now a "capacity overflow" panic.
    let store = wb2_with(dir.path(), "2m_temperature", |z| {
        z["shape"][0] = json!(u64::MAX)
    });
    let err = Dataset::open(&store).unwrap_err().to_string();
    assert_names(
        &err,
        &["store.zarr", "2m_temperature", "18446744073709551615"],
    );
}

/// A two-member, two-step forecast store on a 3 × 4 grid, complete.
fn forecast_store(dir: &Path) -> PathBuf {
    let layout = ForecastLayout {
        variables: surface_and_levelled(),
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
    let store = dir.join("f.zarr");
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

/// Opens a forecast output and reads every variable at every lead, returning the first error.
fn open_and_read(path: &Path) -> Result<(), gencast::Error> {
    let out = ForecastOutput::open(path)?;
    for v in out.variables() {
        for lead in 0..out.lead_times().len() {
            out.read(&v.name, lead)?;
        }
    }
    Ok(())
}

#[test]
fn forecast_stores_with_impossible_sizes_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let pristine = forecast_store(dir.path());
    assert!(open_and_read(&pristine).is_ok());
    let fresh = |tag: &str| {
        let store = dir.path().join(format!("{tag}.zarr"));
        copy_dir(&pristine, &store);
        store
    };

    // Every array along `sample` claims 2^64 - 1 members: until now "capacity overflow".
    let store = fresh("members");
    for name in ["sample", "2m_temperature", "geopotential"] {
        edit_v3(&store, name, |m| m["shape"][0] = json!(u64::MAX));
    }
    let err = open_and_read(&store).unwrap_err().to_string();
    assert_names(&err, &["members.zarr", "sample", "18446744073709551615"]);

    // One array disagrees with the others on a dimension's size.
    let store = fresh("disagree");
    edit_v3(&store, "2m_temperature", |m| {
        m["shape"][0] = json!(1u64 << 40)
    });
    let err = open_and_read(&store).unwrap_err().to_string();
    assert_names(
        &err,
        &[
            "disagree.zarr",
            "2m_temperature",
            "`sample`",
            "1099511627776",
            "2",
        ],
    );

    // A chunk of 2^40 × 2^20 values: until now an allocation of terabytes.
    let store = fresh("chunk");
    edit_v3(&store, "2m_temperature", |m| {
        m["chunk_grid"]["configuration"]["chunk_shape"] = json!([1, 1, 1, 1u64 << 40, 1u64 << 20])
    });
    let err = open_and_read(&store).unwrap_err().to_string();
    assert_names(&err, &["chunk.zarr", "2m_temperature", "chunk_shape"]);

    // A sharded array (whose index zarrs would trust) is refused by name.
    let store = fresh("sharded");
    edit_v3(&store, "2m_temperature", |m| {
        m["codecs"] = json!([{"name": "sharding_indexed", "configuration": {
            "chunk_shape": [1, 1, 1, 1, 1],
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
            "index_location": "end"}}])
    });
    let err = open_and_read(&store).unwrap_err().to_string();
    assert_names(
        &err,
        &["sharded.zarr", "2m_temperature", "sharding_indexed"],
    );
}

#[test]
fn a_forecast_without_latitudes_is_refused_on_opening() {
    let dir = tempfile::tempdir().unwrap();
    let store = forecast_store(dir.path());
    // `lat` of length 0 everywhere: until now `stats` panicked ("chunk size must be non-zero").
    for name in ["lat", "2m_temperature", "geopotential"] {
        edit_v3(&store, name, |m| {
            let dims = m["dimension_names"].as_array().unwrap().clone();
            let i = dims.iter().position(|d| d == "lat").unwrap();
            m["shape"][i] = json!(0);
        });
    }
    let err = ForecastOutput::open(&store).unwrap_err().to_string();
    assert_names(&err, &["f.zarr", "`lat`", "has no values"]);
}

#[test]
fn model_grid_steps_finer_than_the_limit_are_refused_before_allocating() {
    // 0.0000001° would be 1.8 × 10⁹ latitudes and 3.6 × 10⁹ longitudes (43 GB as f64).
    for step in [1e-7, 0.01, 0.0, -1.0, f64::NAN, f64::INFINITY, 360.0] {
        let err = convert::model_grid(step).unwrap_err().to_string();
        assert_names(&err, &["grid step", "0.05"]);
    }
    let (lat, lon) = convert::model_grid(convert::FINEST_GRID_STEP).unwrap();
    assert_eq!((lat.len(), lon.len()), (3601, 7200));
    // i · 0.05 in f64 is within an ulp or two of the decimal value.
    for (got, want) in [(lat[0], -90.0), (lat[3600], 90.0), (lon[7199], 359.95)] {
        assert!((got - want).abs() < 1e-9, "{got} for {want}");
    }
    let (lat, lon) = convert::model_grid(180.0 / 720.0).unwrap();
    assert_eq!((lat.len(), lon.len()), (721, 1440));
    // `prepare` refuses the step too, with the fixtures' sources.
    let mut req = request();
    req.model.grid_step = 1e-7;
    let wb2 = PathBuf::from(WB2);
    let err = sources::prepare(&[wb2], &req).unwrap_err().to_string();
    assert_names(&err, &["grid step", "0.0000001°"]);
}
