//! Writes a prepared dataset as a Zarr v2 store with consolidated metadata, in the same layout
//! as [`super::write_netcdf`] (xarray's `open_zarr` reads it as it reads the NetCDF file).

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use zarrs::array::Array;
use zarrs::filesystem::FilesystemStore;

use super::write::{GLOBAL_ATTRS, TIME_LONG_NAME};
use super::Prepared;
use crate::data::netcdf_time::format_datetime;
use crate::output::cf;
use crate::output::guard::{is_zarr_store, OutputKind, StagedOutput};
use crate::time::NS_PER_HOUR;
use crate::{Error, Result};

/// The values of one array.
enum Values<'a> {
    F32(&'a [f32]),
    I32(&'a [i32]),
    I64(Vec<i64>),
}

/// One array of the store: name, dimensions, values and attributes.
struct ArrayOut<'a> {
    name: String,
    dims: Vec<(&'static str, usize)>,
    values: Values<'a>,
    attrs: Map<String, Value>,
}

fn attrs(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect()
}

/// JSON attributes from CF attribute pairs.
fn cf_attrs(pairs: Vec<(&'static str, String)>) -> Map<String, Value> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::from(v)))
        .collect()
}

/// Writes `prepared` to the Zarr v2 store `path` (a directory): arrays `lon`, `lat` (float32),
/// `level` (int32, hPa), `time` (int64 hours from the first frame, a timedelta), `datetime`
/// (batch, time; int64 hours since the first frame) and the variables (float32, NaN fill value)
/// on the dimensions [`super::write_netcdf`] gives them. Chunks hold one frame each and are
/// Blosc/zstd compressed with byte shuffle. Attributes follow CF-1.8 as in
/// [`super::write_netcdf`]. The store is written in a private folder beside `path` and moved
/// there when complete (a failed write leaves nothing behind); an existing Zarr store at `path`
/// is replaced, anything else there is refused.
pub fn write_zarr(prepared: &Prepared, path: &Path) -> Result<()> {
    if path.exists() && !is_zarr_store(path) {
        return Err(Error::format(
            path,
            "output",
            "exists and is not a Zarr store; refusing to replace it",
        ));
    }
    let staged = StagedOutput::new(path, OutputKind::Store)?;
    write_zarr_new(prepared, staged.path())?;
    staged.commit(true)
}

/// [`write_zarr`] to `path`, where nothing exists yet.
fn write_zarr_new(prepared: &Prepared, path: &Path) -> Result<()> {
    let first = *prepared
        .datetimes
        .first()
        .ok_or_else(|| Error::Invalid("a prepared dataset has no frames".into()))?;
    let hours: Vec<i64> = prepared
        .datetimes
        .iter()
        .map(|&t| (t - first) / NS_PER_HOUR)
        .collect();
    let (nt, nlat, nlon, nlev) = (
        prepared.datetimes.len(),
        prepared.lat.len(),
        prepared.lon.len(),
        prepared.levels.len(),
    );
    let epoch = format_datetime(first).replace('T', " ");
    let mut arrays = vec![
        ArrayOut {
            name: "lon".into(),
            dims: vec![("lon", nlon)],
            values: Values::F32(&prepared.lon),
            attrs: cf_attrs(cf::longitude()),
        },
        ArrayOut {
            name: "lat".into(),
            dims: vec![("lat", nlat)],
            values: Values::F32(&prepared.lat),
            attrs: cf_attrs(cf::latitude()),
        },
        ArrayOut {
            name: "level".into(),
            dims: vec![("level", nlev)],
            values: Values::I32(&prepared.levels),
            attrs: cf_attrs(cf::pressure_level()),
        },
        // As xarray writes a timedelta64 coordinate, so that it reads back as one.
        ArrayOut {
            name: "time".into(),
            dims: vec![("time", nt)],
            values: Values::I64(hours.clone()),
            attrs: attrs(&[
                ("long_name", TIME_LONG_NAME),
                ("units", "hours"),
                ("dtype", "timedelta64[ns]"),
            ]),
        },
        ArrayOut {
            name: "datetime".into(),
            dims: vec![("batch", 1), ("time", nt)],
            values: Values::I64(hours),
            attrs: cf_attrs(cf::valid_time(&format!("hours since {epoch}"))),
        },
    ];
    for v in &prepared.vars {
        let dims = match (v.forcing, v.timed, v.leveled) {
            (Some(f), _, _) if f.per_longitude() => {
                vec![("batch", 1), ("time", nt), ("lon", nlon)]
            }
            (Some(_), _, _) => vec![("batch", 1), ("time", nt)],
            (None, false, _) => vec![("lat", nlat), ("lon", nlon)],
            (None, true, false) => vec![("batch", 1), ("time", nt), ("lat", nlat), ("lon", nlon)],
            (None, true, true) => vec![
                ("batch", 1),
                ("time", nt),
                ("level", nlev),
                ("lat", nlat),
                ("lon", nlon),
            ],
        };
        let len: usize = dims.iter().map(|d| d.1).product();
        if len != v.data.len() {
            return Err(Error::Shape {
                what: format!("prepared variable `{}`", v.name),
                expected: dims.iter().map(|d| d.1).collect(),
                found: vec![v.data.len()],
            });
        }
        arrays.push(ArrayOut {
            name: v.name.clone(),
            dims,
            values: Values::F32(&v.data),
            attrs: {
                let mut a = cf_attrs(cf::attributes(&v.name, None));
                if v.timed {
                    a.insert("coordinates".into(), "datetime".into());
                }
                a
            },
        });
    }

    let io = |p: &Path, e| Error::io(p, e);
    std::fs::create_dir(path).map_err(|e| io(path, e))?;
    let storage = Arc::new(
        FilesystemStore::new(path).map_err(|e| Error::format(path, "store", e.to_string()))?,
    );
    let root_attrs = Value::Object(attrs(&GLOBAL_ATTRS));
    let mut consolidated = Map::new();
    consolidated.insert(".zgroup".into(), json!({ "zarr_format": 2 }));
    consolidated.insert(".zattrs".into(), root_attrs.clone());
    for a in &arrays {
        let (zarray, zattrs) = write_array(path, &storage, a)?;
        consolidated.insert(format!("{}/.zarray", a.name), zarray);
        consolidated.insert(format!("{}/.zattrs", a.name), zattrs);
    }
    let write_json = |name: &str, value: &Value| {
        let p = path.join(name);
        std::fs::write(&p, value.to_string()).map_err(|e| io(&p, e))
    };
    write_json(".zgroup", &json!({ "zarr_format": 2 }))?;
    write_json(".zattrs", &root_attrs)?;
    write_json(
        ".zmetadata",
        &json!({ "metadata": consolidated, "zarr_consolidated_format": 1 }),
    )
}

/// Writes one array's metadata and chunks; returns its `.zarray` and `.zattrs`.
fn write_array(
    store: &Path,
    storage: &Arc<FilesystemStore>,
    a: &ArrayOut,
) -> Result<(Value, Value)> {
    let shape: Vec<usize> = a.dims.iter().map(|d| d.1).collect();
    // One frame a chunk.
    let chunks: Vec<usize> = a
        .dims
        .iter()
        .map(|&(d, n)| if d == "time" || d == "batch" { 1 } else { n })
        .collect();
    let (dtype, fill) = match a.values {
        Values::F32(_) => ("<f4", Value::from("NaN")),
        Values::I32(_) => ("<i4", Value::Null),
        Values::I64(_) => ("<i8", Value::Null),
    };
    let zarray = json!({
        "zarr_format": 2,
        "shape": shape,
        "chunks": chunks,
        "dtype": dtype,
        "fill_value": fill,
        "order": "C",
        "filters": null,
        "dimension_separator": ".",
        "compressor": {"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 1, "blocksize": 0},
    });
    let mut zattrs = a.attrs.clone();
    zattrs.insert(
        "_ARRAY_DIMENSIONS".into(),
        Value::from(a.dims.iter().map(|d| d.0).collect::<Vec<_>>()),
    );
    let zattrs = Value::Object(zattrs);
    let err = |e: String| Error::format(store, a.name.as_str(), e);
    let meta: zarrs::metadata::v2::ArrayMetadataV2 =
        serde_json::from_value(zarray.clone()).map_err(|e| err(e.to_string()))?;
    let array = Array::new_with_metadata(
        storage.clone(),
        &format!("/{}", a.name),
        zarrs::metadata::ArrayMetadata::V2(meta),
    )
    .map_err(|e| err(e.to_string()))?;
    let all = array.subset_all();
    match &a.values {
        Values::F32(v) => array.store_array_subset(&all, *v),
        Values::I32(v) => array.store_array_subset(&all, *v),
        Values::I64(v) => array.store_array_subset(&all, v.as_slice()),
    }
    .map_err(|e| err(e.to_string()))?;
    let dir = store.join(&a.name);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    for (name, value) in [(".zarray", &zarray), (".zattrs", &zattrs)] {
        let p = dir.join(name);
        std::fs::write(&p, value.to_string()).map_err(|e| Error::io(&p, e))?;
    }
    Ok((zarray, zattrs))
}
