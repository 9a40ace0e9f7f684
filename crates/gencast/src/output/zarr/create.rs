//! A forecast store's metadata, coordinates and static fields, created through zarrs in a folder
//! the caller renames into place. Every array is little-endian and compressed with zstd; the
//! metadata are written compact, with the consolidated metadata inline in the root group.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use zarrs::array::builder::ArrayBuilderFillValue;
use zarrs::array::codec::{BytesCodec, ZstdCodec};
use zarrs::array::{Array, ArrayBuilder, CodecOptions};
use zarrs::filesystem::FilesystemStore;
use zarrs::group::GroupBuilder;
use zarrs::metadata::v3::{AdditionalFieldV3, AdditionalFieldsV3};
use zarrs::storage::{StoreKey, WritableStorageTraits};

use super::super::cf;
use super::super::forecast_nc;
use crate::forecast::{AttrValue, CoordValues, ForecastLayout, OutputVariable};
use super::IDENTITY_ATTR;
use crate::{Error, Result};

/// The zstd level of every chunk (the codec's `level`; a reader does not need it).
const ZSTD_LEVEL: i32 = 1;

/// The names of the codecs of every array of the store, in order.
pub(super) const CODECS: [&str; 2] = ["bytes", "zstd"];

/// Shape, chunk shape and dimension names of one array.
pub(super) struct Geometry {
    /// The array's shape.
    pub(super) shape: Vec<u64>,
    /// The shape of each chunk.
    pub(super) chunk: Vec<u64>,
    /// Dimension names, slowest first.
    pub(super) dims: Vec<&'static str>,
}

/// The geometry of variable `v`: one chunk per (member, step), each holding a whole field.
pub(super) fn variable_geometry(l: &ForecastLayout, v: &OutputVariable) -> Geometry {
    let n = l.naming.names();
    let (n_s, n_t, n_l) = (l.members.len(), l.lead_hours.len(), l.levels.len());
    let (mut shape, mut chunk, mut dims) = if v.per_member() {
        (
            vec![n_s, 1, n_t],
            vec![1, 1, 1],
            vec![n.member, n.init_dim, n.lead],
        )
    } else {
        (vec![1, n_t], vec![1, 1], vec![n.init_dim, n.lead])
    };
    if v.levelled {
        shape.push(n_l);
        chunk.push(n_l.max(1));
        dims.push(n.level);
    }
    shape.extend([l.lat.len(), l.lon.len()]);
    chunk.extend([l.lat.len().max(1), l.lon.len().max(1)]);
    dims.extend([n.lat, n.lon]);
    Geometry {
        shape: shape.iter().map(|&s| s as u64).collect(),
        chunk: chunk.iter().map(|&s| s as u64).collect(),
        dims,
    }
}

/// A NetCDF attribute value as Zarr JSON: text as a string, one number as a number, several as
/// an array.
fn attr_json(value: &AttrValue) -> Value {
    fn one_or_many<T: serde::Serialize>(v: &[T]) -> Value {
        match v {
            [x] => json!(x),
            _ => json!(v),
        }
    }
    match value {
        AttrValue::Text(s) => json!(s),
        AttrValue::Double(v) => one_or_many(v),
        AttrValue::Int(v) => one_or_many(v),
        AttrValue::Float(v) => one_or_many(v),
    }
}

/// The creation of one store's nodes in the folder `dir`.
struct Creator<'a> {
    dir: &'a Path,
    storage: Arc<FilesystemStore>,
    /// Each array's metadata, for the root's consolidated metadata.
    consolidated: Map<String, Value>,
}

impl Creator<'_> {
    /// An error about node `name` of the store being created.
    fn error(&self, name: &str, detail: impl std::fmt::Display) -> Error {
        Error::format(
            self.dir.join(name),
            format!("Zarr node `{name}`"),
            detail.to_string(),
        )
    }

    /// Writes `metadata` as node `name`'s compact `zarr.json` (zarrs' own `store_metadata`
    /// writes indented JSON; the store has always been written compact).
    fn store_metadata(&self, name: &str, metadata: &impl serde::Serialize) -> Result<()> {
        let key = if name.is_empty() {
            "zarr.json".to_string()
        } else {
            format!("{name}/zarr.json")
        };
        let key = StoreKey::new(key).map_err(|e| self.error(name, e))?;
        let bytes = serde_json::to_vec(metadata).map_err(|e| self.error(name, e))?;
        self.storage
            .set(&key, bytes.into())
            .map_err(|e| self.error(name, e))
    }

    /// Creates array `name` (its metadata, consolidated later into the root) and, when `values`
    /// holds any, its single chunk.
    fn array<'v>(
        &mut self,
        name: &str,
        geometry: &Geometry,
        data_type: &str,
        fill: impl Into<ArrayBuilderFillValue>,
        attributes: Map<String, Value>,
        values: Option<impl zarrs::array::IntoArrayBytes<'v>>,
    ) -> Result<()> {
        let array: Array<FilesystemStore> = ArrayBuilder::new(
            geometry.shape.clone(),
            geometry.chunk.clone(),
            data_type,
            fill,
        )
        .array_to_bytes_codec(Arc::new(BytesCodec::little()))
        .bytes_to_bytes_codecs(vec![Arc::new(ZstdCodec::new(ZSTD_LEVEL, false))])
        .attributes(attributes)
        .dimension_names(Some(geometry.dims.iter().copied()))
        .build(self.storage.clone(), &format!("/{name}"))
        .map_err(|e| self.error(name, e))?;
        self.store_metadata(name, array.metadata())?;
        let filled = geometry.shape.iter().all(|&s| s > 0);
        if let Some(values) = values.filter(|_| filled) {
            // A chunk equal to the fill value (a lead time of 0 h, say) is stored all the same.
            let mut options = CodecOptions::default();
            options.set_store_empty_chunks(true);
            let origin = vec![0; geometry.shape.len()];
            array
                .store_chunk_opt(&origin, values, &options)
                .map_err(|e| self.error(name, e))?;
        }
        let metadata = serde_json::to_value(array.metadata()).map_err(|e| self.error(name, e))?;
        self.consolidated.insert(name.to_string(), metadata);
        Ok(())
    }
}

