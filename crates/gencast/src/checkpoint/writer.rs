//! Writing uncompressed `.npz` archives in the layout `numpy.savez` produces.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::npy::{write_header, Dtype};
use super::npz::{NpyArray, NpyData};
use crate::{Error, Result};

const LIMIT32: u64 = 0xFFFF_FFFF;
/// Alignment of member contents in written archives.
const ALIGN: u64 = 64;
/// Extra-field id of the alignment padding (the id Android's `zipalign` uses).
const PADDING_EXTRA_ID: u16 = 0xD935;
/// DOS date 1980-01-01 (the earliest representable); the time field is 00:00:00.
const DOS_DATE: u16 = (1 << 5) | 1;

/// One central-directory record to write at the end.
struct Record {
    name: Vec<u8>,
    crc32: u32,
    size: u64,
    offset: u64,
}

/// Writes an uncompressed (`ZIP_STORED`) `.npz` archive, one NPY v1.0 member per array.
///
/// ZIP64 structures are written when sizes or offsets need them, or everywhere when
/// [`NpzWriter::force_zip64`] is set.
pub struct NpzWriter<W: Write = BufWriter<File>> {
    out: W,
    path: PathBuf,
    offset: u64,
    records: Vec<Record>,
    names: HashSet<String>,
    force_zip64: bool,
}

impl NpzWriter<BufWriter<File>> {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let f = File::create(path).map_err(|e| Error::io(path, e))?;
        Ok(Self::new(BufWriter::new(f), path))
    }
}

impl NpzWriter<Vec<u8>> {
    /// A writer that builds the archive in memory; `finish` returns the bytes.
    pub fn in_memory() -> Self {
        Self::new(Vec::new(), "<memory>")
    }
}

