//! A streaming writer for classic NetCDF files: CDF-2 (64-bit offsets), or CDF-5 (64-bit
//! counts and sizes) when a variable holds 4 GiB or more.
//!
//! CDF-2 is read by every NetCDF library (netCDF-C, netCDF4-python, scipy);
//! CDF-5 lifts CDF-2's 4 GiB limit on each variable but one and is read by netCDF-C
//! 4.4 or later (xarray's `netcdf4` engine) and not by scipy's reader, so it is chosen only
//! when needed.
//!
//! The whole header is laid out up front from the declared dimensions and variables, the file is
//! sized once, and data are then written slab by slab at their final offsets, so each finished
//! forecast step can go to disk before the next one starts. The file is written under a temporary
//! name and renamed on [`NcWriter::finish`], so a half-written file never carries the final name.
//! A writer may keep its temporary file when dropped unfinished, and [`NcWriter::open_partial`]
//! continues such a file when its header is exactly the one this writer would write.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::forecast::AttrValue;
use crate::{Error, Result};

const NC_DIMENSION: u32 = 0x0A;
const NC_VARIABLE: u32 = 0x0B;
const NC_ATTRIBUTE: u32 = 0x0C;

/// The element types the writer supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NcType {
    /// 32-bit signed integer (`NC_INT`).
    Int,
    /// 32-bit float (`NC_FLOAT`).
    Float,
    /// 64-bit float (`NC_DOUBLE`).
    Double,
}

impl NcType {
    fn code(self) -> u32 {
        match self {
            NcType::Int => 4,
            NcType::Float => 5,
            NcType::Double => 6,
        }
    }

    fn size(self) -> u64 {
        match self {
            NcType::Int | NcType::Float => 4,
            NcType::Double => 8,
        }
    }
}

/// A variable declaration.
#[derive(Clone, Debug)]
pub struct VarDecl {
    /// The variable name.
    pub name: String,
    /// Indices into the declared dimensions, slowest first.
    pub dims: Vec<usize>,
    /// The element type.
    pub ty: NcType,
    /// Attributes, in order.
    pub attrs: Vec<(String, AttrValue)>,
}

/// The declared structure of a file: dimensions, global attributes and variables.
#[derive(Clone, Debug, Default)]
pub struct NcHeader {
    /// Dimension names and lengths.
    pub dims: Vec<(String, usize)>,
    /// Global attributes.
    pub attrs: Vec<(String, AttrValue)>,
    /// Variables, in file order.
    pub vars: Vec<VarDecl>,
}

impl NcHeader {
    /// Adds a dimension and returns its index.
    pub fn add_dim(&mut self, name: &str, len: usize) -> usize {
        self.dims.push((name.to_string(), len));
        self.dims.len() - 1
    }

    /// Adds a variable and returns its index.
    pub fn add_var(
        &mut self,
        name: &str,
        dims: &[usize],
        ty: NcType,
        attrs: Vec<(String, AttrValue)>,
    ) -> usize {
        self.vars.push(VarDecl {
            name: name.to_string(),
            dims: dims.to_vec(),
            ty,
            attrs,
        });
        self.vars.len() - 1
    }

    /// Number of elements of variable `var`.
    pub(crate) fn var_len(&self, var: usize) -> u64 {
        self.vars[var]
            .dims
            .iter()
            .map(|&d| self.dims[d].1 as u64)
            .product()
    }
}

fn pad4(n: u64) -> u64 {
    n.div_ceil(4) * 4
}

fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_be_bytes());
}

/// Writes a count or size: 32 bits in CDF-2, 64 bits in CDF-5.
fn put_count(buf: &mut Vec<u8>, v: u64, cdf5: bool) {
    if cdf5 {
        buf.extend_from_slice(&v.to_be_bytes());
    } else {
        put_u32(buf, v as u32);
    }
}

/// Writes an absent list: the zero tag and a zero count.
fn put_absent(buf: &mut Vec<u8>, cdf5: bool) {
    put_u32(buf, 0);
    put_count(buf, 0, cdf5);
}

fn put_name(buf: &mut Vec<u8>, name: &str, cdf5: bool) {
    put_count(buf, name.len() as u64, cdf5);
    buf.extend_from_slice(name.as_bytes());
    buf.resize(pad4(buf.len() as u64) as usize, 0);
}

