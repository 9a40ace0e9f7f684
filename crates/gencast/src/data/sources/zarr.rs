//! Zarr v2 sources with consolidated metadata (WeatherBench-2, ARCO-ERA5): arrays named by
//! their `_ARRAY_DIMENSIONS`, in any dimension order, with Blosc-compressed chunks (LZ4 or zstd,
//! with byte or bit shuffle), read with the `zarrs` crate. A chunk absent from the store holds the
//! array's `fill_value`.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};
use zarrs::array::{Array, ArraySubset};
use zarrs::filesystem::FilesystemStore;
use zarrs::storage::ReadableStorageTraits;

use super::field::{
    member_numbers, member_slabs, Field, LAT_NAMES, LEVEL_NAMES, LON_NAMES, MEMBER_NAMES,
    TIME_NAMES,
};
use super::tables::{feeds_model, name_rule};
use super::{Skipped, SourceContents, Wanted};
use crate::data::bounds;
use crate::data::netcdf_time;
use crate::data::netcdf_time::format_datetime;
use crate::{Error, Result};

/// An opened store: its consolidated metadata and the zarrs storage.
struct Store<'a> {
    path: &'a Path,
    meta: Map<String, Value>,
    storage: Arc<FilesystemStore>,
}

fn data_err(path: &Path, variable: &str, detail: String) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        variable: variable.to_string(),
        detail,
    }
}

/// CF decoding of stored values: the `_FillValue` and `missing_value` attributes (as `attr`
/// gives them) become NaN, the rest `x·scale_factor + add_offset`.
pub(crate) fn cf_decode(raw: Vec<f64>, attr: impl Fn(&str) -> Option<f64>) -> Vec<f64> {
    let fills: Vec<f64> = ["_FillValue", "missing_value"]
        .iter()
        .filter_map(|k| attr(k))
        .filter(|x| !x.is_nan())
        .collect();
    let scale = attr("scale_factor").unwrap_or(1.0);
    let offset = attr("add_offset").unwrap_or(0.0);
    raw.into_iter()
        .map(|x| {
            if fills.contains(&x) {
                f64::NAN
            } else {
                x * scale + offset
            }
        })
        .collect()
}

/// Reads `subset` of `array` (of `name` in the store at `path`), whose numpy element type is
/// `dtype` (`f4`, `f8`, `i2`, `i4` or `i8`), promoted to f64 without CF decoding.
pub(crate) fn retrieve_f64(
    path: &Path,
    name: &str,
    array: &Array<FilesystemStore>,
    subset: &ArraySubset,
    dtype: &str,
) -> Result<Vec<f64>> {
    check_read(path, name, array, subset)?;
    let err = |e: zarrs::array::ArrayError| Error::format(path, name, e.to_string());
    Ok(match dtype {
        "f4" => array
            .retrieve_array_subset::<Vec<f32>>(subset)
            .map_err(err)?
            .into_iter()
            .map(f64::from)
            .collect(),
        "f8" => array
            .retrieve_array_subset::<Vec<f64>>(subset)
            .map_err(err)?,
        "i8" => array
            .retrieve_array_subset::<Vec<i64>>(subset)
            .map_err(err)?
            .into_iter()
            .map(|x| x as f64)
            .collect(),
        "i4" => array
            .retrieve_array_subset::<Vec<i32>>(subset)
            .map_err(err)?
            .into_iter()
            .map(f64::from)
            .collect(),
        "i2" => array
            .retrieve_array_subset::<Vec<i16>>(subset)
            .map_err(err)?
            .into_iter()
            .map(f64::from)
            .collect(),
        other => {
            return Err(data_err(
                path,
                name,
                format!("data type `{other}` is not supported (expected f4, f8, i2, i4 or i8)"),
            ))
        }
    })
}