fn elements(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

impl<W: Write> NpzWriter<W> {
    /// Wraps a byte sink; `path` is used in error messages.
    pub fn new(out: W, path: impl Into<PathBuf>) -> Self {
        NpzWriter {
            out,
            path: path.into(),
            offset: 0,
            records: Vec::new(),
            names: HashSet::new(),
            force_zip64: false,
        }
    }

    /// Writes ZIP64 extra fields and end records even for small archives (like NumPy's
    /// local headers, and useful to test ZIP64 readers).
    pub fn force_zip64(mut self, on: bool) -> Self {
        self.force_zip64 = on;
        self
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.out
            .write_all(bytes)
            .map_err(|e| Error::io(&self.path, e))?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    fn check_len(&self, name: &str, shape: &[usize], len: usize) -> Result<()> {
        if elements(shape) != Some(len) {
            return Err(Error::Shape {
                what: format!("array `{name}` written to {}", self.path.display()),
                expected: shape.to_vec(),
                found: vec![len],
            });
        }
        Ok(())
    }

    /// Adds a member with exactly this file name and content (no NPY encoding). Meant for
    /// crafting test files; normal arrays go through the typed `add_*` methods.
    pub fn add_raw(&mut self, member_name: &str, content: &[u8]) -> Result<()> {
        if !self.names.insert(member_name.to_string()) {
            return Err(Error::Invalid(format!(
                "{}: member `{member_name}` written twice",
                self.path.display()
            )));
        }
        let size = content.len() as u64;
        let zip64_local = self.force_zip64 || size >= LIMIT32;
        let crc32 = crc32fast::hash(content);
        let offset = self.offset;
        let name = member_name.as_bytes();
        let name_len = u16::try_from(name.len())
            .map_err(|_| Error::Invalid(format!("member name too long: `{member_name}`")))?;
        // Pad the local extra field so that the member's content starts on a 64-byte
        // boundary: NPY headers are multiples of 64 bytes, so the array data is then aligned
        // and a reader can use it in place from a memory map.
        let base = offset + 30 + name.len() as u64 + if zip64_local { 20 } else { 0 };
        let mut pad = ((ALIGN - base % ALIGN) % ALIGN) as usize;
        if pad > 0 && pad < 4 {
            pad += ALIGN as usize;
        }
        let extra_len = if zip64_local { 20 } else { 0 } + pad;
        let mut h = Vec::with_capacity(30 + name.len() + extra_len);
        h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        h.extend_from_slice(&(if zip64_local { 45u16 } else { 20u16 }).to_le_bytes());
        h.extend_from_slice(&(if name.is_ascii() { 0u16 } else { 0x0800 }).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes()); // stored
        h.extend_from_slice(&0u16.to_le_bytes()); // time
        h.extend_from_slice(&DOS_DATE.to_le_bytes());
        h.extend_from_slice(&crc32.to_le_bytes());
        let small = if zip64_local {
            LIMIT32 as u32
        } else {
            size as u32
        };
        h.extend_from_slice(&small.to_le_bytes());
        h.extend_from_slice(&small.to_le_bytes());
        h.extend_from_slice(&name_len.to_le_bytes());
        h.extend_from_slice(&(extra_len as u16).to_le_bytes());
        h.extend_from_slice(name);
        if zip64_local {
            h.extend_from_slice(&1u16.to_le_bytes());
            h.extend_from_slice(&16u16.to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
        }
        if pad > 0 {
            h.extend_from_slice(&PADDING_EXTRA_ID.to_le_bytes());
            h.extend_from_slice(&((pad - 4) as u16).to_le_bytes());
            h.extend(std::iter::repeat_n(0u8, pad - 4));
        }
        self.put(&h)?;
        self.put(content)?;
        self.records.push(Record {
            name: name.to_vec(),
            crc32,
            size,
            offset,
        });
        Ok(())
    }

    /// Adds an NPY member `name.npy` with the given `descr`, shape and raw little-endian data,
    /// without checking that they agree (for crafting test files).
    pub fn add_npy_raw(
        &mut self,
        name: &str,
        descr: &str,
        shape: &[usize],
        data: &[u8],
    ) -> Result<()> {
        let mut content = write_header(descr, shape);
        content.extend_from_slice(data);
        self.add_raw(&format!("{name}.npy"), &content)
    }

    fn add_typed(&mut self, name: &str, dtype: Dtype, shape: &[usize], data: &[u8]) -> Result<()> {
        self.add_npy_raw(name, &dtype.descr(), shape, data)
    }

    /// Adds a float32 array.
    pub fn add_f32(&mut self, name: &str, shape: &[usize], data: &[f32]) -> Result<()> {
        self.check_len(name, shape, data.len())?;
        let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.add_typed(name, Dtype::F32, shape, &bytes)
    }

    /// Adds a float64 array.
    pub fn add_f64(&mut self, name: &str, shape: &[usize], data: &[f64]) -> Result<()> {
        self.check_len(name, shape, data.len())?;
        let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.add_typed(name, Dtype::F64, shape, &bytes)
    }

    /// Adds an int64 array.
    pub fn add_i64(&mut self, name: &str, shape: &[usize], data: &[i64]) -> Result<()> {
        self.check_len(name, shape, data.len())?;
        let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.add_typed(name, Dtype::I64, shape, &bytes)
    }

    /// Adds an int32 array.
    pub fn add_i32(&mut self, name: &str, shape: &[usize], data: &[i32]) -> Result<()> {
        self.check_len(name, shape, data.len())?;
        let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.add_typed(name, Dtype::I32, shape, &bytes)
    }

    /// Adds a uint32 array.
    pub fn add_u32(&mut self, name: &str, shape: &[usize], data: &[u32]) -> Result<()> {
        self.check_len(name, shape, data.len())?;
        let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.add_typed(name, Dtype::U32, shape, &bytes)
    }

    /// Adds a boolean array.
    pub fn add_bool(&mut self, name: &str, shape: &[usize], data: &[bool]) -> Result<()> {
        self.check_len(name, shape, data.len())?;
        let bytes: Vec<u8> = data.iter().map(|&b| u8::from(b)).collect();
        self.add_typed(name, Dtype::Bool, shape, &bytes)
    }

    /// Adds a unicode array (`<U{n}` with `n` the longest string, in code points).
    pub fn add_strings<S: AsRef<str>>(
        &mut self,
        name: &str,
        shape: &[usize],
        data: &[S],
    ) -> Result<()> {
        self.check_len(name, shape, data.len())?;
        let width = data
            .iter()
            .map(|s| s.as_ref().chars().count())
            .max()
            .unwrap_or(0)
            .max(1);
        let mut bytes = Vec::with_capacity(data.len() * width * 4);
        for s in data {
            let mut n = 0;
            for c in s.as_ref().chars() {
                bytes.extend_from_slice(&u32::from(c).to_le_bytes());
                n += 1;
            }
            bytes.extend(std::iter::repeat_n(0u8, 4 * (width - n)));
        }
        self.add_typed(name, Dtype::Str(width), shape, &bytes)
    }

    /// Adds a 0-d string (how NumPy stores a Python `str`).
    pub fn add_str(&mut self, name: &str, value: &str) -> Result<()> {
        self.add_strings(name, &[], &[value])
    }

    /// Adds a 0-d int64 (how NumPy stores a Python `int`).
    pub fn add_scalar_i64(&mut self, name: &str, value: i64) -> Result<()> {
        self.add_i64(name, &[], &[value])
    }

    /// Adds a 0-d float64 (how NumPy stores a Python `float`).
    pub fn add_scalar_f64(&mut self, name: &str, value: f64) -> Result<()> {
        self.add_f64(name, &[], &[value])
    }

    /// Adds a 0-d boolean (how NumPy stores a Python `bool`).
    pub fn add_scalar_bool(&mut self, name: &str, value: bool) -> Result<()> {
        self.add_bool(name, &[], &[value])
    }

    /// Adds an array read from another archive, keeping its dtype and shape.
    pub fn add_array(&mut self, name: &str, a: &NpyArray) -> Result<()> {
        let s = &a.shape;
        match &a.data {
            NpyData::F32(v) => self.add_f32(name, s, v),
            NpyData::F64(v) => self.add_f64(name, s, v),
            NpyData::I64(v) => self.add_i64(name, s, v),
            NpyData::I32(v) => self.add_i32(name, s, v),
            NpyData::U32(v) => self.add_u32(name, s, v),
            NpyData::Bool(v) => self.add_bool(name, s, v),
            NpyData::Str(v) => {
                self.check_len(name, s, v.len())?;
                // Keep the stored width so that the round trip is exact.
                let width = match a.dtype {
                    Dtype::Str(n) => n,
                    _ => 1,
                };
                let mut bytes = Vec::with_capacity(v.len() * width * 4);
                for st in v {
                    let cps: Vec<u32> = st.chars().map(u32::from).collect();
                    for i in 0..width {
                        bytes.extend_from_slice(&cps.get(i).copied().unwrap_or(0).to_le_bytes());
                    }
                }
                self.add_typed(name, Dtype::Str(width), s, &bytes)
            }
            NpyData::I8(v) => {
                self.check_len(name, s, v.len())?;
                let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                self.add_typed(name, Dtype::I8, s, &b)
            }
            NpyData::I16(v) => {
                self.check_len(name, s, v.len())?;
                let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                self.add_typed(name, Dtype::I16, s, &b)
            }
            NpyData::U8(v) => {
                self.check_len(name, s, v.len())?;
                self.add_typed(name, Dtype::U8, s, v)
            }
            NpyData::U16(v) => {
                self.check_len(name, s, v.len())?;
                let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                self.add_typed(name, Dtype::U16, s, &b)
            }
            NpyData::U64(v) => {
                self.check_len(name, s, v.len())?;
                let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                self.add_typed(name, Dtype::U64, s, &b)
            }
        }
    }

    /// Writes the central directory and end records, flushes, and returns the sink.
    pub fn finish(mut self) -> Result<W> {
        let cd_offset = self.offset;
        let records = std::mem::take(&mut self.records);
        for r in &records {
            let need_size = self.force_zip64 || r.size >= LIMIT32;
            let need_off = self.force_zip64 || r.offset >= LIMIT32;
            let mut extra = Vec::new();
            if need_size {
                extra.extend_from_slice(&r.size.to_le_bytes());
                extra.extend_from_slice(&r.size.to_le_bytes());
            }
            if need_off {
                extra.extend_from_slice(&r.offset.to_le_bytes());
            }
            let mut h = Vec::with_capacity(46 + r.name.len() + 4 + extra.len());
            h.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            let version: u16 = if extra.is_empty() { 20 } else { 45 };
            h.extend_from_slice(&version.to_le_bytes()); // made by
            h.extend_from_slice(&version.to_le_bytes()); // needed
            h.extend_from_slice(&(if r.name.is_ascii() { 0u16 } else { 0x0800 }).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(&DOS_DATE.to_le_bytes());
            h.extend_from_slice(&r.crc32.to_le_bytes());
            let size32 = if need_size {
                LIMIT32 as u32
            } else {
                r.size as u32
            };
            h.extend_from_slice(&size32.to_le_bytes());
            h.extend_from_slice(&size32.to_le_bytes());
            h.extend_from_slice(&(r.name.len() as u16).to_le_bytes());
            let extra_len = if extra.is_empty() { 0 } else { extra.len() + 4 };
            h.extend_from_slice(&(extra_len as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // comment
            h.extend_from_slice(&0u16.to_le_bytes()); // disk
            h.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
            h.extend_from_slice(&(0o100644u32 << 16).to_le_bytes()); // external: regular file
            let off32 = if need_off {
                LIMIT32 as u32
            } else {
                r.offset as u32
            };
            h.extend_from_slice(&off32.to_le_bytes());
            h.extend_from_slice(&r.name);
            if !extra.is_empty() {
                h.extend_from_slice(&1u16.to_le_bytes());
                h.extend_from_slice(&(extra.len() as u16).to_le_bytes());
                h.extend_from_slice(&extra);
            }
            self.put(&h)?;
        }
        let cd_size = self.offset - cd_offset;
        let n = records.len() as u64;
        let zip64 = self.force_zip64 || n >= 0xFFFF || cd_size >= LIMIT32 || cd_offset >= LIMIT32;
        if zip64 {
            let rec_offset = self.offset;
            let mut h = Vec::with_capacity(56 + 20);
            h.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
            h.extend_from_slice(&44u64.to_le_bytes());
            h.extend_from_slice(&45u16.to_le_bytes());
            h.extend_from_slice(&45u16.to_le_bytes());
            h.extend_from_slice(&0u32.to_le_bytes());
            h.extend_from_slice(&0u32.to_le_bytes());
            h.extend_from_slice(&n.to_le_bytes());
            h.extend_from_slice(&n.to_le_bytes());
            h.extend_from_slice(&cd_size.to_le_bytes());
            h.extend_from_slice(&cd_offset.to_le_bytes());
            h.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
            h.extend_from_slice(&0u32.to_le_bytes());
            h.extend_from_slice(&rec_offset.to_le_bytes());
            h.extend_from_slice(&1u32.to_le_bytes());
            self.put(&h)?;
        }
        let n16 = if zip64 { 0xFFFF } else { n as u16 };
        let size32 = if zip64 {
            LIMIT32 as u32
        } else {
            cd_size as u32
        };
        let off32 = if zip64 {
            LIMIT32 as u32
        } else {
            cd_offset as u32
        };
        let mut h = Vec::with_capacity(22);
        h.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(&n16.to_le_bytes());
        h.extend_from_slice(&n16.to_le_bytes());
        h.extend_from_slice(&size32.to_le_bytes());
        h.extend_from_slice(&off32.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        self.put(&h)?;
        self.out.flush().map_err(|e| Error::io(&self.path, e))?;
        Ok(self.out)
    }
}