fn put_attrs(buf: &mut Vec<u8>, attrs: &[(String, AttrValue)], cdf5: bool) {
    if attrs.is_empty() {
        put_absent(buf, cdf5);
        return;
    }
    put_u32(buf, NC_ATTRIBUTE);
    put_count(buf, attrs.len() as u64, cdf5);
    for (name, value) in attrs {
        put_name(buf, name, cdf5);
        match value {
            AttrValue::Text(s) => {
                put_u32(buf, 2);
                put_count(buf, s.len() as u64, cdf5);
                buf.extend_from_slice(s.as_bytes());
            }
            AttrValue::Double(v) => {
                put_u32(buf, NcType::Double.code());
                put_count(buf, v.len() as u64, cdf5);
                v.iter()
                    .for_each(|x| buf.extend_from_slice(&x.to_be_bytes()));
            }
            AttrValue::Float(v) => {
                put_u32(buf, NcType::Float.code());
                put_count(buf, v.len() as u64, cdf5);
                v.iter()
                    .for_each(|x| buf.extend_from_slice(&x.to_be_bytes()));
            }
            AttrValue::Int(v) => {
                put_u32(buf, NcType::Int.code());
                put_count(buf, v.len() as u64, cdf5);
                v.iter()
                    .for_each(|x| buf.extend_from_slice(&x.to_be_bytes()));
            }
        }
        buf.resize(pad4(buf.len() as u64) as usize, 0);
    }
}

/// Serialises the header given each variable's start offset, as CDF-5 or CDF-2.
fn encode_header(h: &NcHeader, begins: &[u64], cdf5: bool) -> Vec<u8> {
    let mut buf = if cdf5 { b"CDF\x05" } else { b"CDF\x02" }.to_vec();
    put_count(&mut buf, 0, cdf5); // numrecs: no record dimension
    if h.dims.is_empty() {
        put_absent(&mut buf, cdf5);
    } else {
        put_u32(&mut buf, NC_DIMENSION);
        put_count(&mut buf, h.dims.len() as u64, cdf5);
        for (name, len) in &h.dims {
            put_name(&mut buf, name, cdf5);
            put_count(&mut buf, *len as u64, cdf5);
        }
    }
    put_attrs(&mut buf, &h.attrs, cdf5);
    if h.vars.is_empty() {
        put_absent(&mut buf, cdf5);
    } else {
        put_u32(&mut buf, NC_VARIABLE);
        put_count(&mut buf, h.vars.len() as u64, cdf5);
        for (i, v) in h.vars.iter().enumerate() {
            put_name(&mut buf, &v.name, cdf5);
            put_count(&mut buf, v.dims.len() as u64, cdf5);
            v.dims
                .iter()
                .for_each(|&d| put_count(&mut buf, d as u64, cdf5));
            put_attrs(&mut buf, &v.attrs, cdf5);
            put_u32(&mut buf, v.ty.code());
            let vsize = pad4(h.var_len(i) * v.ty.size());
            // CDF-2 marks a size that does not fit in 32 bits (its last variable) as 2^32 - 1.
            let vsize = if cdf5 {
                vsize
            } else {
                vsize.min(u32::MAX as u64)
            };
            put_count(&mut buf, vsize, cdf5);
            buf.extend_from_slice(&begins[i].to_be_bytes());
        }
    }
    buf
}

/// A NetCDF file being written. Create it with [`NcWriter::create`], write each variable's
/// slabs, then call [`NcWriter::finish`].
pub struct NcWriter {
    header: NcHeader,
    begins: Vec<u64>,
    file: Option<File>,
    tmp_path: PathBuf,
    path: PathBuf,
    keep_on_drop: bool,
}

impl NcWriter {
    /// Lays out `header`, creates `path` + `.tmp`, takes an exclusive lock on it (a second
    /// writer of the same output is refused, and nothing it does touches the first one's file),
    /// sizes it for all the data and fills every float variable that declares a `_FillValue`
    /// with it, so a slot never written reads as missing, not as 0.
    pub fn create(path: &Path, header: NcHeader) -> Result<Self> {
        let tmp_path = tmp_name(path);
        let existed = tmp_path.exists();
        let file = open_locked(path, &tmp_path)?;
        let made = Self::create_locked(path, header, file, true);
        if made.is_err() && !existed {
            let _ = std::fs::remove_file(&tmp_path);
        }
        made
    }

