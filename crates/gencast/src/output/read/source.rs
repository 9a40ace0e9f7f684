//! The storage under a forecast reader: a NetCDF file (classic CDF-1/2/5 or NetCDF-4) or a Zarr
//! store (v3, or v2 with `_ARRAY_DIMENSIONS`), seen as named arrays with dimension names, a
//! shape and text attributes, read by hyperslab with CF decoding (fill values become NaN).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use netcdf_reader::{NcFile, NcSliceInfo, NcSliceInfoElem};
use serde_json::Value;
use zarrs::array::{Array as ZArray, ArraySubset};
use zarrs::filesystem::FilesystemStore;

use crate::data::netcdf_io;
use crate::{Error, Result};

/// One array of the source.
#[derive(Clone, Debug)]
pub struct ArrayInfo {
    /// Array name.
    pub name: String,
    /// Dimension names, outermost first.
    pub dims: Vec<String>,
    /// Dimension sizes, outermost first.
    pub shape: Vec<usize>,
}

/// A NetCDF file or a Zarr store.
pub(super) enum Source {
    /// A NetCDF file.
    Nc(NcFile),
    /// A Zarr store: its storage and its arrays' attributes and element types.
    Zarr {
        /// The store.
        storage: Arc<FilesystemStore>,
        /// Attributes of each array, by name.
        attrs: Vec<(String, serde_json::Map<String, Value>)>,
        /// Element type of each array (`f4`, `f8`, `i4`, ...), by name.
        dtypes: Vec<(String, String)>,
    },
}

fn format_err(path: &Path, what: &str, detail: impl Into<String>) -> Error {
    Error::format(path, what, detail)
}