/// Creates the store of `layout` in the folder `dir`: the root group (attributes, the writers'
/// shared settings `ident` and the consolidated metadata), the coordinates and static fields
/// with their values (one chunk each), and the variables' metadata.
pub(super) fn create(dir: &Path, l: &ForecastLayout, ident: &Value) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let storage = Arc::new(
        FilesystemStore::new(dir).map_err(|e| Error::format(dir, "Zarr store", e.to_string()))?,
    );
    let mut c = Creator {
        dir,
        storage,
        consolidated: Map::new(),
    };
    let n = l.naming.names();
    // The coordinates are the NetCDF file's, each array one chunk.
    let dim_len = |d: &str| -> usize {
        if d == n.member {
            l.members.len()
        } else if d == n.init_dim {
            1
        } else if d == n.lead {
            l.lead_hours.len()
        } else if d == n.level {
            l.levels.len()
        } else if d == n.lat {
            l.lat.len()
        } else if d == n.lon {
            l.lon.len()
        } else {
            2 // the bounds dimension
        }
    };
    for coord in forecast_nc::coordinates(l) {
        let shape: Vec<u64> = coord.dims.iter().map(|d| dim_len(d) as u64).collect();
        let geometry = Geometry {
            chunk: shape.iter().map(|&s| s.max(1)).collect(),
            shape,
            dims: coord.dims.clone(),
        };
        let attrs: Map<String, Value> = coord
            .attrs
            .iter()
            .map(|(k, v)| (k.clone(), attr_json(v)))
            .collect();
        match &coord.values {
            CoordValues::Int(v) => {
                c.array(&coord.name, &geometry, "int32", 0i32, attrs, Some(&v[..]))
            }
            CoordValues::Float(v) => {
                c.array(&coord.name, &geometry, "float32", 0f32, attrs, Some(&v[..]))
            }
            CoordValues::Double(v) => {
                c.array(&coord.name, &geometry, "float64", 0f64, attrs, Some(&v[..]))
            }
        }?;
    }
    let grid = [l.lat.len() as u64, l.lon.len() as u64];
    for s in &l.statics {
        let geometry = Geometry {
            shape: grid.to_vec(),
            chunk: grid.iter().map(|&g| g.max(1)).collect(),
            dims: vec![n.lat, n.lon],
        };
        let attrs: Map<String, Value> = cf::attributes(&s.name, s.units.as_deref())
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        c.array(
            &s.name,
            &geometry,
            "float32",
            f32::NAN,
            attrs,
            Some(&s.data[..]),
        )?;
    }
    for v in &l.variables {
        let attrs: Map<String, Value> = forecast_nc::variable_attributes(l, v)
            .into_iter()
            .map(|(k, val)| (k.to_string(), attr_json(&val)))
            .collect();
        let geometry = variable_geometry(l, v);
        c.array(
            &v.name,
            &geometry,
            "float32",
            f32::NAN,
            attrs,
            None::<&[f32]>,
        )?;
    }
    let attributes: Map<String, Value> = [
        ("Conventions", json!("CF-1.8")),
        ("title", json!("GenCast ensemble forecast")),
        ("history", json!(l.history)),
        (IDENTITY_ATTR, json!(ident.to_string())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    // Array metadata never changes after creation (chunks are the only later writes), so it
    // is consolidated into the root once, letting readers open the store with one read.
    // (zarrs' own `ConsolidatedMetadata` keeps the arrays in a hash map, in no fixed order.)
    let mut fields = AdditionalFieldsV3::new();
    fields.insert(
        "consolidated_metadata".to_string(),
        AdditionalFieldV3::new(
            json!({"kind": "inline", "metadata": std::mem::take(&mut c.consolidated)}),
            false,
        ),
    );
    let group = GroupBuilder::new()
        .attributes(attributes)
        .additional_fields(fields)
        .build(c.storage.clone(), "/")
        .map_err(|e| c.error("", e))?;
    c.store_metadata("", group.metadata())
}
