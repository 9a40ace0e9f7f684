//! The parameter store (haiku `params[module][name]`) and the loader that checks every
//! tensor against the shapes a model expects.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::npy::Dtype;
use super::npz::{Bytes, NpzArchive};
use super::shapes::ExpectedParam;
use crate::{Error, Result};

/// Where a parameter's values live.
#[derive(Debug, Clone)]
enum Storage {
    /// Aligned little-endian f32 values inside the memory-mapped archive.
    Mapped {
        bytes: Arc<Bytes>,
        offset: usize,
        len: usize,
    },
    /// Values copied into memory.
    Owned(Vec<f32>),
    /// Values left in the file: the member's header shows a tensor the model does not use, or
    /// one of another shape, so it is never inflated (the loader reports it).
    Unread,
}

/// One float32 parameter tensor.
#[derive(Debug, Clone)]
pub struct Param {
    /// Shape, e.g. `[in, out]` for a weight matrix.
    pub shape: Vec<usize>,
    storage: Storage,
}

impl Param {
    /// The values in C order.
    pub fn data(&self) -> &[f32] {
        match &self.storage {
            Storage::Owned(v) => v,
            Storage::Mapped { bytes, offset, len } => {
                let b: &[u8] = bytes;
                match b.get(*offset..offset + len * 4) {
                    // SAFETY: construction checked that this range lies inside the mapping, is
                    // 4-byte aligned and that the target is little-endian; every bit pattern is
                    // a valid f32.
                    Some(s) => unsafe {
                        std::slice::from_raw_parts(s.as_ptr().cast::<f32>(), *len)
                    },
                    None => &[],
                }
            }
            Storage::Unread => &[],
        }
    }

    /// Whether the values were read (false for a tensor the model cannot use, see
    /// [`Params::from_archive_expecting`]).
    pub fn is_read(&self) -> bool {
        !matches!(self.storage, Storage::Unread)
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the values are read straight from the memory-mapped file.
    pub fn is_mapped(&self) -> bool {
        matches!(self.storage, Storage::Mapped { .. })
    }
}

/// Parameters keyed by (module path, parameter name), kept in insertion order.
#[derive(Debug, Clone, Default)]
pub struct Params {
    entries: Vec<(String, String, Param)>,
    index: HashMap<(String, String), usize>,
}

impl Params {
    /// An empty store.
    pub fn new() -> Params {
        Params::default()
    }

    fn put(&mut self, module: &str, name: &str, p: Param) {
        let key = (module.to_string(), name.to_string());
        match self.index.get(&key) {
            Some(&i) => {
                if let Some(e) = self.entries.get_mut(i) {
                    e.2 = p;
                }
            }
            None => {
                self.index.insert(key, self.entries.len());
                self.entries.push((module.to_string(), name.to_string(), p));
            }
        }
    }

    /// Adds (or replaces) a tensor. Fails when `data.len()` does not match the shape.
    pub fn insert(
        &mut self,
        module: &str,
        name: &str,
        shape: Vec<usize>,
        data: Vec<f32>,
    ) -> Result<()> {
        if shape.iter().product::<usize>() != data.len() {
            return Err(Error::Shape {
                what: format!("parameter {module}:{name}"),
                expected: shape,
                found: vec![data.len()],
            });
        }
        self.put(
            module,
            name,
            Param {
                shape,
                storage: Storage::Owned(data),
            },
        );
        Ok(())
    }

    /// Looks a tensor up.
    pub fn get(&self, module: &str, name: &str) -> Option<&Param> {
        let i = *self.index.get(&(module.to_string(), name.to_string()))?;
        self.entries.get(i).map(|e| &e.2)
    }

    /// Iterates over `(module, name, param)` in insertion (file) order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &Param)> {
        self.entries
            .iter()
            .map(|(m, n, p)| (m.as_str(), n.as_str(), p))
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Total number of scalar parameters.
    pub fn num_params(&self) -> usize {
        self.entries.iter().map(|e| e.2.len()).sum()
    }

    /// Reads every `params:<module>:<name>` member of an archive. Float32 tensors whose data is
    /// stored uncompressed and 4-byte aligned are used in place; others are copied once.
    pub fn from_archive(archive: &NpzArchive) -> Result<Params> {
        Self::read_members(archive, None)
    }

    /// [`Params::from_archive`], except that a member whose NPY header shows a tensor not in
    /// `expected`, or one of another shape, is recorded with its header's shape and never
    /// inflated: the model's loader then reports it (unexpected or mis-shaped) with the others,
    /// and a bad member costs no memory.
    pub fn from_archive_expecting(
        archive: &NpzArchive,
        expected: &[ExpectedParam],
    ) -> Result<Params> {
        let shapes: HashMap<(&str, &str), &[usize]> = expected
            .iter()
            .map(|(m, n, s)| ((m.as_str(), n.as_str()), s.as_slice()))
            .collect();
        Self::read_members(archive, Some(&shapes))
    }