/// Refuses, before anything is read, a read of `subset` of `array` (`name` in the store at
/// `path`) that would not fit [`bounds::max_read_bytes`] (its values as f64, or one chunk
/// decoded), of an array whose element count overflows, or of a sharded array.
pub(crate) fn check_read<S: ?Sized + ReadableStorageTraits + 'static>(
    path: &Path,
    name: &str,
    array: &Array<S>,
    subset: &ArraySubset,
) -> Result<()> {
    if bounds::product(array.shape()).is_none() {
        return Err(Error::format(
            path,
            name,
            format!("shape {:?} holds more than 2^64 values", array.shape()),
        ));
    }
    bounds::checked_count(path, name, subset.shape(), bounds::VALUE_BYTES)?;
    let value_bytes = array.data_type().fixed_size().ok_or_else(|| {
        Error::format(
            path,
            name,
            "has a variable-size data type; expected numbers",
        )
    })? as u64;
    let meta = serde_json::to_value(array.metadata()).unwrap_or(Value::Null);
    let mut chunk_shapes = Vec::new();
    if let Some(chunks) = meta.get("chunks") {
        chunk_shapes.push(("chunks", chunks.clone()));
    }
    if let Some(grid) = meta.get("chunk_grid") {
        match grid.get("name").and_then(Value::as_str) {
            Some("regular") => chunk_shapes.push((
                "chunk_shape",
                grid.pointer("/configuration/chunk_shape")
                    .cloned()
                    .unwrap_or(Value::Null),
            )),
            other => {
                return Err(Error::format(
                    path,
                    name,
                    format!(
                        "chunk grid `{}` is not supported (expected `regular`)",
                        other.unwrap_or("?")
                    ),
                ))
            }
        }
    }
    // zarrs 0.23 trusts a shard's index (offsets and sizes it adds without checks, and reads
    // or allocates before comparing with the shard's length): a damaged index can panic or
    // ask for terabytes, so sharded arrays are refused. No store this project reads or writes
    // is sharded.
    let sharded = meta
        .get("codecs")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter()
                .any(|x| x.get("name").and_then(Value::as_str) == Some("sharding_indexed"))
        });
    if sharded {
        return Err(Error::format(
            path,
            name,
            "is sharded (codec `sharding_indexed`), which this reader does not read; \
             expected an array of plain chunks",
        ));
    }
    if chunk_shapes.is_empty() {
        return Err(Error::format(path, name, "metadata give no chunk shape"));
    }
    let mut chunk_bytes = 0;
    for (key, shape) in chunk_shapes {
        let shape = bounds::json_sizes(path, name, key, &shape, 1)?;
        let count = bounds::checked_count(path, &format!("{name} ({key})"), &shape, value_bytes)?;
        chunk_bytes = chunk_bytes.max(count as u64 * value_bytes);
    }
    check_zstd_frames(path, name, array, subset, &meta, chunk_bytes)
}

/// How much more than a chunk's size its zstd data may declare: one block (128 KiB), the most
/// zstd's bound over-counts a frame written without its content size.
const ZSTD_BLOCK_SLACK: u64 = 128 << 10;

/// Why `packed` may not be decoded as the zstd data of a chunk of `chunk_bytes` bytes: it is
/// not complete zstd frames, or they could decompress to more than the chunk (zarrs' zstd codec
/// allocates what the headers declare before decoding, so a damaged header could ask for
/// terabytes, an allocation that aborts).
pub(crate) fn zstd_frames_exceed(packed: &[u8], chunk_bytes: u64) -> Option<String> {
    match zstd::bulk::Decompressor::upper_bound(packed) {
        Some(bound) if bound as u64 <= chunk_bytes + ZSTD_BLOCK_SLACK => None,
        Some(bound) => Some(format!(
            "its zstd data may decompress to {bound} bytes; the chunk holds {chunk_bytes}"
        )),
        None => Some("not zstd data (no complete zstd frame)".into()),
    }
}

/// Refuses the chunks of `subset` whose zstd data (the array's last codec) could decompress to
/// more than `chunk_bytes` ([`zstd_frames_exceed`]). Each chunk is read once more for this (the
/// frames' headers are spread through the data).
fn check_zstd_frames<S: ?Sized + ReadableStorageTraits + 'static>(
    path: &Path,
    name: &str,
    array: &Array<S>,
    subset: &ArraySubset,
    meta: &Value,
    chunk_bytes: u64,
) -> Result<()> {
    let last_codec = meta
        .get("codecs")
        .and_then(Value::as_array)
        .and_then(|c| c.last())
        .and_then(|c| c.get("name"));
    let v2_compressor = meta.pointer("/compressor/id");
    if last_codec.and_then(Value::as_str) != Some("zstd")
        && v2_compressor.and_then(Value::as_str) != Some("zstd")
    {
        return Ok(());
    }
    let chunks = array
        .chunks_in_array_subset(subset)
        .map_err(|e| Error::format(path, name, e.to_string()))?
        .unwrap_or_else(|| ArraySubset::new_empty(subset.dimensionality()));
    for indices in &chunks.indices() {
        let encoded = array
            .retrieve_encoded_chunk(&indices)
            .map_err(|e| Error::format(path, name, e.to_string()))?;
        let Some(encoded) = encoded else { continue };
        let refuse = |detail: String| {
            Error::format(path, format!("{name} (chunk {:?})", &indices[..]), detail)
        };
        if let Some(detail) = zstd_frames_exceed(&encoded, chunk_bytes) {
            return Err(refuse(detail));
        }
    }
    Ok(())
}

