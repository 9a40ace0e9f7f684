//! `.npz` archives (NumPy's `savez` / `savez_compressed`): reading every member as a typed
//! array, and writing uncompressed archives that NumPy reads back.
//!
//! The archive is memory-mapped; stored members are decoded straight from the mapping.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use super::npy::{Dtype, NpyHeader};
#[cfg(feature = "testing")]
pub use super::writer::NpzWriter;
use super::{npy, zip};
use crate::{Error, Result};

/// The most bytes one archive member (NPY header and data) may hold: far above any GenCast
/// tensor (the largest are a few MiB), far below what would exhaust a machine's memory.
pub const MAX_MEMBER_BYTES: u64 = 1 << 30;

/// How many leading bytes of a member are read to find its NPY header.
const HEADER_PREFIX: usize = 1 << 16;

/// Bytes of a whole archive: a read-only memory map or an owned buffer.
#[derive(Debug)]
pub(crate) enum Bytes {
    /// A memory-mapped file.
    Mapped(memmap2::Mmap),
    /// Bytes held in memory.
    Owned(Vec<u8>),
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// An opened `.npz` archive.
#[derive(Debug)]
pub struct NpzArchive {
    path: PathBuf,
    bytes: Arc<Bytes>,
    entries: Vec<zip::Entry>,
    /// Array name (member name without `.npy`) → entry index.
    index: HashMap<String, usize>,
    /// Array names in archive order.
    names: Vec<String>,
}

/// Decoded array data.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyData {
    /// `<f4`
    F32(Vec<f32>),
    /// `<f8`
    F64(Vec<f64>),
    /// `|i1`
    I8(Vec<i8>),
    /// `<i2`
    I16(Vec<i16>),
    /// `<i4`
    I32(Vec<i32>),
    /// `<i8`
    I64(Vec<i64>),
    /// `|u1`
    U8(Vec<u8>),
    /// `<u2`
    U16(Vec<u16>),
    /// `<u4`
    U32(Vec<u32>),
    /// `<u8`
    U64(Vec<u64>),
    /// `|b1`
    Bool(Vec<bool>),
    /// `<U{n}`, trailing NULs removed.
    Str(Vec<String>),
}

/// One array read from an archive.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Shape (empty for 0-d arrays).
    pub shape: Vec<usize>,
    /// Element values in C order.
    pub data: NpyData,
    /// Element type as stored.
    pub dtype: Dtype,
    /// The archive it came from.
    pub path: PathBuf,
    /// The array's name inside the archive.
    pub name: String,
}