    /// [`NcWriter::create`] on the already opened and locked temporary file `file` of `path`,
    /// whose earlier content is discarded. Without `fill` the data start as zeros (a sparse
    /// file) and the caller must write or [`NcWriter::fill_f32`] every slot before finishing.
    pub(crate) fn create_locked(
        path: &Path,
        header: NcHeader,
        mut file: File,
        fill: bool,
    ) -> Result<Self> {
        let (bytes, begins, total) = lay_out(&header)?;
        let tmp_path = tmp_name(path);
        let io = |e| Error::io(&tmp_path, e);
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.set_len(total).map_err(io)?;
        let mut w = NcWriter {
            header,
            begins,
            file: Some(file),
            tmp_path,
            path: path.to_path_buf(),
            keep_on_drop: false,
        };
        if fill {
            w.write_fill_values()?;
        }
        Ok(w)
    }

    /// Writes `len` copies of float variable `var`'s `_FillValue` (NaN when it declares none)
    /// from flat element `start`.
    pub(crate) fn fill_f32(&mut self, var: usize, start: u64, len: usize) -> Result<()> {
        let fill = self.fill_value(var).unwrap_or(f32::NAN);
        const BLOCK: usize = 1 << 18;
        let block = vec![fill; BLOCK.min(len)];
        let mut done = 0;
        while done < len {
            let n = BLOCK.min(len - done);
            self.write_f32(var, start + done as u64, &block[..n])?;
            done += n;
        }
        Ok(())
    }

    /// The `_FillValue` of float variable `var`, when it declares one.
    fn fill_value(&self, var: usize) -> Option<f32> {
        let v = self.header.vars.get(var)?;
        v.attrs.iter().find_map(|(k, a)| match a {
            AttrValue::Float(x) if k == "_FillValue" && v.ty == NcType::Float => x.first().copied(),
            _ => None,
        })
    }

    /// Writes each float variable's `_FillValue` over the whole variable.
    fn write_fill_values(&mut self) -> Result<()> {
        for var in 0..self.header.vars.len() {
            if self.fill_value(var).is_some() {
                let n = self.header.var_len(var) as usize;
                self.fill_f32(var, 0, n)?;
            }
        }
        Ok(())
    }

    /// Reopens the temporary file of an unfinished writer of `path` to go on writing it, under
    /// an exclusive lock. Its size and header must be exactly those [`NcWriter::create`] would
    /// lay out for `header`; the data already written are kept.
    #[cfg(test)]
    pub(crate) fn open_partial(path: &Path, header: NcHeader) -> Result<Self> {
        let file = open_locked(path, &tmp_name(path))?;
        Self::open_partial_locked(path, header, file)
    }

    /// [`NcWriter::open_partial`] on the already opened and locked temporary file `file`.
    pub(crate) fn open_partial_locked(path: &Path, header: NcHeader, mut file: File) -> Result<Self> {
        let (bytes, begins, total) = lay_out(&header)?;
        let tmp_path = tmp_name(path);
        let io = |e| Error::io(&tmp_path, e);
        let mismatch = |detail: String| Error::Format {
            path: tmp_path.clone(),
            what: "partial NetCDF file".into(),
            detail,
        };
        let len = file.metadata().map_err(io)?.len();
        if len != total {
            return Err(mismatch(format!(
                "is {len} bytes, this run's file has {total}"
            )));
        }
        let mut found = vec![0u8; bytes.len()];
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.read_exact(&mut found).map_err(io)?;
        if let Some(at) = found.iter().zip(&bytes).position(|(a, b)| a != b) {
            return Err(mismatch(format!(
                "its header differs from this run's at byte {at} (dimensions, attributes or variables)"
            )));
        }
        Ok(NcWriter {
            header,
            begins,
            file: Some(file),
            tmp_path,
            path: path.to_path_buf(),
            keep_on_drop: false,
        })
    }

    /// Whether a writer dropped before [`NcWriter::finish`] leaves its temporary file in place
    /// (to be continued with [`NcWriter::open_partial`]) instead of removing it.
    pub(crate) fn set_keep_on_drop(&mut self, keep: bool) {
        self.keep_on_drop = keep;
    }