impl Store<'_> {
    fn zarray(&self, name: &str) -> Option<&Map<String, Value>> {
        self.meta.get(&format!("{name}/.zarray"))?.as_object()
    }

    /// The top-level arrays, sorted by name.
    fn array_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .meta
            .keys()
            .filter_map(|k| k.strip_suffix("/.zarray"))
            .filter(|k| !k.contains('/'))
            .map(str::to_string)
            .collect();
        names.sort();
        names
    }

    /// The shape of `name` in the consolidated metadata: whole numbers, each refused by name
    /// otherwise (a negative, fractional or missing size).
    fn shape(&self, name: &str) -> Result<Vec<usize>> {
        let zarray = self
            .zarray(name)
            .ok_or_else(|| data_err(self.path, name, "has no .zarray metadata".into()))?;
        let shape = zarray.get("shape").unwrap_or(&Value::Null);
        bounds::json_sizes(self.path, name, "shape", shape, 0)?
            .into_iter()
            .map(|n| {
                usize::try_from(n).map_err(|_| {
                    data_err(
                        self.path,
                        name,
                        format!("`shape` entry {n} does not fit memory"),
                    )
                })
            })
            .collect()
    }

    fn zattrs(&self, name: &str) -> Option<&Map<String, Value>> {
        self.meta.get(&format!("{name}/.zattrs"))?.as_object()
    }

    fn dims(&self, name: &str) -> Result<Vec<String>> {
        let dims = self
            .zattrs(name)
            .and_then(|a| a.get("_ARRAY_DIMENSIONS"))
            .and_then(Value::as_array)
            .ok_or_else(|| {
                data_err(
                    self.path,
                    name,
                    "has no `_ARRAY_DIMENSIONS` attribute".into(),
                )
            })?;
        Ok(dims
            .iter()
            .map(|d| d.as_str().unwrap_or_default().to_string())
            .collect())
    }

    fn attr_text(&self, name: &str, key: &str) -> Option<String> {
        Some(self.zattrs(name)?.get(key)?.as_str()?.to_string())
    }

    fn attr_f64(&self, name: &str, key: &str) -> Option<f64> {
        self.zattrs(name)?.get(key)?.as_f64()
    }

    fn open(&self, name: &str) -> Result<Array<FilesystemStore>> {
        Array::open(self.storage.clone(), &format!("/{name}"))
            .map_err(|e| Error::format(self.path, name, e.to_string()))
    }

    /// Reads a whole array as f64, with the CF `scale_factor`, `add_offset`, `_FillValue` and
    /// `missing_value` attributes applied (missing values become NaN).
    fn read_f64(&self, name: &str) -> Result<Vec<f64>> {
        self.read_f64_subset(name, None)
    }

    /// [`Store::read_f64`] of the hyperslab `ranges` (one per dimension), or of everything.
    fn read_f64_subset(
        &self,
        name: &str,
        ranges: Option<Vec<std::ops::Range<u64>>>,
    ) -> Result<Vec<f64>> {
        let dtype = self
            .zarray(name)
            .and_then(|z| z.get("dtype"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let array = self.open(name)?;
        let subset = match ranges {
            Some(r) => ArraySubset::new_with_ranges(&r),
            None => array.subset_all(),
        };
        let raw = retrieve_f64(
            self.path,
            name,
            &array,
            &subset,
            dtype.trim_start_matches(['<', '|']),
        )?;
        Ok(cf_decode(raw, |key| self.attr_f64(name, key)))
    }

    /// Reads an integer array exactly (time coordinates).
    fn read_i64(&self, name: &str) -> Result<Vec<i64>> {
        let array = self.open(name)?;
        let dtype = self
            .zarray(name)
            .and_then(|z| z.get("dtype"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let err = |e: zarrs::array::ArrayError| Error::format(self.path, name, e.to_string());
        check_read(self.path, name, &array, &array.subset_all())?;
        match dtype.trim_start_matches(['<', '|']) {
            "i8" => array
                .retrieve_array_subset::<Vec<i64>>(&array.subset_all())
                .map_err(err),
            "i4" => Ok(array
                .retrieve_array_subset::<Vec<i32>>(&array.subset_all())
                .map_err(err)?
                .into_iter()
                .map(i64::from)
                .collect()),
            _ => Ok(self
                .read_f64(name)?
                .into_iter()
                .map(|x| x.round() as i64)
                .collect()),
        }
    }

    /// The `<M8[unit]` (numpy datetime64) dtype of an array, as the unit's length in ns.
    fn datetime64_unit(&self, name: &str) -> Result<Option<i64>> {
        let dtype = self
            .zarray(name)
            .and_then(|z| z.get("dtype"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(unit) = dtype
            .trim_start_matches(['<', '|'])
            .strip_prefix("M8[")
            .and_then(|u| u.strip_suffix(']'))
        else {
            return Ok(None);
        };
        let per = match unit {
            "ns" => 1,
            "us" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "D" => 86_400_000_000_000,
            other => {
                return Err(data_err(
                    self.path,
                    name,
                    format!("datetime64 unit `{other}` is not supported (ns, us, ms, s, m, h, D)"),
                ))
            }
        };
        Ok(Some(per))
    }

    /// Reads a `<M8[...]` array as the int64 counts it stores: zarrs reads Zarr v2 datetime64
    /// only through its int64 layout, so the array is opened with its dtype given as `<i8`.
    fn read_datetime64_counts(&self, name: &str) -> Result<Vec<i64>> {
        let mut zarray = self
            .zarray(name)
            .cloned()
            .ok_or_else(|| data_err(self.path, name, "has no .zarray metadata".into()))?;
        zarray.insert("dtype".into(), Value::from("<i8"));
        // NaT (the usual fill value) is the smallest int64.
        zarray.insert("fill_value".into(), Value::from(i64::MIN));
        let meta: zarrs::metadata::v2::ArrayMetadataV2 =
            serde_json::from_value(Value::Object(zarray))
                .map_err(|e| Error::format(self.path, name, e.to_string()))?;
        let array = Array::new_with_metadata(
            self.storage.clone(),
            &format!("/{name}"),
            zarrs::metadata::ArrayMetadata::V2(meta),
        )
        .map_err(|e| Error::format(self.path, name, e.to_string()))?;
        check_read(self.path, name, &array, &array.subset_all())?;
        array
            .retrieve_array_subset::<Vec<i64>>(&array.subset_all())
            .map_err(|e| Error::format(self.path, name, e.to_string()))
    }

    /// A time coordinate as ns since 1970: numpy datetime64 (`<M8[unit]`), or numbers with CF
    /// `units` `<unit> since <date>` (and a Gregorian `calendar`, if any).
    fn times(&self, name: &str) -> Result<Vec<i64>> {
        if let Some(per) = self.datetime64_unit(name)? {
            return self
                .read_datetime64_counts(name)?
                .into_iter()
                .map(|x| {
                    if x == i64::MIN {
                        return Err(data_err(
                            self.path,
                            name,
                            "contains NaT (missing) times".into(),
                        ));
                    }
                    x.checked_mul(per)
                        .ok_or_else(|| data_err(self.path, name, "time overflows 64-bit ns".into()))
                })
                .collect();
        }
        if let Some(cal) = self.attr_text(name, "calendar") {
            if !netcdf_time::is_gregorian(&cal) {
                return Err(data_err(
                    self.path,
                    name,
                    format!("calendar `{cal}` is not supported"),
                ));
            }
        }
        let units = self.attr_text(name, "units").unwrap_or_default();
        let (per, epoch) = netcdf_time::parse_since_units(&units).ok_or_else(|| {
            data_err(
                self.path,
                name,
                format!("units `{units}` are not of the form `<unit> since <date>`"),
            )
        })?;
        self.read_i64(name)?
            .into_iter()
            .map(|x| {
                x.checked_mul(per)
                    .and_then(|v| v.checked_add(epoch))
                    .ok_or_else(|| data_err(self.path, name, "time overflows 64-bit ns".into()))
            })
            .collect()
    }

    fn levels(&self, name: &str) -> Result<Vec<i32>> {
        let scale = match self.attr_text(name, "units").as_deref() {
            Some("Pa") => 0.01,
            _ => 1.0,
        };
        self.read_f64(name)?
            .into_iter()
            .map(|x| {
                let hpa = x * scale;
                if hpa.fract() == 0.0 && hpa > 0.0 && hpa < 1e6 {
                    Ok(hpa as i32)
                } else {
                    Err(data_err(
                        self.path,
                        name,
                        format!("level {x} is not a positive whole number of hPa"),
                    ))
                }
            })
            .collect()
    }
}

/// Fails unless coordinate `dim` holds as many values (`have`) as array `name` has along it.
fn coordinate_fits(store: &Store, name: &str, dim: &str, have: usize, size: usize) -> Result<()> {
    if have == size {
        return Ok(());
    }
    Err(data_err(
        store.path,
        name,
        format!("its dimension `{dim}` has {size} values, but the coordinate `{dim}` has {have}"),
    ))
}

/// Reads the gridded arrays (those with latitude and longitude dimensions) of a Zarr v2 store
/// that hold `wanted` variables, only over `wanted`'s time window (a store may hold decades),
/// with the store's other data arrays (not gridded, or of no model variable) listed as skipped,
/// with why. A member dimension gives one field per member.
pub(crate) fn read_contents(path: &Path, wanted: &Wanted) -> Result<SourceContents> {
    let store = open_store(path)?;
    let names = store.array_names();
    let mut dims_of = Vec::new();
    let mut coords = std::collections::BTreeSet::new();
    for name in &names {
        let dims = store.dims(name);
        if let Ok(d) = &dims {
            coords.extend(d.iter().cloned());
        }
        dims_of.push(dims);
    }
    let mut out = SourceContents::default();
    for (name, dims) in names.into_iter().zip(dims_of) {
        if coords.contains(&name) {
            continue;
        }
        let skip = |reason: String| Skipped {
            path: path.to_path_buf(),
            message: None,
            name: name.clone(),
            reason,
        };
        let dims = match dims {
            Ok(d) => d,
            Err(e) => {
                out.skipped.push(skip(format!("not gridded: {e}")));
                continue;
            }
        };
        let has = |set: &[&str]| dims.iter().any(|d| set.contains(&d.as_str()));
        if dims.len() < 2 || !has(&LAT_NAMES) || !has(&LON_NAMES) {
            out.skipped.push(skip(format!(
                "not gridded: dimensions ({}) lack latitude and longitude",
                dims.join(", ")
            )));
            continue;
        }
        if !feeds_model(&name) {
            out.skipped.push(skip(format!(
                "feeds no model variable (`{name}` is not in the name table names.tsv)"
            )));
            continue;
        }
        if !wanted.wants(&name) {
            continue;
        }
        out.fields.extend(read_field(&store, &name, &dims, wanted)?);
    }
    Ok(out)
}

fn read_field(store: &Store, name: &str, dims: &[String], wanted: &Wanted) -> Result<Vec<Field>> {
    let shape = store.shape(name)?;
    if shape.len() != dims.len() {
        return Err(data_err(
            store.path,
            name,
            format!(
                "{} dimension names for a {}-d array",
                dims.len(),
                shape.len()
            ),
        ));
    }
    for (i, d) in dims.iter().enumerate() {
        if dims[..i].contains(d) {
            return Err(data_err(
                store.path,
                name,
                format!("dimension name `{d}` appears twice in its _ARRAY_DIMENSIONS {dims:?}"),
            ));
        }
    }
    let mut roles = Vec::new();
    let mut out_shape = [1usize; 4];
    let mut ranges: Vec<std::ops::Range<u64>> = shape.iter().map(|&n| 0..n as u64).collect();
    let (mut times, mut levels, mut lat, mut lon) = (None, None, Vec::new(), Vec::new());
    let mut members: Option<(usize, Vec<i64>)> = None;
    for (i, (d, &size)) in dims.iter().zip(&shape).enumerate() {
        let d = d.as_str();
        let mut size = size;
        let role = if MEMBER_NAMES.contains(&d) {
            if members.is_some() {
                return Err(data_err(
                    store.path,
                    name,
                    format!("two dimensions play the role of ensemble member (`{d}`)"),
                ));
            }
            let values = match store.zarray(d) {
                Some(_) => Some(store.read_f64(d)?),
                None => None,
            };
            members = Some((i, member_numbers(store.path, d, values, size)?));
            roles.push(None);
            continue;
        } else if TIME_NAMES.contains(&d) {
            let all = store.times(d)?;
            coordinate_fits(store, name, d, all.len(), size)?;
            let (lo, hi) = match wanted.window {
                Some((start, end)) => {
                    let lo = all.iter().position(|&t| t >= start);
                    let hi = all.iter().rposition(|&t| t <= end);
                    match (lo, hi) {
                        (Some(lo), Some(hi)) if lo <= hi => (lo, hi + 1),
                        _ => {
                            return Err(data_err(
                                store.path,
                                name,
                                format!(
                                    "no times from {} to {} (found {} values from {} to {})",
                                    format_datetime(start),
                                    format_datetime(end),
                                    all.len(),
                                    all.first().map_or(String::new(), |&t| format_datetime(t)),
                                    all.last().map_or(String::new(), |&t| format_datetime(t)),
                                ),
                            ))
                        }
                    }
                }
                _ => (0, all.len()),
            };
            ranges[i] = lo as u64..hi as u64;
            size = hi - lo;
            times = Some(all[lo..hi].to_vec());
            0
        } else if LEVEL_NAMES.contains(&d) {
            let l = store.levels(d)?;
            coordinate_fits(store, name, d, l.len(), size)?;
            levels = Some(l);
            1
        } else if LAT_NAMES.contains(&d) {
            lat = store.read_f64(d)?;
            coordinate_fits(store, name, d, lat.len(), size)?;
            2
        } else if LON_NAMES.contains(&d) {
            lon = store.read_f64(d)?;
            coordinate_fits(store, name, d, lon.len(), size)?;
            3
        } else if size == 1 {
            roles.push(None);
            continue;
        } else {
            return Err(data_err(
                store.path,
                name,
                format!("dimension `{d}` has {size} values; expected time, level, latitude, longitude or a dimension of size 1"),
            ));
        };
        if out_shape[role] != 1 {
            return Err(data_err(
                store.path,
                name,
                format!("two dimensions play the role of `{d}`"),
            ));
        }
        out_shape[role] = size;
        roles.push(Some(role));
    }
    let raw: Vec<f32> = store
        .read_f64_subset(name, Some(ranges.clone()))?
        .into_iter()
        .map(|x| x as f32)
        .collect();
    let read_shape: Vec<usize> = ranges.iter().map(|r| (r.end - r.start) as usize).collect();
    let rule = name_rule(name);
    let field = |data: Vec<f32>, member: Option<i64>| Field {
        path: store.path.to_path_buf(),
        source_name: name.to_string(),
        model_name: rule.model.clone(),
        conversion: rule.conversion,
        units: store.attr_text(name, "units"),
        times: times.clone(),
        levels: levels.clone(),
        lat: lat.clone(),
        lon: lon.clone(),
        data,
        member,
        messages: Vec::new(),
    };
    let fields: Vec<Field> = member_slabs(&raw, &read_shape, &roles, out_shape, members)
        .into_iter()
        .map(|(data, member)| field(data, member))
        .collect();
    for f in &fields {
        f.check()?;
    }
    Ok(fields)
}

/// Opens a Zarr v2 store through its consolidated metadata.
fn open_store(path: &Path) -> Result<Store<'_>> {
    let zmeta = path.join(".zmetadata");
    let text = std::fs::read_to_string(&zmeta).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::format(
                path,
                ".zmetadata",
                "no consolidated metadata; expected a Zarr v2 store written with consolidated \
                 metadata (xarray's `to_zarr(..., consolidated=True)`)",
            )
        } else {
            Error::io(&zmeta, e)
        }
    })?;
    let json: Value =
        serde_json::from_str(&text).map_err(|e| Error::format(&zmeta, "JSON", e.to_string()))?;
    let meta = json
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| Error::format(&zmeta, "metadata", "no `metadata` object"))?;
    let storage = Arc::new(
        FilesystemStore::new(path).map_err(|e| Error::format(path, "store", e.to_string()))?,
    );
    Ok(Store {
        path,
        meta,
        storage,
    })
}