impl NpzArchive {
    /// Opens and memory-maps an archive and reads its central directory.
    pub fn open(path: impl AsRef<Path>) -> Result<NpzArchive> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let meta = file.metadata().map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            return Err(Error::format(
                path,
                "checkpoint",
                "is a folder; give the checkpoint file itself (a .npz file)",
            ));
        }
        let len = meta.len();
        let bytes = if len == 0 {
            Bytes::Owned(Vec::new())
        } else {
            // SAFETY: the mapping is read-only; the file is not expected to be modified while
            // it is open (the same assumption every mmap-based reader makes).
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
            Bytes::Mapped(map)
        };
        Self::from_parts(path.to_path_buf(), bytes)
    }

    /// Reads an archive held in memory; `path` is only used in error messages.
    pub fn from_bytes(path: impl Into<PathBuf>, bytes: Vec<u8>) -> Result<NpzArchive> {
        Self::from_parts(path.into(), Bytes::Owned(bytes))
    }

    fn from_parts(path: PathBuf, bytes: Bytes) -> Result<NpzArchive> {
        let entries = zip::read_central_directory(&bytes, &path)?;
        let mut index = HashMap::with_capacity(entries.len());
        let mut names = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let name = e.name.strip_suffix(".npy").unwrap_or(&e.name).to_string();
            if index.insert(name.clone(), i).is_some() {
                return Err(Error::format(
                    &path,
                    format!("member `{}`", e.name),
                    "appears twice in the archive",
                ));
            }
            names.push(name);
        }
        Ok(NpzArchive {
            path,
            bytes: Arc::new(bytes),
            entries,
            index,
            names,
        })
    }

    /// The archive's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Array names (member names without `.npy`) in archive order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the archive has no members.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Whether an array of this name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    fn entry(&self, name: &str) -> Result<&zip::Entry> {
        self.index
            .get(name)
            .and_then(|&i| self.entries.get(i))
            .ok_or_else(|| Error::Missing {
                path: self.path.clone(),
                what: "array",
                key: name.to_string(),
            })
    }

    fn member_error(&self, name: &str, detail: impl Into<String>) -> Error {
        Error::format(&self.path, format!("member `{name}`"), detail)
    }

    /// The member's decoded NPY header, read from the first bytes only, with the member's
    /// whole uncompressed size checked against it: a deflated member must declare exactly the
    /// header plus the data its dtype and shape need, and no member may exceed
    /// [`MAX_MEMBER_BYTES`], so nothing is inflated beyond what the header announces.
    fn checked_header(&self, name: &str) -> Result<NpyHeader> {
        let e = self.entry(name)?;
        let prefix = zip::member_prefix(&self.bytes, e, &self.path, HEADER_PREFIX)?;
        let header = npy::parse_header(&prefix).map_err(|d| self.member_error(name, d))?;
        let need = header
            .data_len()
            .and_then(|n| n.checked_add(header.data_offset))
            .ok_or_else(|| self.member_error(name, "array size overflows"))?;
        if need as u64 > MAX_MEMBER_BYTES {
            return Err(self.member_error(
                name,
                format!(
                    "dtype {} shape {:?} needs {need} bytes, more than the {MAX_MEMBER_BYTES} \
                     bytes allowed for one array (no GenCast tensor comes near this)",
                    header.dtype, header.shape
                ),
            ));
        }
        if e.method == zip::METHOD_DEFLATE && e.uncompressed_size != need as u64 {
            return Err(self.member_error(
                name,
                format!(
                    "declares {} bytes uncompressed, but its NPY header (dtype {}, shape {:?}) \
                     needs {need}; the member is corrupted or not an array written by NumPy",
                    e.uncompressed_size, header.dtype, header.shape
                ),
            ));
        }
        Ok(header)
    }

    /// The member's decoded NPY header and its (uncompressed) bytes.
    pub(crate) fn raw(&self, name: &str) -> Result<(NpyHeader, Cow<'_, [u8]>)> {
        self.checked_header(name)?;
        let e = self.entry(name)?;
        let data = zip::member_data(&self.bytes, e, &self.path)?;
        let header = npy::parse_header(&data).map_err(|d| self.member_error(name, d))?;
        let need = header
            .data_len()
            .ok_or_else(|| self.member_error(name, "array size overflows"))?;
        let have = data.len().saturating_sub(header.data_offset);
        if have < need {
            return Err(self.member_error(
                name,
                format!(
                    "data truncated: dtype {} shape {:?} needs {need} bytes, member holds {have}",
                    header.dtype, header.shape
                ),
            ));
        }
        Ok((header, data))
    }

    /// The shared archive bytes (for zero-copy parameter views).
    pub(crate) fn shared_bytes(&self) -> &Arc<Bytes> {
        &self.bytes
    }

    /// Reads only the header of an array (dtype and shape), inflating no more than its first
    /// bytes, and checks the member's declared size against it.
    pub fn header(&self, name: &str) -> Result<NpyHeader> {
        self.checked_header(name)
    }

    /// Reads and decodes one array.
    pub fn array(&self, name: &str) -> Result<NpyArray> {
        let (h, bytes) = self.raw(name)?;
        let count = h.count().unwrap_or(0);
        let body = bytes
            .get(h.data_offset..)
            .ok_or_else(|| self.member_error(name, "data out of bounds"))?;
        let data = decode(h.dtype, count, body).map_err(|d| self.member_error(name, d))?;
        Ok(NpyArray {
            shape: h.shape,
            data,
            dtype: h.dtype,
            path: self.path.clone(),
            name: name.to_string(),
        })
    }
}

fn le_chunks<const N: usize>(body: &[u8], count: usize) -> impl Iterator<Item = [u8; N]> + '_ {
    body.chunks_exact(N).take(count).map(|c| {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        a
    })
}