    /// Index of the variable called `name`.
    pub fn var_index(&self, name: &str) -> Result<usize> {
        self.header
            .vars
            .iter()
            .position(|v| v.name == name)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{}: no variable `{name}` declared",
                    self.path.display()
                ))
            })
    }

    fn check_slab(&self, var: usize, start: u64, len: usize, ty: NcType) -> Result<u64> {
        let v = &self.header.vars[var];
        if v.ty != ty {
            return Err(Error::Invalid(format!(
                "variable `{}` is {:?}, not {ty:?}",
                v.name, v.ty
            )));
        }
        if start + len as u64 > self.header.var_len(var) {
            return Err(Error::Invalid(format!(
                "slab {start}..{} is outside variable `{}` of {} elements",
                start + len as u64,
                v.name,
                self.header.var_len(var)
            )));
        }
        Ok(self.begins[var] + start * ty.size())
    }

    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<()> {
        let io = |e| Error::io(&self.tmp_path, e);
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| Error::Invalid("writer already finished".into()))?;
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        file.write_all(bytes).map_err(io)
    }

    /// Writes `data` into float variable `var` starting at flat element `start`.
    pub fn write_f32(&mut self, var: usize, start: u64, data: &[f32]) -> Result<()> {
        let offset = self.check_slab(var, start, data.len(), NcType::Float)?;
        let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_be_bytes()).collect();
        self.write_at(offset, &bytes)
    }

    /// Reads `len` elements of float variable `var` from flat element `start` back from the
    /// temporary file.
    pub(crate) fn read_f32(&self, var: usize, start: u64, len: usize) -> Result<Vec<f32>> {
        let offset = self.check_slab(var, start, len, NcType::Float)?;
        let io = |e| Error::io(&self.tmp_path, e);
        let mut file: &File = self
            .file
            .as_ref()
            .ok_or_else(|| Error::Invalid("writer already finished".into()))?;
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        let mut bytes = vec![0u8; len * 4];
        file.read_exact(&mut bytes).map_err(io)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// Flushes everything written so far to the disk (the file keeps its temporary name).
    pub(crate) fn sync(&self) -> Result<()> {
        match &self.file {
            Some(f) => f.sync_data().map_err(|e| Error::io(&self.tmp_path, e)),
            None => Ok(()),
        }
    }

    /// Writes `data` into double variable `var` starting at flat element `start`.
    pub fn write_f64(&mut self, var: usize, start: u64, data: &[f64]) -> Result<()> {
        let offset = self.check_slab(var, start, data.len(), NcType::Double)?;
        let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_be_bytes()).collect();
        self.write_at(offset, &bytes)
    }

    /// Writes `data` into integer variable `var` starting at flat element `start`.
    pub fn write_i32(&mut self, var: usize, start: u64, data: &[i32]) -> Result<()> {
        let offset = self.check_slab(var, start, data.len(), NcType::Int)?;
        let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_be_bytes()).collect();
        self.write_at(offset, &bytes)
    }

    /// Flushes the data to disk and gives the file its final name.
    pub fn finish(mut self) -> Result<()> {
        if let Some(file) = self.file.take() {
            file.sync_all().map_err(|e| Error::io(&self.tmp_path, e))?;
        }
        std::fs::rename(&self.tmp_path, &self.path).map_err(|e| Error::io(&self.path, e))
    }
}

impl Drop for NcWriter {
    /// A writer dropped before [`NcWriter::finish`] removes its temporary file, unless told to
    /// keep it.
    fn drop(&mut self) {
        if self.file.take().is_some() && !self.keep_on_drop {
            let _ = std::fs::remove_file(&self.tmp_path);
        }
    }
}

/// Whether `header` needs CDF-5: a variable of 4 GiB or more, or a dimension longer than
/// 2^31 - 1, which CDF-2 cannot describe.
pub fn needs_cdf5(header: &NcHeader) -> bool {
    let big_var = (0..header.vars.len())
        .any(|i| pad4(header.var_len(i) * header.vars[i].ty.size()) >= u32::MAX as u64);
    big_var || header.dims.iter().any(|(_, n)| *n as u64 > i32::MAX as u64)
}

