//! The forecast as a Zarr v3 store: one array per predicted variable, shaped
//! `(sample, batch, time[, level], lat, lon)` and chunked so that each (member, step) of a
//! variable is its own chunk file: little-endian floats compressed with Zstandard (the v3 `zstd`
//! codec, at the speed of zstd level 1), which zarr-python 3 and xarray read.
//!
//! Several processes may write disjoint members of one store at once: the first creates the
//! metadata (built in a temporary folder and renamed into place), later ones check that the
//! existing metadata matches theirs, and every chunk is written under a temporary name and
//! renamed, so a chunk file is either absent or complete.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

use super::cf;
use super::forecast_nc;
use super::guard::{first_difference, mismatch_subject, short};
use crate::forecast::{AttrValue, CoordValues, ForecastLayout};
use crate::{Error, Result};

/// Counter making temporary names unique within a process.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Root attribute holding the run's settings every writer must share, as JSON text (a flat
/// string, so xarray can copy the attributes to NetCDF).
const IDENTITY_ATTR: &str = "gencast_run";

/// Folder of a store holding one lock file per member being written.
const LOCK_DIR: &str = ".gencast-locks";

/// Exclusive locks on store members, released when dropped.
pub struct MemberClaim {
    _files: Vec<std::fs::File>,
}

/// A Zarr v3 forecast store open for writing and reading chunks.
pub struct ZarrForecast {
    root: PathBuf,
    layout: ForecastLayout,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}

/// A sibling temporary name of `path`, unique across processes and calls.
fn tmp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

/// Writes `bytes` to `path` through a temporary file and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_sibling(path);
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// The zstd level the store's metadata declares: ruzstd's fastest encoder corresponds to it (a
/// reader does not need the level; it only documents how the chunks were made).
const ZSTD_LEVEL: i32 = 1;

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

/// Array metadata (`zarr.json`) of a little-endian array stored as one chunk per `chunk` block,
/// compressed with zstd when `zstd`.
fn array_meta(
    shape: &[usize],
    chunk: &[usize],
    dtype: &str,
    fill: Value,
    dims: &[&str],
    attributes: Value,
    zstd: bool,
) -> Value {
    let mut codecs = vec![json!({"name": "bytes", "configuration": {"endian": "little"}})];
    if zstd {
        codecs.push(
            json!({"name": "zstd", "configuration": {"level": ZSTD_LEVEL, "checksum": false}}),
        );
    }
    json!({
        "zarr_format": 3,
        "node_type": "array",
        "shape": shape,
        "data_type": dtype,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunk}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": fill,
        "codecs": codecs,
        "attributes": attributes,
        "dimension_names": dims,
    })
}

fn le_bytes<T: Copy, const N: usize>(values: &[T], f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    values.iter().flat_map(|&v| f(v)).collect()
}

impl ZarrForecast {
    /// The store-wide description every writer must agree on (checked field by field).
    fn identity(layout: &ForecastLayout, run: &Value) -> Value {
        let mut id = json!({
            "ensemble_size": layout.members.len(),
            "lead_hours": layout.lead_hours,
            "variables": layout.variables.iter().map(|v| &v.name).collect::<Vec<_>>(),
            "levelled": layout.variables.iter().map(|v| v.levelled).collect::<Vec<_>>(),
            "levels": layout.levels,
            "lat": layout.lat,
            "lon": layout.lon,
            "init_time": layout.init_time,
            "codec": "zstd",
            "naming": format!("{:?}", layout.naming),
        });
        match run {
            Value::Object(m) => m.iter().for_each(|(k, v)| id[k] = v.clone()),
            Value::Null => {}
            other => id["run"] = other.clone(),
        }
        id
    }

    /// Opens the store at `path`, creating it (metadata and coordinates) when absent.
    /// `layout.members` must be the whole ensemble `0..ensemble_size`; `run` holds the settings
    /// that must agree between writers (seed, sampler). An existing store whose metadata differs
    /// is rejected, naming the first differing field.
    pub fn open_or_create(path: &Path, layout: ForecastLayout, run: &Value) -> Result<Self> {
        let ident = Self::identity(&layout, run);
        let store = ZarrForecast {
            root: path.to_path_buf(),
            layout,
        };
        if !path.join("zarr.json").exists() {
            let tmp = tmp_sibling(path);
            let built = store.build(&tmp, &ident);
            if let Err(e) = built {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(e);
            }
            if std::fs::rename(&tmp, path).is_err() {
                // Another writer created the store first (or the folder is not empty): use theirs.
                let _ = std::fs::remove_dir_all(&tmp);
                if !path.join("zarr.json").exists() {
                    return Err(Error::Format {
                        path: path.to_path_buf(),
                        what: "output".into(),
                        detail: "exists and is not a Zarr store (no zarr.json)".into(),
                    });
                }
            }
        }
        store.validate(&ident)?;
        Ok(store)
    }

