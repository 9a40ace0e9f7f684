//! Minimal ZIP reader for `.npz` containers: end-of-central-directory (with ZIP64), central
//! directory entries (with ZIP64 extra fields), local headers, stored and deflated members.
//!
//! Only what NumPy and Python's `zipfile` write is supported: a single disk, no encryption,
//! compression methods 0 (stored) and 8 (deflate).

use std::borrow::Cow;
use std::path::Path;

use crate::{Error, Result};

const SIG_EOCD: u32 = 0x0605_4b50;
const SIG_EOCD64_LOCATOR: u32 = 0x0706_4b50;
const SIG_EOCD64: u32 = 0x0606_4b50;
const SIG_CENTRAL: u32 = 0x0201_4b50;
const SIG_LOCAL: u32 = 0x0403_4b50;
const EOCD_LEN: usize = 22;
const EOCD64_LOCATOR_LEN: usize = 20;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;
const ZIP64_EXTRA_ID: u16 = 0x0001;

/// Compression method 0: the member's bytes are stored as is.
pub(crate) const METHOD_STORED: u16 = 0;
/// Compression method 8: raw deflate.
pub(crate) const METHOD_DEFLATE: u16 = 8;

/// One central-directory entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// File name inside the archive.
    pub name: String,
    /// Compression method (0 or 8).
    pub method: u16,
    /// General-purpose flags.
    pub flags: u16,
    /// CRC-32 of the uncompressed data.
    pub crc32: u32,
    /// Size of the (possibly compressed) data.
    pub compressed_size: u64,
    /// Size after decompression.
    pub uncompressed_size: u64,
    /// Offset of the local header from the start of the archive.
    pub local_header_offset: u64,
}

/// Little-endian field readers over a byte slice that fail instead of panicking.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn u16(&self, at: usize) -> Option<u16> {
        let b = self.bytes.get(at..at.checked_add(2)?)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&self, at: usize) -> Option<u32> {
        let b = self.bytes.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&self, at: usize) -> Option<u64> {
        let b = self.bytes.get(at..at.checked_add(8)?)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    }
    fn slice(&self, at: usize, len: usize) -> Option<&'a [u8]> {
        self.bytes.get(at..at.checked_add(len)?)
    }
}

fn bad(path: &Path, what: impl Into<String>, detail: impl Into<String>) -> Error {
    Error::format(path, what, detail)
}

fn to_usize(v: u64) -> Option<usize> {
    usize::try_from(v).ok()
}

/// Locates the end-of-central-directory record, scanning back over a possible comment.
fn find_eocd(bytes: &[u8], path: &Path) -> Result<usize> {
    if bytes.len() < EOCD_LEN {
        return Err(bad(
            path,
            "zip end of central directory",
            format!(
                "file is {} bytes, too short to be a ZIP/.npz archive (truncated?)",
                bytes.len()
            ),
        ));
    }
    let c = Cursor { bytes };
    let last = bytes.len() - EOCD_LEN;
    let first = last.saturating_sub(u16::MAX as usize);
    let mut pos = last + 1;
    while pos > first {
        pos -= 1;
        if c.u32(pos) == Some(SIG_EOCD) {
            let comment = c.u16(pos + 20).map_or(usize::MAX, usize::from);
            if pos + EOCD_LEN + comment <= bytes.len() {
                return Ok(pos);
            }
        }
    }
    Err(bad(
        path,
        "zip end of central directory",
        "signature not found: not a ZIP/.npz archive, or the file is truncated",
    ))
}

/// Parses the central directory of an archive held in `bytes`.
pub(crate) fn read_central_directory(bytes: &[u8], path: &Path) -> Result<Vec<Entry>> {
    let c = Cursor { bytes };
    let eocd = find_eocd(bytes, path)?;
    let eocd_err = |d: &str| bad(path, "zip end of central directory", d.to_string());
    let disk = c.u16(eocd + 4).ok_or_else(|| eocd_err("truncated"))?;
    let cd_disk = c.u16(eocd + 6).ok_or_else(|| eocd_err("truncated"))?;
    let mut entries = u64::from(c.u16(eocd + 10).ok_or_else(|| eocd_err("truncated"))?);
    let mut cd_size = u64::from(c.u32(eocd + 12).ok_or_else(|| eocd_err("truncated"))?);
    let mut cd_offset = u64::from(c.u32(eocd + 16).ok_or_else(|| eocd_err("truncated"))?);
    let has_locator =
        eocd >= EOCD64_LOCATOR_LEN && c.u32(eocd - EOCD64_LOCATOR_LEN) == Some(SIG_EOCD64_LOCATOR);
    if has_locator {
        let loc = eocd - EOCD64_LOCATOR_LEN;
        let rec = c
            .u64(loc + 8)
            .and_then(to_usize)
            .ok_or_else(|| bad(path, "zip64 end of central directory locator", "truncated"))?;
        let rec_err = |d: String| bad(path, "zip64 end of central directory record", d);
        if c.u32(rec) != Some(SIG_EOCD64) {
            return Err(rec_err(format!(
                "no record signature at offset {rec} (file truncated or corrupted)"
            )));
        }
        entries = c.u64(rec + 32).ok_or_else(|| rec_err("truncated".into()))?;
        cd_size = c.u64(rec + 40).ok_or_else(|| rec_err("truncated".into()))?;
        cd_offset = c.u64(rec + 48).ok_or_else(|| rec_err("truncated".into()))?;
    } else if disk != 0 || cd_disk != 0 {
        return Err(eocd_err("multi-disk archives are not supported"));
    }
    let cd_start =
        to_usize(cd_offset).ok_or_else(|| eocd_err("central directory offset too large"))?;
    let cd_len = to_usize(cd_size).ok_or_else(|| eocd_err("central directory size too large"))?;
    let cd = c.slice(cd_start, cd_len).ok_or_else(|| {
        bad(
            path,
            "zip central directory",
            format!(
                "offset {cd_start} + size {cd_len} lies beyond the end of the {}-byte file (truncated?)",
                bytes.len()
            ),
        )
    })?;
    // Each entry takes at least 46 bytes, which bounds the allocation on corrupted counts.
    let cap = to_usize(entries).unwrap_or(0).min(cd.len() / CENTRAL_LEN);
    let mut out = Vec::with_capacity(cap);
    let cdc = Cursor { bytes: cd };
    let mut pos = 0usize;
    for i in 0..entries {
        out.push(read_entry(&cdc, &mut pos, path, i)?);
    }
    Ok(out)
}