/// Checks `header` and lays it out: the encoded header, each variable's start offset and the
/// file's total size. The format is CDF-2 when the data allow it, CDF-5 otherwise.
fn lay_out(header: &NcHeader) -> Result<(Vec<u8>, Vec<u64>, u64)> {
    for v in &header.vars {
        if let Some(&d) = v.dims.iter().find(|&&d| d >= header.dims.len()) {
            return Err(Error::Invalid(format!(
                "variable `{}` uses undeclared dimension {d}",
                v.name
            )));
        }
    }
    let cdf5 = needs_cdf5(header);
    // The header size does not depend on the offsets' values, so encode once with zeros.
    let header_len = encode_header(header, &vec![0; header.vars.len()], cdf5).len() as u64;
    let mut begins = Vec::with_capacity(header.vars.len());
    let mut offset = header_len;
    for (i, v) in header.vars.iter().enumerate() {
        begins.push(offset);
        offset += pad4(header.var_len(i) * v.ty.size());
    }
    Ok((encode_header(header, &begins, cdf5), begins, offset))
}

/// Opens (creating it when absent, never truncating) the temporary file `tmp` of output `path`
/// for reading and writing, and locks it exclusively.
pub fn open_locked(path: &Path, tmp: &Path) -> Result<File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(tmp)
        .map_err(|e| Error::io(tmp, e))?;
    super::guard::lock_exclusive(&file, tmp, path)?;
    Ok(file)
}