    fn read_members(
        archive: &NpzArchive,
        expected: Option<&HashMap<(&str, &str), &[usize]>>,
    ) -> Result<Params> {
        let mut out = Params::new();
        let names: Vec<String> = archive
            .names()
            .filter(|n| n.starts_with("params:"))
            .map(str::to_string)
            .collect();
        for full in names {
            let rest = &full["params:".len()..];
            let (module, name) = rest.rsplit_once(':').ok_or_else(|| {
                Error::format(
                    archive.path(),
                    format!("parameter `{full}`"),
                    "expected a key of the form params:<module path>:<name>",
                )
            })?;
            if let Some(shapes) = expected {
                let header = archive.header(&full)?;
                if shapes.get(&(module, name)) != Some(&header.shape.as_slice()) {
                    let p = Param {
                        shape: header.shape,
                        storage: Storage::Unread,
                    };
                    out.put(module, name, p);
                    continue;
                }
            }
            let p = load_param(archive, &full)?;
            out.put(module, name, p);
        }
        Ok(out)
    }
}

fn load_param(archive: &NpzArchive, full: &str) -> Result<Param> {
    let (h, data) = archive.raw(full)?;
    if h.dtype != Dtype::F32 {
        return Err(Error::format(
            archive.path(),
            format!("parameter `{full}`"),
            format!("expected dtype <f4 (float32), found {}", h.dtype),
        ));
    }
    let len = h.count().unwrap_or(0);
    let body = data
        .get(h.data_offset..h.data_offset + len * 4)
        .ok_or_else(|| {
            Error::format(
                archive.path(),
                format!("parameter `{full}`"),
                "data out of bounds",
            )
        })?;
    let base: &[u8] = archive.shared_bytes();
    let aligned = (body.as_ptr() as usize).is_multiple_of(std::mem::align_of::<f32>());
    if let (Cow::Borrowed(_), true, true) = (&data, aligned, cfg!(target_endian = "little")) {
        let offset = body.as_ptr() as usize - base.as_ptr() as usize;
        return Ok(Param {
            shape: h.shape,
            storage: Storage::Mapped {
                bytes: Arc::clone(archive.shared_bytes()),
                offset,
                len,
            },
        });
    }
    let values = body
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(Param {
        shape: h.shape,
        storage: Storage::Owned(values),
    })
}

/// Hands out parameters by name and expected shape, collecting every problem; `finish`
/// reports all missing, mis-shaped and unused tensors at once.
pub struct ParamLoader<'a> {
    params: &'a Params,
    path: PathBuf,
    taken: HashSet<(String, String)>,
    problems: Vec<String>,
}

impl<'a> ParamLoader<'a> {
    /// A loader over `params`; `checkpoint_path` names the file in the report.
    pub fn new(params: &'a Params, checkpoint_path: impl AsRef<Path>) -> ParamLoader<'a> {
        ParamLoader {
            params,
            path: checkpoint_path.as_ref().to_path_buf(),
            taken: HashSet::new(),
            problems: Vec::new(),
        }
    }

    /// Returns the tensor when present with exactly `shape`; otherwise records the problem.
    pub fn get(&mut self, module: &str, name: &str, shape: &[usize]) -> Option<&'a Param> {
        self.taken.insert((module.to_string(), name.to_string()));
        match self.params.get(module, name) {
            None => {
                self.problems.push(format!(
                    "missing {module}:{name} (expected shape {shape:?})"
                ));
                None
            }
            Some(p) if p.shape != shape => {
                self.problems.push(format!(
                    "wrong shape for {module}:{name}: expected {shape:?}, found {:?}",
                    p.shape
                ));
                None
            }
            Some(p) => Some(p),
        }
    }

    /// A copy of the tensor when present with exactly `shape`; zeros of that shape otherwise
    /// (the problem is recorded and reported by [`ParamLoader::finish`]).
    pub fn take(&mut self, module: &str, name: &str, shape: &[usize]) -> Vec<f32> {
        match self.get(module, name, shape) {
            Some(p) => p.data().to_vec(),
            None => vec![0.0; shape.iter().product()],
        }
    }

    /// Number of problems recorded so far.
    pub fn num_problems(&self) -> usize {
        self.problems.len()
    }

    /// Fails with [`Error::Params`] listing every missing, mis-shaped and unused tensor.
    pub fn finish(mut self) -> Result<()> {
        for (m, n, p) in self.params.iter() {
            if !self.taken.contains(&(m.to_string(), n.to_string())) {
                self.problems.push(format!(
                    "unexpected {m}:{n} with shape {:?} (not used by the model)",
                    p.shape
                ));
            }
        }
        if self.problems.is_empty() {
            return Ok(());
        }
        let report = self
            .problems
            .iter()
            .map(|p| format!("  - {p}"))
            .collect::<Vec<_>>()
            .join("\n");
        Err(Error::Params {
            path: self.path,
            report: format!("{} problem(s):\n{report}", self.problems.len()),
        })
    }
}
