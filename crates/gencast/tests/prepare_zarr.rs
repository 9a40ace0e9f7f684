//! Zarr time coordinates stored as numpy datetime64 (`<M8[unit]`), and their refusals.

use std::path::{Path, PathBuf};

use gencast::data::netcdf_time::parse_datetime;
use gencast::data::sources::convert::Regrid;
use gencast::data::sources::{self, tables, PrepareRequest};
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

fn request() -> PrepareRequest {
    let mut model = tables::model("gencast-1p0").unwrap();
    // The fixtures are on a 10° grid.
    model.grid_step = 10.0;
    PrepareRequest {
        model,
        init_time: parse_datetime("2019-03-29T12:00").unwrap(),
        regrid: Regrid::Subsample,
    }
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