/// Reads central-directory entry number `i` at `*pos`, advancing `*pos`.
fn read_entry(c: &Cursor<'_>, pos: &mut usize, path: &Path, i: u64) -> Result<Entry> {
    let p = *pos;
    let err = |d: &str| {
        bad(
            path,
            format!("zip central directory entry {i}"),
            d.to_string(),
        )
    };
    if c.u32(p) != Some(SIG_CENTRAL) {
        return Err(err("bad signature (corrupted central directory)"));
    }
    let trunc = || err("truncated");
    let flags = c.u16(p + 8).ok_or_else(trunc)?;
    let method = c.u16(p + 10).ok_or_else(trunc)?;
    let crc32 = c.u32(p + 16).ok_or_else(trunc)?;
    let mut compressed_size = u64::from(c.u32(p + 20).ok_or_else(trunc)?);
    let mut uncompressed_size = u64::from(c.u32(p + 24).ok_or_else(trunc)?);
    let name_len = usize::from(c.u16(p + 28).ok_or_else(trunc)?);
    let extra_len = usize::from(c.u16(p + 30).ok_or_else(trunc)?);
    let comment_len = usize::from(c.u16(p + 32).ok_or_else(trunc)?);
    let disk_start = c.u16(p + 34).ok_or_else(trunc)?;
    let mut local_header_offset = u64::from(c.u32(p + 42).ok_or_else(trunc)?);
    let name_bytes = c.slice(p + CENTRAL_LEN, name_len).ok_or_else(trunc)?;
    let name = decode_name(name_bytes, flags);
    let extra = c
        .slice(p + CENTRAL_LEN + name_len, extra_len)
        .ok_or_else(trunc)?;
    let need_u = uncompressed_size == 0xFFFF_FFFF;
    let need_c = compressed_size == 0xFFFF_FFFF;
    let need_o = local_header_offset == 0xFFFF_FFFF;
    if need_u || need_c || need_o {
        let z = find_zip64_extra(extra).ok_or_else(|| {
            bad(
                path,
                format!("zip member `{name}`"),
                "sizes/offset marked as ZIP64 but no ZIP64 extra field present",
            )
        })?;
        let zc = Cursor { bytes: z };
        let mut at = 0;
        let mut next = || {
            let v = zc.u64(at);
            at += 8;
            v.ok_or_else(|| {
                bad(
                    path,
                    format!("zip member `{name}`"),
                    "ZIP64 extra field too short",
                )
            })
        };
        if need_u {
            uncompressed_size = next()?;
        }
        if need_c {
            compressed_size = next()?;
        }
        if need_o {
            local_header_offset = next()?;
        }
    }
    if disk_start != 0 && disk_start != 0xFFFF {
        return Err(bad(
            path,
            format!("zip member `{name}`"),
            "multi-disk archives are not supported",
        ));
    }
    *pos = p + CENTRAL_LEN + name_len + extra_len + comment_len;
    Ok(Entry {
        name,
        method,
        flags,
        crc32,
        compressed_size,
        uncompressed_size,
        local_header_offset,
    })
}

/// Decodes a member name: UTF-8 when flag bit 11 is set or the bytes are valid UTF-8,
/// otherwise each byte is taken as a Latin-1 code point.
fn decode_name(bytes: &[u8], flags: u16) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) if flags & 0x0800 != 0 => String::from_utf8_lossy(bytes).into_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Returns the payload of the ZIP64 extended-information extra field, if any.
fn find_zip64_extra(extra: &[u8]) -> Option<&[u8]> {
    let c = Cursor { bytes: extra };
    let mut at = 0usize;
    while at + 4 <= extra.len() {
        let id = c.u16(at)?;
        let len = usize::from(c.u16(at + 2)?);
        let body = c.slice(at + 4, len)?;
        if id == ZIP64_EXTRA_ID {
            return Some(body);
        }
        at += 4 + len;
    }
    None
}

