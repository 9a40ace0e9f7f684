//! Zarr stores: time coordinates stored as numpy datetime64 (`<M8[unit]`) and their refusals;
//! the Zarr output of `prepare`, read back as a dataset.

use std::path::{Path, PathBuf};

use crate::support::gencast_request_10deg as request;
use gencast::data::netcdf_time::parse_datetime;
use gencast::data::sources;
use gencast::data::Dataset;
use serde_json::Value;

fn wb2() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prepare/wb2.zarr")
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

/// A copy of `wb2.zarr` whose `time` metadata `edit` changes (in `.zmetadata` and the array's
/// own files).
fn edited_store(dir: &Path, edit: impl Fn(&mut Value, &mut Value)) -> PathBuf {
    let store = dir.join("store.zarr");
    copy_dir(&wb2(), &store);
    let zmeta_path = store.join(".zmetadata");
    let mut zmeta: Value =
        serde_json::from_str(&std::fs::read_to_string(&zmeta_path).unwrap()).unwrap();
    let meta = zmeta.get_mut("metadata").unwrap();
    let mut zarray = meta["time/.zarray"].clone();
    let mut zattrs = meta["time/.zattrs"].clone();
    edit(&mut zarray, &mut zattrs);
    meta["time/.zarray"] = zarray.clone();
    meta["time/.zattrs"] = zattrs.clone();
    std::fs::write(&zmeta_path, zmeta.to_string()).unwrap();
    std::fs::write(store.join("time/.zarray"), zarray.to_string()).unwrap();
    std::fs::write(store.join("time/.zattrs"), zattrs.to_string()).unwrap();
    store
}

#[test]
fn datetime64_time_coordinates_read_as_the_cf_encoded_ones() {
    let dir = tempfile::tempdir().unwrap();
    // The fixture's int64 hours since 1970 are exactly numpy's datetime64[h] counts.
    let store = edited_store(dir.path(), |zarray, zattrs| {
        zarray["dtype"] = "<M8[h]".into();
        zarray["fill_value"] = "NaT".into();
        let attrs = zattrs.as_object_mut().unwrap();
        attrs.remove("units");
        attrs.remove("calendar");
    });
    let want = sources::prepare(&[wb2()], &request()).unwrap();
    let got = sources::prepare(&[store], &request()).unwrap();
    assert_eq!(got.datetimes, want.datetimes);
    assert_eq!(got.vars.len(), want.vars.len());
    for (g, w) in got.vars.iter().zip(&want.vars) {
        // Bits, so that NaN (SST over land) equals NaN.
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert!(
            g.name == w.name && bits(&g.data) == bits(&w.data),
            "`{}` differs",
            g.name
        );
    }
    assert_eq!(
        got.datetimes.last().copied(),
        parse_datetime("2019-03-29T12:00")
    );
}

#[test]
fn an_unsupported_datetime64_unit_or_calendar_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = edited_store(dir.path(), |zarray, _| zarray["dtype"] = "<M8[Y]".into());
    let err = sources::prepare(&[store], &request())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("store.zarr") && err.contains("`time`") && err.contains("unit `Y`"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let store = edited_store(dir.path(), |_, zattrs| zattrs["calendar"] = "noleap".into());
    let err = sources::prepare(&[store], &request())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`time`") && err.contains("calendar `noleap`"),
        "{err}"
    );
}

#[test]
fn a_prepared_zarr_store_opens_as_the_example_dataset() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prepare");
    let sources_: Vec<PathBuf> = [
        "cds-single-levels.nc",
        "cds-pressure-levels.nc",
        "cds-precipitation.nc",
        "cds-static.nc",
    ]
    .iter()
    .map(|f| dir.join(f))
    .collect();
    let prepared = sources::prepare(&sources_, &request()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let store = out.path().join("inputs.zarr");
    sources::write_zarr(&prepared, &store).unwrap();
    // Written twice: an existing store is replaced.
    sources::write_zarr(&prepared, &store).unwrap();
    let back = Dataset::open(&store).unwrap();
    let ex = Dataset::open(Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "tests/fixtures/tiny-mha/source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc",
    ))
    .unwrap();
    assert_eq!(back.lat(), ex.lat());
    assert_eq!(back.lon(), ex.lon());
    assert_eq!(back.level(), ex.level());
    assert_eq!(back.time(), &ex.time()[..2]);
    assert_eq!(back.datetime(), &ex.datetime()[..2]);
    assert_eq!(back.variables().len(), ex.variables().len());
    let bits = |x: Vec<f32>| x.into_iter().map(f32::to_bits).collect::<Vec<_>>();
    for info in ex.variables() {
        let got = back.variable(&info.name).unwrap();
        assert_eq!(got.dims, info.dims, "`{}` dims", info.name);
        let frames = info.dims.iter().any(|d| d == "time").then_some(0..2);
        assert_eq!(
            bits(back.read(&info.name, None).unwrap().data),
            bits(ex.read(&info.name, frames).unwrap().data),
            "`{}`",
            info.name
        );
    }
    // Anything but a Zarr store at the output is left alone.
    let file = out.path().join("taken.zarr");
    std::fs::write(&file, "x").unwrap();
    let err = sources::write_zarr(&prepared, &file)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("taken.zarr") && err.contains("not a Zarr store"),
        "{err}"
    );
}
