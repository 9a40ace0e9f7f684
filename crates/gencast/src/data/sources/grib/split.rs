//! A GRIB file cut into its messages, each checked (length, end marker) before it is read, so
//! that a message the decoder refuses leaves the others readable.

use std::ops::Range;
use std::path::Path;

use grib_reader::indicator::Indicator;

use crate::{Error, Result};

/// The bytes of a GRIB file, mapped.
pub(super) enum Bytes {
    /// A mapped file.
    Mapped(memmap2::Mmap),
    /// An empty file.
    Empty,
}

impl std::ops::Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Empty => &[],
        }
    }
}

/// Maps the file at `path`.
pub(super) fn map(path: &Path) -> Result<Bytes> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len == 0 {
        return Ok(Bytes::Empty);
    }
    // SAFETY: the mapping is read-only; the file is not expected to be modified while it is
    // read (the same assumption every mmap-based reader makes).
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
    Ok(Bytes::Mapped(map))
}

/// The byte ranges of the messages of `data` (the file at `path`). Bytes between messages are
/// skipped, as is a tail too short to hold an indicator section; a message that runs past the
/// end of the file or lacks its end marker is refused.
pub(super) fn messages(path: &Path, data: &[u8]) -> Result<Vec<Range<usize>>> {
    let mut spans = Vec::new();
    let mut pos = 0usize;
    let bad = |n: usize, at: usize, detail: String| {
        Error::format(path, format!("GRIB message {n} (at byte {at})"), detail)
    };
    while let Some(found) = data[pos..].windows(4).position(|w| w == b"GRIB") {
        let start = pos + found;
        let rest = &data[start..];
        if rest.len() < 16 {
            break;
        }
        let n = spans.len();
        let indicator = Indicator::parse(rest).ok_or_else(|| {
            bad(
                n,
                start,
                format!("edition {} is not GRIB edition 1 or 2", rest[7]),
            )
        })?;
        let length = usize::try_from(indicator.total_length).unwrap_or(usize::MAX);
        if length < 12 || length > rest.len() {
            return Err(bad(
                n,
                start,
                format!(
                    "says it is {} bytes long, but {} bytes remain in the file (cut short?)",
                    indicator.total_length,
                    rest.len()
                ),
            ));
        }
        if &rest[length - 4..length] != b"7777" {
            return Err(bad(
                n,
                start,
                format!("does not end with `7777` after its {length} bytes"),
            ));
        }
        spans.push(start..start + length);
        pos = start + length;
    }
    if spans.is_empty() {
        return Err(Error::format(path, "GRIB", "no GRIB messages in the file"));
    }
    Ok(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_found_between_stray_bytes_and_checked() {
        // A GRIB2 indicator for a 20-byte message: 16 bytes of section 0, then `7777`.
        let mut msg = b"GRIB\0\0\0\x02".to_vec();
        msg.extend(20u64.to_be_bytes());
        msg.extend(b"7777");
        let mut data = b"junk".to_vec();
        data.extend(&msg);
        data.extend(b"\0\0");
        data.extend(&msg);
        let path = Path::new("x.grib2");
        assert_eq!(messages(path, &data).unwrap(), vec![4..24, 26..46]);
        // Cut inside the second message: refused with its number and offset.
        let err = messages(path, &data[..44]).unwrap_err().to_string();
        // A tail too short for an indicator section is stray bytes.
        assert_eq!(messages(path, &data[..40]).unwrap(), vec![4..24]);
        assert!(err.contains("GRIB message 1 (at byte 26)"), "{err}");
        // A wrong end marker.
        let mut bad = data.clone();
        bad[45] = b'8';
        assert!(messages(path, &bad)
            .unwrap_err()
            .to_string()
            .contains("7777"));
        assert!(messages(path, b"no messages here").is_err());
    }
}