    /// Checks the existing root metadata against this run's.
    fn validate(&self, ident: &Value) -> Result<()> {
        let meta_path = self.root.join("zarr.json");
        let text = std::fs::read_to_string(&meta_path).map_err(io(&meta_path))?;
        let meta: Value = serde_json::from_str(&text).map_err(|e| Error::Format {
            path: meta_path.clone(),
            what: "zarr.json".into(),
            detail: e.to_string(),
        })?;
        let missing = || Error::Missing {
            path: meta_path.clone(),
            what: "store attribute",
            key: IDENTITY_ATTR.into(),
        };
        let theirs: Value = match meta.pointer(&format!("/attributes/{IDENTITY_ATTR}")) {
            Some(Value::String(s)) => serde_json::from_str(s).map_err(|e| Error::Format {
                path: meta_path.clone(),
                what: format!("store attribute `{IDENTITY_ATTR}`"),
                detail: format!("not the JSON text of a run's settings: {e}"),
            })?,
            _ => return Err(missing()),
        };
        let theirs = &theirs;
        let Value::Object(ours) = ident else {
            return Ok(());
        };
        for (key, value) in ours {
            let found = theirs.get(key).unwrap_or(&Value::Null);
            if let Some((sub, a, b)) = first_difference(value, found) {
                let field = if sub.is_empty() || sub.starts_with('[') {
                    format!("{key}{sub}")
                } else {
                    format!("{key}.{sub}")
                };
                return Err(Error::Format {
                    path: self.root.clone(),
                    what: mismatch_subject(
                        key,
                        value,
                        found,
                        "the store's first writer",
                        "existing store",
                    ),
                    detail: format!(
                        "`{field}`: this run has {}, the store has {}; use another --output or \
                         the same settings and inputs",
                        short(&a),
                        short(&b)
                    ),
                });
            }
        }
        Ok(())
    }