/// The top-level arrays of a Zarr v2 store written as a NetCDF (classic, 64-bit offsets) file
/// image, with their dimensions (`_ARRAY_DIMENSIONS`) and text and number attributes, so that
/// a store in the example layout opens as a [`crate::data::Dataset`]. Float arrays keep their
/// type (missing values NaN), integer ones become int32 when every value fits, else float64.
pub(crate) fn netcdf_image(path: &Path) -> Result<Vec<u8>> {
    use crate::forecast::AttrValue;
    use crate::output::netcdf::{NcHeader, NcType, NcWriter};

    let store = open_store(path)?;
    let names = store.array_names();
    let mut header = NcHeader::default();
    enum Data {
        F32(Vec<f32>),
        F64(Vec<f64>),
        I32(Vec<i32>),
    }
    let mut contents = Vec::new();
    for name in &names {
        let dims = store.dims(name)?;
        let shape = store.shape(name)?;
        if shape.len() != dims.len() {
            return Err(data_err(
                path,
                name,
                format!(
                    "{} dimension names for a {}-d array",
                    dims.len(),
                    shape.len()
                ),
            ));
        }
        let mut dim_ids = Vec::new();
        for (d, &n) in dims.iter().zip(&shape) {
            let id = match header.dims.iter().position(|(name, _)| name == d) {
                Some(i) if header.dims[i].1 == n => i,
                Some(i) => {
                    return Err(data_err(
                        path,
                        name,
                        format!(
                            "dimension `{d}` has {n} values here and {} elsewhere",
                            header.dims[i].1
                        ),
                    ))
                }
                None => header.add_dim(d, n),
            };
            dim_ids.push(id);
        }
        let dtype = store
            .zarray(name)
            .and_then(|z| z.get("dtype"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim_start_matches(['<', '|'])
            .to_string();
        let data = match dtype.as_str() {
            "f4" => Data::F32(
                store
                    .read_f64(name)?
                    .into_iter()
                    .map(|x| x as f32)
                    .collect(),
            ),
            "f8" => Data::F64(store.read_f64(name)?),
            _ if dtype.starts_with("M8[") => {
                Data::F64(store.times(name)?.into_iter().map(|t| t as f64).collect())
            }
            _ => {
                let values = store.read_i64(name)?;
                match values.iter().map(|&x| i32::try_from(x)).collect() {
                    Ok(small) => Data::I32(small),
                    Err(_) => Data::F64(values.into_iter().map(|x| x as f64).collect()),
                }
            }
        };
        let mut attrs = Vec::new();
        if let Some(map) = store.zattrs(name) {
            for (k, v) in map {
                let value = match v {
                    _ if k == "_ARRAY_DIMENSIONS" => continue,
                    Value::String(t) => AttrValue::Text(t.clone()),
                    Value::Number(n)
                        if n.is_i64() && i32::try_from(n.as_i64().unwrap_or(0)).is_ok() =>
                    {
                        AttrValue::Int(vec![n.as_i64().unwrap_or(0) as i32])
                    }
                    Value::Number(n) => AttrValue::Double(vec![n.as_f64().unwrap_or(f64::NAN)]),
                    _ => continue,
                };
                attrs.push((k.clone(), value));
            }
        }
        if dtype.starts_with("M8[") {
            attrs.retain(|(k, _)| k != "units" && k != "calendar");
            attrs.push((
                "units".into(),
                AttrValue::Text("nanoseconds since 1970-01-01".into()),
            ));
        }
        let ty = match data {
            Data::F32(_) => NcType::Float,
            Data::F64(_) => NcType::Double,
            Data::I32(_) => NcType::Int,
        };
        header.add_var(name, &dim_ids, ty, attrs);
        contents.push(data);
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let tmp = std::env::temp_dir().join(format!("gencast-zarr-{}-{stamp}.nc", std::process::id()));
    let mut w = NcWriter::create(&tmp, header)?;
    for (i, data) in contents.iter().enumerate() {
        match data {
            Data::F32(v) => w.write_f32(i, 0, v)?,
            Data::F64(v) => w.write_f64(i, 0, v)?,
            Data::I32(v) => w.write_i32(i, 0, v)?,
        }
    }
    w.finish()?;
    let bytes = std::fs::read(&tmp).map_err(|e| Error::io(&tmp, e));
    let _ = std::fs::remove_file(&tmp);
    bytes
}