/// The `zarr.json` (v3) or `.zarray` (v2) of every array directly under `root`.
fn zarr_array_names(root: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(root).map_err(|e| Error::io(root, e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(root, e))?;
        let p = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !p.is_dir() {
            continue;
        }
        let v3 = std::fs::read_to_string(p.join("zarr.json")).ok();
        let is_array = match v3 {
            Some(text) => serde_json::from_str::<Value>(&text)
                .ok()
                .is_some_and(|m| m["node_type"] == "array"),
            None => p.join(".zarray").is_file(),
        };
        if is_array {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Normalises a v3 `data_type` or v2 `dtype` to numpy's short form (`f4`, `i8`, ...).
fn short_dtype(meta: &Value) -> String {
    if let Some(t) = meta.get("data_type").and_then(Value::as_str) {
        return match t {
            "float32" => "f4",
            "float64" => "f8",
            "int16" => "i2",
            "int32" => "i4",
            "int64" => "i8",
            "uint8" => "u1",
            "int8" => "i1",
            other => other,
        }
        .to_string();
    }
    meta.get("dtype")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim_start_matches(['<', '|', '='])
        .to_string()
}

impl Source {
    /// Opens `path`: a folder is a Zarr store, a file is NetCDF. Returns the source and its
    /// arrays.
    pub(super) fn open(path: &Path) -> Result<(Source, Vec<ArrayInfo>)> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            Self::open_zarr(path)
        } else {
            Self::open_nc(path)
        }
    }

    fn open_nc(path: &Path) -> Result<(Source, Vec<ArrayInfo>)> {
        let file = netcdf_io::open(path)?;
        let vars = file
            .variables()
            .map_err(|e| netcdf_io::reader_error(path, "variables", e))?;
        let mut arrays = Vec::with_capacity(vars.len());
        for v in vars {
            arrays.push(ArrayInfo {
                name: v.name.clone(),
                dims: v.dimensions.iter().map(|d| d.name.clone()).collect(),
                shape: netcdf_io::shape(path, v)?,
            });
        }
        Ok((Source::Nc(file), arrays))
    }

    fn open_zarr(path: &Path) -> Result<(Source, Vec<ArrayInfo>)> {
        if !path.join("zarr.json").is_file() && !path.join(".zgroup").is_file() {
            return Err(format_err(
                path,
                "input",
                "is a folder but not a Zarr store (no zarr.json or .zgroup)",
            ));
        }
        let storage = Arc::new(
            FilesystemStore::new(path).map_err(|e| format_err(path, "store", e.to_string()))?,
        );
        let mut arrays = Vec::new();
        let mut attrs = Vec::new();
        let mut dtypes = Vec::new();
        for name in zarr_array_names(path)? {
            let a = ZArray::open(storage.clone(), &format!("/{name}"))
                .map_err(|e| format_err(path, &name, e.to_string()))?;
            let meta = serde_json::to_value(a.metadata()).unwrap_or(Value::Null);
            let a_attrs = a.attributes().clone();
            let dims: Vec<String> = match a.dimension_names() {
                Some(d) if d.iter().all(Option::is_some) => d.iter().flatten().cloned().collect(),
                _ => a_attrs
                    .get("_ARRAY_DIMENSIONS")
                    .and_then(Value::as_array)
                    .map(|d| {
                        d.iter()
                            .map(|x| x.as_str().unwrap_or_default().to_string())
                            .collect()
                    })
                    .ok_or_else(|| Error::Data {
                        path: path.to_path_buf(),
                        variable: name.clone(),
                        detail: "has no dimension names (`dimension_names` or \
                                     `_ARRAY_DIMENSIONS`)"
                            .into(),
                    })?,
            };
            let shape: Vec<usize> = a.shape().iter().map(|&n| n as usize).collect();
            if dims.len() != shape.len() {
                return Err(Error::Data {
                    path: path.to_path_buf(),
                    variable: name,
                    detail: format!(
                        "{} dimension names for a {}-d array",
                        dims.len(),
                        shape.len()
                    ),
                });
            }
            dtypes.push((name.clone(), short_dtype(&meta)));
            attrs.push((name.clone(), a_attrs));
            arrays.push(ArrayInfo { name, dims, shape });
        }
        Ok((
            Source::Zarr {
                storage,
                attrs,
                dtypes,
            },
            arrays,
        ))
    }

    /// A text attribute of array `var`.
    pub(super) fn attr_text(&self, var: &str, key: &str) -> Option<String> {
        match self {
            Source::Nc(f) => netcdf_io::var_attr_text(f.variable(var).ok()?, key),
            Source::Zarr { attrs, .. } => {
                let (_, a) = attrs.iter().find(|(n, _)| n == var)?;
                Some(a.get(key)?.as_str()?.to_string())
            }
        }
    }

    fn attr_f64(&self, var: &str, key: &str) -> Option<f64> {
        match self {
            Source::Nc(f) => f.variable(var).ok()?.attribute(key)?.value.as_f64(),
            Source::Zarr { attrs, .. } => {
                let (_, a) = attrs.iter().find(|(n, _)| n == var)?;
                match a.get(key)? {
                    Value::String(s) if s == "NaN" => Some(f64::NAN),
                    v => v.as_f64(),
                }
            }
        }
    }

    /// Reads array `var` (whole, or the hyperslab `ranges`, one per dimension) as f64 with the
    /// CF `_FillValue`/`missing_value` (→ NaN) and `scale_factor`/`add_offset` decoding.
    pub(super) fn read_f64(
        &self,
        path: &Path,
        var: &str,
        ranges: Option<&[Range<usize>]>,
    ) -> Result<Vec<f64>> {
        match self {
            Source::Nc(f) => {
                let v = f.variable(var).map_err(|_| missing(path, var))?;
                let sel = ranges.map(nc_selection);
                netcdf_io::read_f64(f, path, v, sel.as_ref())
            }
            Source::Zarr { .. } => {
                let raw = self.zarr_raw(path, var, ranges)?;
                Ok(crate::data::sources::zarr::cf_decode(raw, |key| {
                    self.attr_f64(var, key)
                }))
            }
        }
    }

    /// Reads array `var` like [`Source::read_f64`], as f32 (exact for f32 storage).
    pub(super) fn read_f32(
        &self,
        path: &Path,
        var: &str,
        ranges: Option<&[Range<usize>]>,
    ) -> Result<Vec<f32>> {
        match self {
            Source::Nc(f) => {
                let v = f.variable(var).map_err(|_| missing(path, var))?;
                let sel = ranges.map(nc_selection);
                netcdf_io::read_f32(f, path, v, sel.as_ref())
            }
            Source::Zarr { .. } => Ok(self
                .read_f64(path, var, ranges)?
                .into_iter()
                .map(|x| x as f32)
                .collect()),
        }
    }

    /// The stored values of a Zarr array promoted to f64, without CF decoding.
    fn zarr_raw(
        &self,
        path: &Path,
        var: &str,
        ranges: Option<&[Range<usize>]>,
    ) -> Result<Vec<f64>> {
        let Source::Zarr {
            storage, dtypes, ..
        } = self
        else {
            return Err(missing(path, var));
        };
        let dtype = dtypes
            .iter()
            .find(|(n, _)| n == var)
            .map(|(_, t)| t.as_str())
            .ok_or_else(|| missing(path, var))?;
        let a = ZArray::open(storage.clone(), &format!("/{var}"))
            .map_err(|e| format_err(path, var, e.to_string()))?;
        let subset = match ranges {
            Some(r) => ArraySubset::new_with_ranges(
                &r.iter()
                    .map(|x| x.start as u64..x.end as u64)
                    .collect::<Vec<_>>(),
            ),
            None => a.subset_all(),
        };
        crate::data::sources::zarr::retrieve_f64(path, var, &a, &subset, dtype)
    }
}

fn nc_selection(ranges: &[Range<usize>]) -> NcSliceInfo {
    NcSliceInfo {
        selections: ranges
            .iter()
            .map(|r| NcSliceInfoElem::Slice {
                start: r.start as u64,
                end: r.end as u64,
                step: 1,
            })
            .collect(),
    }
}

fn missing(path: &Path, var: &str) -> Error {
    Error::Missing {
        path: PathBuf::from(path),
        what: "variable",
        key: var.to_string(),
    }
}