/// The temporary name a file is written under before [`NcWriter::finish`] renames it.
pub fn tmp_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> NcHeader {
        let mut h = NcHeader::default();
        let t = h.add_dim("time", 2);
        let y = h.add_dim("lat", 3);
        h.attrs
            .push(("title".into(), AttrValue::Text("test".into())));
        h.add_var(
            "time",
            &[t],
            NcType::Int,
            vec![("units".into(), AttrValue::Text("hours".into()))],
        );
        h.add_var("lat", &[y], NcType::Double, vec![]);
        h.add_var(
            "t2m",
            &[t, y],
            NcType::Float,
            vec![("_FillValue".into(), AttrValue::Float(vec![f32::NAN]))],
        );
        h
    }

    #[test]
    fn slabs_written_out_of_order_read_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.nc");
        let mut w = NcWriter::create(&path, header()).unwrap();
        assert!(tmp_name(&path).exists() && !path.exists());
        let v = w.var_index("t2m").unwrap();
        w.write_f32(v, 3, &[4.0, f32::NAN, 6.5]).unwrap();
        w.write_f32(v, 0, &[1.0, -2.0, 3.0]).unwrap();
        w.write_i32(0, 0, &[12, 24]).unwrap();
        w.write_f64(1, 0, &[-90.0, 0.0, 90.0]).unwrap();
        w.finish().unwrap();
        assert!(path.exists() && !tmp_name(&path).exists());

        let f = netcdf_reader::NcFile::open(&path).unwrap();
        let t2m: Vec<f32> = f
            .read_variable::<f32>("t2m")
            .unwrap()
            .iter()
            .copied()
            .collect();
        assert_eq!(&t2m[..3], &[1.0, -2.0, 3.0]);
        assert_eq!(t2m[3], 4.0);
        assert!(t2m[4].is_nan());
        assert_eq!(t2m[5], 6.5);
        let time: Vec<i32> = f
            .read_variable::<i32>("time")
            .unwrap()
            .iter()
            .copied()
            .collect();
        assert_eq!(time, vec![12, 24]);
        let lat: Vec<f64> = f
            .read_variable::<f64>("lat")
            .unwrap()
            .iter()
            .copied()
            .collect();
        assert_eq!(lat, vec![-90.0, 0.0, 90.0]);
    }

    #[test]
    fn bad_slabs_are_errors_and_dropped_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.nc");
        let mut w = NcWriter::create(&path, header()).unwrap();
        let v = w.var_index("t2m").unwrap();
        let err = w.write_f32(v, 4, &[0.0; 3]).unwrap_err().to_string();
        assert!(err.contains("t2m") && err.contains("outside"), "{err}");
        let err = w.write_f64(v, 0, &[0.0]).unwrap_err().to_string();
        assert!(err.contains("t2m"), "{err}");
        assert!(w.var_index("nope").is_err());
        drop(w);
        assert!(!path.exists() && !tmp_name(&path).exists());
    }

    #[test]
    fn a_kept_partial_file_reopens_with_its_data_and_rejects_another_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.nc");
        let mut w = NcWriter::create(&path, header()).unwrap();
        let v = w.var_index("t2m").unwrap();
        w.write_f32(v, 3, &[4.0, f32::NAN, 6.5]).unwrap();
        w.sync().unwrap();
        w.set_keep_on_drop(true);
        drop(w);
        assert!(tmp_name(&path).is_file() && !path.exists());

        let mut longer = header();
        longer.dims[0].1 = 3;
        let err = NcWriter::open_partial(&path, longer)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("bytes"), "{err}");
        let mut renamed = header();
        renamed.attrs[0].1 = AttrValue::Text("tesT".into());
        let err = NcWriter::open_partial(&path, renamed)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("header differs"), "{err}");

        let mut w = NcWriter::open_partial(&path, header()).unwrap();
        let back = w.read_f32(v, 3, 3).unwrap();
        assert_eq!((back[0], back[2]), (4.0, 6.5));
        assert!(back[1].is_nan());
        w.write_f32(v, 0, &[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(w.read_f32(v, 0, 6).unwrap()[..3], [1.0, 2.0, 3.0]);
        w.finish().unwrap();
        assert!(path.is_file() && !tmp_name(&path).exists());
    }

    /// A 0.25° forecast of 2 members × 40 steps: each levelled variable holds 2·40·13·721·1440
    /// floats, 4.32 GB, more than CDF-2 allows for any variable but the last.
    #[test]
    fn variables_over_4_gib_are_written_as_cdf5_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.nc");
        let mut h = NcHeader::default();
        let dims = [
            ("sample", 2),
            ("time", 40),
            ("level", 13),
            ("lat", 721),
            ("lon", 1440),
        ]
        .map(|(n, l)| h.add_dim(n, l));
        h.add_var("geopotential", &dims, NcType::Float, vec![]);
        h.add_var("temperature", &dims, NcType::Float, vec![]);
        assert!(h.var_len(0) * 4 > 4 << 30);
        assert!(needs_cdf5(&h));
        // Not filled: the data stay a sparse file, so the test writes only what it reads.
        let file = open_locked(&path, &tmp_name(&path)).unwrap();
        let mut w = NcWriter::create_locked(&path, h.clone(), file, false).unwrap();
        let n = h.var_len(0);
        let tail: Vec<f32> = (0..1440).map(|i| i as f32 * 0.5).collect();
        w.write_f32(0, n - 1440, &tail).unwrap();
        w.write_f32(1, 0, &[-1.0, -2.0]).unwrap();
        w.finish().unwrap();
        let f = netcdf_reader::NcFile::open(&path).unwrap();
        assert_eq!(f.format(), netcdf_reader::NcFormat::Cdf5);
        use netcdf_reader::{NcSliceInfo, NcSliceInfoElem::Index, NcSliceInfoElem::Slice};
        let last_row = NcSliceInfo {
            selections: vec![
                Index(1),
                Index(39),
                Index(12),
                Index(720),
                Slice {
                    start: 0,
                    end: 1440,
                    step: 1,
                },
            ],
        };
        let back = f
            .read_variable_slice::<f32>("geopotential", &last_row)
            .unwrap();
        assert_eq!(back.iter().copied().collect::<Vec<_>>(), tail);
        let first = NcSliceInfo {
            selections: vec![
                Index(0),
                Index(0),
                Index(0),
                Index(0),
                Slice {
                    start: 0,
                    end: 2,
                    step: 1,
                },
            ],
        };
        let back = f.read_variable_slice::<f32>("temperature", &first).unwrap();
        assert_eq!(back.iter().copied().collect::<Vec<_>>(), vec![-1.0, -2.0]);
    }

    #[test]
    fn small_files_stay_cdf2() {
        assert!(!needs_cdf5(&header()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.nc");
        NcWriter::create(&path, header()).unwrap().finish().unwrap();
        assert_eq!(&std::fs::read(&path).unwrap()[..4], b"CDF\x02");
    }
}
