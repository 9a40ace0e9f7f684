//! The forecast as a Zarr v3 store, written and read through zarrs: one array per predicted
//! variable, shaped `(sample, batch, time[, level], lat, lon)` and chunked so that each
//! (member, step) of a variable is its own chunk file: little-endian floats compressed with
//! Zstandard (the v3 `zstd` codec at level 1), as are the coordinates and static fields.
//! zarr-python 3 and xarray read it.
//!
//! Several processes may write disjoint members of one store at once: the first creates the
//! metadata (built in a temporary folder and renamed into place), later ones check that the
//! existing metadata matches theirs, and every chunk is encoded with its array's codecs, written
//! under a temporary name and renamed, so a chunk file is either absent or complete.

mod chunk;
mod create;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use zarrs::filesystem::FilesystemStore;

use super::guard::{first_difference, mismatch_subject, short};
use crate::forecast::ForecastLayout;
use crate::{Error, Result};
use chunk::VariableArray;

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
    /// Each variable's array, opened from the store.
    arrays: Vec<VariableArray>,
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
        if !path.join("zarr.json").exists() {
            let tmp = tmp_sibling(path);
            let built = create::create(&tmp, &layout, &ident);
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
        validate(path, &ident)?;
        let storage = Arc::new(
            FilesystemStore::new(path)
                .map_err(|e| Error::format(path, "Zarr store", e.to_string()))?,
        );
        let arrays = layout
            .variables
            .iter()
            .map(|v| {
                let geometry = create::variable_geometry(&layout, v);
                VariableArray::open(&storage, path, &v.name, &geometry)
            })
            .collect::<Result<_>>()?;
        Ok(ZarrForecast {
            root: path.to_path_buf(),
            layout,
            arrays,
        })
    }
}

/// Checks the root metadata of the store at `root` against this run's settings `ident`.
fn validate(root: &Path, ident: &Value) -> Result<()> {
    let meta_path = root.join("zarr.json");
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
                path: root.to_path_buf(),
                what: mismatch_subject(
                    key,
                    value,
                    found,
                    "the store's first writer",
                    "existing store",
                ),
                detail: format!(
                    "`{field}`: this run has {}, the store has {}; use another output path or \
                         the same settings and inputs",
                    short(&a),
                    short(&b)
                ),
            });
        }
    }
    Ok(())
}

impl ZarrForecast {
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

    /// The store's layout (members are the whole ensemble).
    pub fn layout(&self) -> &ForecastLayout {
        &self.layout
    }

    /// The chunk indices of `variable` for ensemble member `member` (store-wide number) at
    /// `step` (an ensemble statistic has no member: `member` is ignored), with its array.
    fn chunk(
        &self,
        variable: usize,
        member: usize,
        step: usize,
    ) -> Result<(&VariableArray, Vec<u64>)> {
        let (Some(v), Some(array)) = (
            self.layout.variables.get(variable),
            self.arrays.get(variable),
        ) else {
            return Err(Error::Invalid(format!(
                "the store has no variable number {variable}"
            )));
        };
        let mut indices = if v.per_member() {
            vec![member as u64, 0, step as u64]
        } else {
            vec![0, step as u64]
        };
        // The level (when levelled), latitude and longitude axes are one chunk each.
        indices.extend(std::iter::repeat_n(0, if v.levelled { 3 } else { 2 }));
        Ok((array, indices))
    }

    /// The chunk file of `variable` for ensemble member `member` (store-wide number) at `step`
    /// (an ensemble statistic has no member: `member` is ignored).
    pub fn chunk_path(&self, variable: usize, member: usize, step: usize) -> Result<PathBuf> {
        let (array, indices) = self.chunk(variable, member, step)?;
        Ok(array.chunk_path(&self.root, &indices))
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
        let (array, indices) = self.chunk(variable, member, step)?;
        let path = array.chunk_path(&self.root, &indices);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        // zarrs' own chunk writes go straight to the chunk file; encoding with the array's
        // codecs and renaming a complete temporary file keeps a chunk absent or whole.
        let packed = array.encode(&indices, field)?;
        write_atomic(&path, &packed)
    }