    /// Claims store members `members` for this process: an exclusive lock per member (files in
    /// the store's `.gencast-locks` folder), held while the returned value lives. A member
    /// another process is writing is refused, naming it, so writers with overlapping member
    /// ranges cannot interleave while disjoint ranges proceed in parallel.
    pub fn claim_members(&self, members: std::ops::Range<usize>) -> Result<MemberClaim> {
        let dir = self.root.join(LOCK_DIR);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let mut files = Vec::with_capacity(members.len());
        for m in members {
            let p = dir.join(format!("member-{m}.lock"));
            let f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&p)
                .map_err(io(&p))?;
            match f.try_lock() {
                Ok(()) => files.push(f),
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::Invalid(format!(
                        "{}: another process is writing member {m} of this store (it holds {}); \
                         give each writer a disjoint --member-offset/--members range",
                        self.root.display(),
                        p.display()
                    )))
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&p, e)),
            }
        }
        Ok(MemberClaim { _files: files })
    }

    /// Removes the temporary chunk files (`.NAME.tmp-PID-N`) a killed or failed writer left
    /// under `member`'s chunks; call it only for members this process has claimed. Returns how
    /// many were removed.
    pub fn remove_stale_chunk_files(&self, member: usize) -> Result<usize> {
        fn walk(dir: &Path, removed: &mut usize) -> Result<()> {
            let entries = match std::fs::read_dir(dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(Error::io(dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(io(dir))?;
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if path.is_dir() {
                    walk(&path, removed)?;
                } else if name.starts_with('.') && name.contains(".tmp-") {
                    std::fs::remove_file(&path).map_err(io(&path))?;
                    *removed += 1;
                }
            }
            Ok(())
        }
        let mut removed = 0;
        for v in self.layout.variables.iter().filter(|v| v.per_member()) {
            walk(
                &self.root.join(&v.name).join("c").join(member.to_string()),
                &mut removed,
            )?;
        }
        Ok(removed)
    }

    /// Indices of the variables with a member dimension (not ensemble statistics).
    fn member_variables(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.layout.variables.len()).filter(|&v| self.layout.variables[v].per_member())
    }

    /// Whether any chunk of `member` (store-wide number) is in the store.
    pub fn member_has_chunks(&self, member: usize) -> bool {
        (0..self.layout.lead_hours.len()).any(|s| {
            self.member_variables()
                .any(|v| self.chunk_path(v, member, s).is_ok_and(|p| p.is_file()))
        })
    }

    /// Writes the metadata and coordinate arrays into the folder `dir`.
    fn build(&self, dir: &Path, ident: &Value) -> Result<()> {
        let l = &self.layout;
        let n = l.naming.names();
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut root_meta = json!({
            "zarr_format": 3,
            "node_type": "group",
            "attributes": {
                "Conventions": "CF-1.8",
                "title": "GenCast ensemble forecast",
                "history": l.history,
                IDENTITY_ATTR: ident.to_string(),
            },
        });
        let (n_s, n_t, n_l) = (l.members.len(), l.lead_hours.len(), l.levels.len());
        // The coordinates are the NetCDF file's, each array one chunk.
        let dim_len = |d: &str| -> usize {
            if d == n.member {
                n_s
            } else if d == n.init_dim {
                1
            } else if d == n.lead {
                n_t
            } else if d == n.level {
                n_l
            } else if d == n.lat {
                l.lat.len()
            } else if d == n.lon {
                l.lon.len()
            } else {
                2 // the bounds dimension
            }
        };
        let mut coords: Vec<(String, Value, Vec<u8>)> = Vec::new();
        for c in forecast_nc::coordinates(l) {
            let shape: Vec<usize> = c.dims.iter().map(|d| dim_len(d)).collect();
            let chunk: Vec<usize> = shape.iter().map(|&s| s.max(1)).collect();
            let mut attrs = json!({});
            for (k, val) in &c.attrs {
                attrs[k] = attr_json(val);
            }
            let (dtype, fill, bytes) = match &c.values {
                CoordValues::Int(v) => ("int32", json!(0), le_bytes(v, i32::to_le_bytes)),
                CoordValues::Float(v) => ("float32", json!(0.0), le_bytes(v, f32::to_le_bytes)),
                CoordValues::Double(v) => ("float64", json!(0.0), le_bytes(v, f64::to_le_bytes)),
            };
            let meta = array_meta(&shape, &chunk, dtype, fill, &c.dims, attrs, false);
            coords.push((c.name, meta, bytes));
        }
        for s in &l.statics {
            let mut attrs = json!({});
            for (k, val) in cf::attributes(&s.name, s.units.as_deref()) {
                attrs[k] = json!(val);
            }
            let grid = [l.lat.len(), l.lon.len()];
            let chunk = [grid[0].max(1), grid[1].max(1)];
            coords.push((
                s.name.clone(),
                array_meta(
                    &grid,
                    &chunk,
                    "float32",
                    json!("NaN"),
                    &[n.lat, n.lon],
                    attrs,
                    false,
                ),
                le_bytes(&s.data, f32::to_le_bytes),
            ));
        }
        let write = |p: PathBuf, bytes: &[u8]| std::fs::write(&p, bytes).map_err(io(&p));
        let mut consolidated = serde_json::Map::new();
        for (name, meta, bytes) in coords {
            let a = dir.join(&name);
            std::fs::create_dir_all(&a).map_err(io(&a))?;
            write(a.join("zarr.json"), meta.to_string().as_bytes())?;
            let n_dims = meta["shape"].as_array().map_or(1, Vec::len);
            // The chunk key of a scalar (0-d) array is `c` itself.
            let chunk = (0..n_dims).fold(a.join("c"), |p, _| p.join("0"));
            if !bytes.is_empty() {
                if let Some(parent) = chunk.parent() {
                    std::fs::create_dir_all(parent).map_err(io(parent))?;
                }
                write(chunk, &bytes)?;
            }
            consolidated.insert(name, meta);
        }
        for v in &l.variables {
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
            let mut attrs = json!({});
            for (k, val) in forecast_nc::variable_attributes(l, v) {
                attrs[k] = attr_json(&val);
            }
            let meta = array_meta(&shape, &chunk, "float32", json!("NaN"), &dims, attrs, true);
            let a = dir.join(&v.name);
            std::fs::create_dir_all(&a).map_err(io(&a))?;
            write(a.join("zarr.json"), meta.to_string().as_bytes())?;
            consolidated.insert(v.name.clone(), meta);
        }
        // Array metadata never changes after creation (chunks are the only later writes), so it
        // is consolidated into the root once, letting readers open the store with one read.
        root_meta["consolidated_metadata"] = json!({
            "kind": "inline",
            "must_understand": false,
            "metadata": consolidated,
        });
        write(dir.join("zarr.json"), root_meta.to_string().as_bytes())?;
        Ok(())
    }

    /// The store's layout (members are the whole ensemble).
    pub fn layout(&self) -> &ForecastLayout {
        &self.layout
    }

    /// The chunk file of `variable` for ensemble member `member` (store-wide number) at `step`
    /// (an ensemble statistic has no member: `member` is ignored).
    pub fn chunk_path(&self, variable: usize, member: usize, step: usize) -> Result<PathBuf> {
        let v = self.layout.variables.get(variable).ok_or_else(|| {
            Error::Invalid(format!("the store has no variable number {variable}"))
        })?;
        let mut key = if v.per_member() {
            vec![member.to_string(), "0".into(), step.to_string(), "0".into()]
        } else {
            vec!["0".into(), step.to_string(), "0".into()]
        };
        if v.levelled {
            key.push("0".into());
        }
        key.push("0".into());
        let mut p = self.root.join(&v.name).join("c");
        p.extend(key);
        Ok(p)
    }

    fn field_len(&self, variable: usize) -> usize {
        let l = &self.layout;
        let levelled = l.variables.get(variable).is_some_and(|v| v.levelled);
        l.lat.len() * l.lon.len() * if levelled { l.levels.len() } else { 1 }
    }

    /// Writes one variable of one member (store-wide number) at one step: `field` is
    /// `[level,] lat, lon`. The chunk appears complete or not at all.
    pub fn write_field(
        &self,
        member: usize,
        step: usize,
        variable: usize,
        field: &[f32],
    ) -> Result<()> {
        let n = self.field_len(variable);
        let l = &self.layout;
        if field.len() != n || member >= l.members.len() || step >= l.lead_hours.len() {
            let name = l.variables.get(variable).map_or("?", |v| v.name.as_str());
            return Err(Error::Shape {
                what: format!("Zarr field `{name}` (member {member}, step {step})"),
                expected: vec![l.members.len(), l.lead_hours.len(), n],
                found: vec![member, step, field.len()],
            });
        }
        let path = self.chunk_path(variable, member, step)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let raw = le_bytes(field, f32::to_le_bytes);
        let packed = ruzstd::encoding::compress_to_vec(
            &raw[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        write_atomic(&path, &packed)
    }

    /// Whether every variable's chunk of `member` at `step` exists.
    pub fn step_complete(&self, member: usize, step: usize) -> bool {
        self.member_variables()
            .all(|v| self.chunk_path(v, member, step).is_ok_and(|p| p.is_file()))
    }

    /// Reads back one variable of one member at one step.
    pub fn read_field(&self, member: usize, step: usize, variable: usize) -> Result<Vec<f32>> {
        let path = self.chunk_path(variable, member, step)?;
        let packed = std::fs::read(&path).map_err(io(&path))?;
        let n = self.field_len(variable);
        let bad = |detail: String| Error::Format {
            path: path.clone(),
            what: "chunk".into(),
            detail,
        };
        let mut decoder = ruzstd::decoding::StreamingDecoder::new(&packed[..])
            .map_err(|e| bad(format!("not a zstd frame: {e}")))?;
        // At most one byte more than expected is read, so a corrupt frame cannot balloon.
        let mut bytes = Vec::with_capacity(4 * n);
        std::io::Read::read_to_end(
            &mut std::io::Read::take(&mut decoder, 4 * n as u64 + 1),
            &mut bytes,
        )
        .map_err(|e| bad(format!("zstd data do not decompress: {e}")))?;
        if bytes.len() != 4 * n {
            return Err(Error::Format {
                path,
                what: "chunk".into(),
                detail: format!("{} bytes decompressed, expected {}", bytes.len(), 4 * n),
            });
        }
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(members: usize) -> ForecastLayout {
        let mut l = crate::output::forecast_nc::tests::small_layout();
        l.lat[1] = 0.1;
        l.members = (0..members as i32).collect();
        l
    }

    #[test]
    fn chunks_round_trip_and_complete_steps_are_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.zarr");
        let run = json!({"seed": 1});
        let z = ZarrForecast::open_or_create(&path, layout(2), &run).unwrap();
        let t: Vec<f32> = (0..12).map(|i| i as f32 + 0.5).collect();
        let g: Vec<f32> = (0..24).map(|i| -(i as f32)).collect();
        z.write_field(1, 1, 0, &t).unwrap();
        assert!(!z.step_complete(1, 1));
        z.write_field(1, 1, 1, &g).unwrap();
        assert!(z.step_complete(1, 1));
        assert!(!z.step_complete(0, 1));
        assert_eq!(z.read_field(1, 1, 1).unwrap(), g);
        let chunk = std::fs::read(z.chunk_path(1, 1, 1).unwrap()).unwrap();
        assert_eq!(&chunk[..4], &[0x28, 0xB5, 0x2F, 0xFD], "a zstd frame");
        assert!(path.join("geopotential/c/1/0/1/0/0/0").is_file());
        assert!(path.join("2m_temperature/c/1/0/1/0/0").is_file());
        let root: Value =
            serde_json::from_str(&std::fs::read_to_string(path.join("zarr.json")).unwrap())
                .unwrap();
        let dims = &root["consolidated_metadata"]["metadata"]["geopotential"]["dimension_names"];
        assert_eq!(
            dims,
            &json!(["sample", "batch", "time", "level", "lat", "lon"])
        );
        assert_eq!(
            root["consolidated_metadata"]["metadata"]["sample"]["shape"],
            json!([2])
        );
        let err = z.write_field(0, 0, 1, &t).unwrap_err().to_string();
        assert!(err.contains("geopotential"), "{err}");
        // A second writer with the same settings opens the same store.
        ZarrForecast::open_or_create(&path, layout(2), &run).unwrap();
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary folder left behind");
        let other = dir.path().join("other.zarr");
        std::fs::create_dir_all(other.join("junk")).unwrap();
        let err = ZarrForecast::open_or_create(&other, layout(2), &run)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("not a Zarr store"), "{err}");
    }

    #[test]
    fn mismatched_writers_are_rejected_naming_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.zarr");
        let run = json!({"seed": 1});
        ZarrForecast::open_or_create(&path, layout(2), &run).unwrap();
        let err = ZarrForecast::open_or_create(&path, layout(3), &run)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("ensemble_size"), "{err}");
        let mut l = layout(2);
        l.lead_hours.push(36);
        let err = ZarrForecast::open_or_create(&path, l, &run)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("lead_hours"), "{err}");
        let err = ZarrForecast::open_or_create(&path, layout(2), &json!({"seed": 2}))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("`seed`: this run has 2, the store has 1"),
            "{err}"
        );
    }

    #[test]
    fn overlapping_member_claims_are_refused_and_stale_chunk_files_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.zarr");
        let run = json!({"seed": 1});
        let a = ZarrForecast::open_or_create(&path, layout(4), &run).unwrap();
        let b = ZarrForecast::open_or_create(&path, layout(4), &run).unwrap();
        let claim = a.claim_members(0..2).unwrap();
        let err = b.claim_members(1..3).err().unwrap().to_string();
        assert!(
            err.contains("member 1") && err.contains("another process"),
            "{err}"
        );
        let other = b.claim_members(2..4).unwrap();
        drop(claim);
        b.claim_members(0..2).unwrap();
        drop(other);
        // A chunk temporary file a killed writer left is removed; real chunks stay.
        let t: Vec<f32> = (0..12).map(|i| i as f32).collect();
        a.write_field(1, 0, 0, &t).unwrap();
        let chunk = a.chunk_path(0, 1, 0).unwrap();
        let stale = chunk.with_file_name(".0.tmp-4242-0");
        std::fs::write(&stale, b"half").unwrap();
        assert!(a.member_has_chunks(1) && !a.member_has_chunks(0));
        assert_eq!(a.remove_stale_chunk_files(1).unwrap(), 1);
        assert!(!stale.exists() && chunk.is_file());
    }
}