/// Decodes `count` elements of `dtype` from little-endian bytes.
fn decode(dtype: Dtype, count: usize, body: &[u8]) -> std::result::Result<NpyData, String> {
    Ok(match dtype {
        Dtype::F32 => NpyData::F32(
            le_chunks::<4>(body, count)
                .map(f32::from_le_bytes)
                .collect(),
        ),
        Dtype::F64 => NpyData::F64(
            le_chunks::<8>(body, count)
                .map(f64::from_le_bytes)
                .collect(),
        ),
        Dtype::I8 => NpyData::I8(le_chunks::<1>(body, count).map(i8::from_le_bytes).collect()),
        Dtype::I16 => NpyData::I16(
            le_chunks::<2>(body, count)
                .map(i16::from_le_bytes)
                .collect(),
        ),
        Dtype::I32 => NpyData::I32(
            le_chunks::<4>(body, count)
                .map(i32::from_le_bytes)
                .collect(),
        ),
        Dtype::I64 => NpyData::I64(
            le_chunks::<8>(body, count)
                .map(i64::from_le_bytes)
                .collect(),
        ),
        Dtype::U8 => NpyData::U8(body.iter().take(count).copied().collect()),
        Dtype::U16 => NpyData::U16(
            le_chunks::<2>(body, count)
                .map(u16::from_le_bytes)
                .collect(),
        ),
        Dtype::U32 => NpyData::U32(
            le_chunks::<4>(body, count)
                .map(u32::from_le_bytes)
                .collect(),
        ),
        Dtype::U64 => NpyData::U64(
            le_chunks::<8>(body, count)
                .map(u64::from_le_bytes)
                .collect(),
        ),
        Dtype::Bool => NpyData::Bool(
            body.iter()
                .take(count)
                .map(|&b| match b {
                    0 => Ok(false),
                    1 => Ok(true),
                    v => Err(format!("invalid boolean byte {v}")),
                })
                .collect::<std::result::Result<_, _>>()?,
        ),
        Dtype::Str(n) => {
            if n == 0 && count > (1 << 24) {
                return Err(format!("{count} zero-width strings: refusing to decode"));
            }
            let mut out = Vec::with_capacity(count.min(body.len() / 4 + 1));
            for i in 0..count {
                let item = body
                    .get(i * 4 * n..(i + 1) * 4 * n)
                    .ok_or_else(|| "string data truncated".to_string())?;
                let mut s = String::with_capacity(n);
                for c in le_chunks::<4>(item, n).map(u32::from_le_bytes) {
                    if c == 0 {
                        break;
                    }
                    s.push(
                        char::from_u32(c)
                            .ok_or_else(|| format!("invalid code point {c:#x} in string"))?,
                    );
                }
                out.push(s);
            }
            NpyData::Str(out)
        }
    })
}

impl NpyArray {
    fn error(&self, detail: impl Into<String>) -> Error {
        Error::format(&self.path, format!("member `{}`", self.name), detail)
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            NpyData::F32(v) => v.len(),
            NpyData::F64(v) => v.len(),
            NpyData::I8(v) => v.len(),
            NpyData::I16(v) => v.len(),
            NpyData::I32(v) => v.len(),
            NpyData::I64(v) => v.len(),
            NpyData::U8(v) => v.len(),
            NpyData::U16(v) => v.len(),
            NpyData::U32(v) => v.len(),
            NpyData::U64(v) => v.len(),
            NpyData::Bool(v) => v.len(),
            NpyData::Str(v) => v.len(),
        }
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values as f64 (floats, integers and booleans; strings are an error).
    pub fn to_f64_vec(&self) -> Result<Vec<f64>> {
        Ok(match &self.data {
            NpyData::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NpyData::F64(v) => v.clone(),
            NpyData::I8(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NpyData::I16(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NpyData::I32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NpyData::I64(v) => v.iter().map(|&x| x as f64).collect(),
            NpyData::U8(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NpyData::U16(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NpyData::U32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NpyData::U64(v) => v.iter().map(|&x| x as f64).collect(),
            NpyData::Bool(v) => v.iter().map(|&x| f64::from(u8::from(x))).collect(),
            NpyData::Str(_) => {
                return Err(self.error(format!(
                    "expected a numeric array, found dtype {}",
                    self.dtype
                )))
            }
        })
    }

    /// Values as f32 (f64 values are rounded to nearest; integers converted).
    pub fn to_f32_vec(&self) -> Result<Vec<f32>> {
        match &self.data {
            NpyData::F32(v) => Ok(v.clone()),
            _ => Ok(self.to_f64_vec()?.into_iter().map(|x| x as f32).collect()),
        }
    }

    /// Values as i64 (integer and boolean arrays only; u64 values above i64::MAX are an error).
    pub fn to_i64_vec(&self) -> Result<Vec<i64>> {
        Ok(match &self.data {
            NpyData::I8(v) => v.iter().map(|&x| i64::from(x)).collect(),
            NpyData::I16(v) => v.iter().map(|&x| i64::from(x)).collect(),
            NpyData::I32(v) => v.iter().map(|&x| i64::from(x)).collect(),
            NpyData::I64(v) => v.clone(),
            NpyData::U8(v) => v.iter().map(|&x| i64::from(x)).collect(),
            NpyData::U16(v) => v.iter().map(|&x| i64::from(x)).collect(),
            NpyData::U32(v) => v.iter().map(|&x| i64::from(x)).collect(),
            NpyData::U64(v) => v
                .iter()
                .map(|&x| {
                    i64::try_from(x).map_err(|_| self.error(format!("value {x} exceeds i64")))
                })
                .collect::<Result<_>>()?,
            NpyData::Bool(v) => v.iter().map(|&x| i64::from(x)).collect(),
            _ => {
                return Err(self.error(format!(
                    "expected an integer array, found dtype {}",
                    self.dtype
                )))
            }
        })
    }

    /// The strings of a unicode array.
    pub fn as_strings(&self) -> Result<&[String]> {
        match &self.data {
            NpyData::Str(v) => Ok(v),
            _ => Err(self.error(format!(
                "expected a unicode string array, found dtype {}",
                self.dtype
            ))),
        }
    }
}