    /// Whether every variable's chunk of `member` at `step` exists.
    pub fn step_complete(&self, member: usize, step: usize) -> bool {
        self.member_variables()
            .all(|v| self.chunk_path(v, member, step).is_ok_and(|p| p.is_file()))
    }

    /// Reads back one variable of one member at one step.
    pub fn read_field(&self, member: usize, step: usize, variable: usize) -> Result<Vec<f32>> {
        let (array, indices) = self.chunk(variable, member, step)?;
        let path = array.chunk_path(&self.root, &indices);
        let packed = std::fs::read(&path).map_err(io(&path))?;
        array.decode(&path, &indices, packed, self.field_len(variable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::{CoordValues, StaticField};
    use crate::output::forecast_nc;
    use zarrs::array::Array;

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

    #[test]
    fn coordinates_and_static_fields_are_zstd_compressed_and_read_back_through_zarrs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.zarr");
        let mut l = layout(2);
        let mask: Vec<f32> = (0..12).map(|i| (i % 3) as f32 / 2.0).collect();
        l.statics = vec![StaticField {
            name: "land_sea_mask".into(),
            units: Some("1".into()),
            data: mask.clone(),
        }];
        ZarrForecast::open_or_create(&path, l.clone(), &json!({})).unwrap();
        let root: Value =
            serde_json::from_str(&std::fs::read_to_string(path.join("zarr.json")).unwrap())
                .unwrap();
        let arrays = root["consolidated_metadata"]["metadata"]
            .as_object()
            .unwrap();
        let coords = forecast_nc::coordinates(&l);
        assert_eq!(arrays.len(), coords.len() + 1 + l.variables.len());
        let codecs = json!([
            {"name": "bytes", "configuration": {"endian": "little"}},
            {"name": "zstd", "configuration": {"level": 1, "checksum": false}},
        ]);
        for (name, meta) in arrays {
            assert_eq!(meta["codecs"], codecs, "{name}");
            let own: Value = serde_json::from_str(
                &std::fs::read_to_string(path.join(name).join("zarr.json")).unwrap(),
            )
            .unwrap();
            assert_eq!(&own, meta, "{name}: zarr.json and the consolidated entry");
        }
        let storage = Arc::new(FilesystemStore::new(&path).unwrap());
        let open = |name: &str| Array::open(storage.clone(), &format!("/{name}")).unwrap();
        let chunk_file = |a: &Array<FilesystemStore>, name: &str| {
            let origin = vec![0; a.dimensionality()];
            let bytes = std::fs::read(path.join(a.chunk_key(&origin).as_str()))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                &bytes[..4],
                &[0x28, 0xB5, 0x2F, 0xFD],
                "{name}: a zstd frame"
            );
        };
        let a = open("land_sea_mask");
        chunk_file(&a, "land_sea_mask");
        let got: Vec<f32> = a.retrieve_array_subset(&a.subset_all()).unwrap();
        assert_eq!(got, mask);
        // Every coordinate holds the NetCDF writer's values, those equal to the fill value (a
        // lead time of 0 h) included.
        for c in coords {
            let a = open(&c.name);
            chunk_file(&a, &c.name);
            let all = a.subset_all();
            match c.values {
                CoordValues::Int(v) => {
                    assert_eq!(a.retrieve_array_subset::<Vec<i32>>(&all).unwrap(), v)
                }
                CoordValues::Float(v) => {
                    assert_eq!(a.retrieve_array_subset::<Vec<f32>>(&all).unwrap(), v)
                }
                CoordValues::Double(v) => {
                    assert_eq!(a.retrieve_array_subset::<Vec<f64>>(&all).unwrap(), v)
                }
            }
        }
    }

    #[test]
    fn a_chunk_that_would_decompress_beyond_its_size_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.zarr");
        let z = ZarrForecast::open_or_create(&path, layout(2), &json!({})).unwrap();
        z.write_field(0, 0, 0, &[1.0; 12]).unwrap();
        // A frame of 64 MiB of zeros is a few kilobytes on disk; the chunk holds 48 bytes.
        let bomb = zstd::bulk::compress(&vec![0u8; 64 << 20], 1).unwrap();
        std::fs::write(z.chunk_path(0, 0, 0).unwrap(), &bomb).unwrap();
        let err = z.read_field(0, 0, 0).unwrap_err().to_string();
        assert!(
            err.contains("may decompress to 67108864 bytes; the chunk holds 48"),
            "{err}"
        );
        std::fs::write(z.chunk_path(0, 0, 0).unwrap(), b"not zstd").unwrap();
        let err = z.read_field(0, 0, 0).unwrap_err().to_string();
        assert!(err.contains("not zstd data"), "{err}");
    }