/// Range of a member's raw (possibly compressed) data inside the archive bytes.
pub(crate) fn data_range(bytes: &[u8], e: &Entry, path: &Path) -> Result<std::ops::Range<usize>> {
    let c = Cursor { bytes };
    let what = || format!("zip member `{}`", e.name);
    let off = to_usize(e.local_header_offset)
        .ok_or_else(|| bad(path, what(), "local header offset too large"))?;
    if c.u32(off) != Some(SIG_LOCAL) {
        return Err(bad(
            path,
            what(),
            format!("no local header at offset {off} (file truncated or corrupted)"),
        ));
    }
    let name_len = c
        .u16(off + 26)
        .ok_or_else(|| bad(path, what(), "local header truncated"))?;
    let extra_len = c
        .u16(off + 28)
        .ok_or_else(|| bad(path, what(), "local header truncated"))?;
    let start = off + LOCAL_LEN + usize::from(name_len) + usize::from(extra_len);
    let len = to_usize(e.compressed_size)
        .ok_or_else(|| bad(path, what(), "compressed size too large"))?;
    let end = start
        .checked_add(len)
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| {
            bad(
                path,
                what(),
                format!(
                    "data ({len} bytes at offset {start}) extends beyond the end of the {}-byte file (truncated?)",
                    bytes.len()
                ),
            )
        })?;
    Ok(start..end)
}

/// Returns at most the first `max` uncompressed bytes of a member (borrowed when stored,
/// inflated only that far when deflated), without checking the CRC: enough to read an NPY
/// header before deciding whether the whole member may be inflated.
pub(crate) fn member_prefix<'a>(
    bytes: &'a [u8],
    e: &Entry,
    path: &Path,
    max: usize,
) -> Result<Cow<'a, [u8]>> {
    let what = || format!("zip member `{}`", e.name);
    if e.flags & 0x0001 != 0 {
        return Err(bad(path, what(), "encrypted members are not supported"));
    }
    let range = data_range(bytes, e, path)?;
    let raw = bytes
        .get(range)
        .ok_or_else(|| bad(path, what(), "data out of bounds"))?;
    match e.method {
        METHOD_STORED => Ok(Cow::Borrowed(&raw[..raw.len().min(max)])),
        METHOD_DEFLATE => match miniz_oxide::inflate::decompress_to_vec_with_limit(raw, max) {
            Ok(out) => Ok(Cow::Owned(out)),
            Err(err) if err.status == miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                Ok(Cow::Owned(err.output))
            }
            Err(err) => Err(bad(
                path,
                what(),
                format!("deflate data is corrupted: {err}"),
            )),
        },
        m => Err(bad(
            path,
            what(),
            format!("unsupported compression method {m} (only stored and deflate)"),
        )),
    }
}

/// Returns a member's uncompressed bytes, borrowed when stored and inflated when deflated.
/// The CRC-32 is checked.
pub(crate) fn member_data<'a>(bytes: &'a [u8], e: &Entry, path: &Path) -> Result<Cow<'a, [u8]>> {
    let what = || format!("zip member `{}`", e.name);
    if e.flags & 0x0001 != 0 {
        return Err(bad(path, what(), "encrypted members are not supported"));
    }
    let range = data_range(bytes, e, path)?;
    let raw = bytes
        .get(range)
        .ok_or_else(|| bad(path, what(), "data out of bounds"))?;
    let data: Cow<'a, [u8]> = match e.method {
        METHOD_STORED => {
            if e.compressed_size != e.uncompressed_size {
                return Err(bad(
                    path,
                    what(),
                    format!(
                        "stored member has compressed size {} but uncompressed size {}",
                        e.compressed_size, e.uncompressed_size
                    ),
                ));
            }
            Cow::Borrowed(raw)
        }
        METHOD_DEFLATE => {
            let limit = to_usize(e.uncompressed_size)
                .ok_or_else(|| bad(path, what(), "uncompressed size too large"))?;
            let out = miniz_oxide::inflate::decompress_to_vec_with_limit(raw, limit)
                .map_err(|err| bad(path, what(), format!("deflate data is corrupted: {err}")))?;
            if out.len() as u64 != e.uncompressed_size {
                return Err(bad(
                    path,
                    what(),
                    format!(
                        "inflated to {} bytes, expected {}",
                        out.len(),
                        e.uncompressed_size
                    ),
                ));
            }
            Cow::Owned(out)
        }
        m => {
            return Err(bad(
                path,
                what(),
                format!("unsupported compression method {m} (only stored and deflate)"),
            ))
        }
    };
    let crc = crc32fast::hash(&data);
    if crc != e.crc32 {
        return Err(bad(
            path,
            what(),
            format!(
                "CRC-32 mismatch: stored {:08x}, computed {crc:08x} (corrupted data)",
                e.crc32
            ),
        ));
    }
    Ok(data)
}