    #[test]
    fn an_array_whose_metadata_disagree_with_the_layout_is_refused_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.zarr");
        ZarrForecast::open_or_create(&path, layout(2), &json!({})).unwrap();
        let meta_path = path.join("geopotential/zarr.json");
        let mut meta: Value =
            serde_json::from_str(&std::fs::read_to_string(&meta_path).unwrap()).unwrap();
        meta["chunk_grid"]["configuration"]["chunk_shape"] = json!([1, 1, 1, 2, 3, 1u64 << 40]);
        std::fs::write(&meta_path, meta.to_string()).unwrap();
        let err = ZarrForecast::open_or_create(&path, layout(2), &json!({}))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("geopotential") && err.contains("expected shape [2, 1, 2, 2, 3, 4]"),
            "{err}"
        );
    }

    /// A valid zstd frame of `payload` (one raw block) whose header declares `declared` bytes.
    fn frame_declaring(declared: u64, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0x28, 0xB5, 0x2F, 0xFD];
        // Frame header: an 8-byte content size, single segment; then the last block, raw.
        f.push(0b1110_0000);
        f.extend(declared.to_le_bytes());
        f.extend(&((payload.len() as u32) << 3 | 1).to_le_bytes()[..3]);
        f.extend(payload);
        f
    }

    #[test]
    fn readers_refuse_a_zstd_frame_declaring_more_than_its_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.zarr");
        let z = ZarrForecast::open_or_create(&path, layout(2), &json!({})).unwrap();
        for m in 0..2 {
            for s in 0..2 {
                z.write_field(m, s, 0, &[280.0; 12]).unwrap();
                z.write_field(m, s, 1, &[5.0e4; 24]).unwrap();
            }
        }
        // The frame is well-formed (one raw block of 48 zero bytes) but declares 1 TiB, which
        // zarrs' zstd codec would allocate before decoding.
        let frame = frame_declaring(1 << 40, &[0; 48]);
        std::fs::write(z.chunk_path(0, 1, 0).unwrap(), &frame).unwrap();
        let out = crate::output::read::ForecastOutput::open(&path).unwrap();
        let err = out.read("2m_temperature", 0).unwrap_err().to_string();
        assert!(
            err.contains("2m_temperature")
                && err.contains("may decompress to 1099511627776 bytes; the chunk holds 48"),
            "{err}"
        );
        let err = z.read_field(1, 0, 0).unwrap_err().to_string();
        assert!(
            err.contains("may decompress to 1099511627776 bytes"),
            "{err}"
        );
        // The same frame declaring its true size reads back.
        std::fs::write(
            z.chunk_path(0, 1, 0).unwrap(),
            frame_declaring(48, &[0; 48]),
        )
        .unwrap();
        assert_eq!(z.read_field(1, 0, 0).unwrap(), vec![0.0; 12]);
        assert!(out.read("2m_temperature", 0).is_ok());
    }
}
