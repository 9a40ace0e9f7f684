//! Bounds on the sizes files declare. Every shape, chunk shape or selection a reader takes from
//! a file becomes an element count here, with overflow checks, and is compared with a byte limit
//! before anything is allocated for it: a corrupt or hostile header is refused by name instead
//! of aborting the process on an impossible allocation.

use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;

use crate::{Error, Result};

/// The default limit on the memory one read may take: 16 GiB, counting every value as 8 bytes
/// (readers promote to f64). The largest read of a real input stays well below it (24 hourly
/// 0.25° frames of a 37-level variable: 0.92 × 10⁹ values, 7.4 GB), while a corrupt size asks
/// for terabytes or more.
pub const DEFAULT_MAX_READ_BYTES: u64 = 16 << 30;

/// Environment variable that replaces [`DEFAULT_MAX_READ_BYTES`] (a whole number of bytes).
pub const MAX_READ_BYTES_ENV: &str = "GENCAST_MAX_READ_BYTES";

/// Bytes counted per value: readers hold what they read as f64.
pub const VALUE_BYTES: u64 = 8;

/// The limit in force: [`MAX_READ_BYTES_ENV`] when it holds a positive whole number, else
/// [`DEFAULT_MAX_READ_BYTES`]. Read once per process.
pub fn max_read_bytes() -> u64 {
    static LIMIT: OnceLock<u64> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        std::env::var(MAX_READ_BYTES_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&v| v > 0)
            .unwrap_or(DEFAULT_MAX_READ_BYTES)
    })
}

/// The product of `sizes`, or `None` when it overflows 64 bits.
pub fn product(sizes: &[u64]) -> Option<u64> {
    sizes.iter().try_fold(1u64, |acc, &n| acc.checked_mul(n))
}

/// The number of values of `shape` (a read, an array or a chunk of `what` in `path`), refused
/// when the count overflows or `count × value_bytes` exceeds [`max_read_bytes`].
pub fn checked_count(path: &Path, what: &str, shape: &[u64], value_bytes: u64) -> Result<usize> {
    let limit = max_read_bytes();
    let refuse = |count: String| {
        Error::format(
            path,
            what,
            format!(
                "shape {shape:?} holds {count} values, more than the {} one read may take \
                 ({} bytes; set {MAX_READ_BYTES_ENV} to change it)",
                human_bytes(limit),
                limit
            ),
        )
    };
    let count = product(shape).ok_or_else(|| refuse("more than 2^64".into()))?;
    match count.checked_mul(value_bytes.max(1)) {
        Some(bytes) if bytes <= limit => {
            usize::try_from(count).map_err(|_| refuse(count.to_string()))
        }
        _ => Err(refuse(count.to_string())),
    }
}

/// [`checked_count`] of `usize` sizes.
pub fn checked_count_usize(
    path: &Path,
    what: &str,
    shape: &[usize],
    value_bytes: u64,
) -> Result<usize> {
    let shape: Vec<u64> = shape.iter().map(|&n| n as u64).collect();
    checked_count(path, what, &shape, value_bytes)
}

/// A size list from JSON metadata (a Zarr `shape` or `chunks`): every entry a whole number
/// from `min` up, else an error naming `key` of `what` in `path` and the entry found.
pub fn json_sizes(path: &Path, what: &str, key: &str, value: &Value, min: u64) -> Result<Vec<u64>> {
    let bad = |detail: String| Error::format(path, what, format!("`{key}` {detail}"));
    let list = value
        .as_array()
        .ok_or_else(|| bad(format!("is {value}; expected a list of whole numbers")))?;
    list.iter()
        .map(|x| match x.as_u64() {
            Some(n) if n >= min => Ok(n),
            _ => Err(bad(format!(
                "entry {x} is not a whole number of at least {min} (found {value})"
            ))),
        })
        .collect()
}

/// A byte count in binary units, for messages.
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut x = n as f64;
    let mut unit = 0;
    while x >= 1024.0 && unit + 1 < UNITS.len() {
        x /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{x:.3} {}", UNITS[unit]).replace(".000 ", " ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_overflowing_or_over_the_limit_are_refused_by_name() {
        let p = Path::new("store.zarr");
        assert_eq!(checked_count(p, "t", &[2, 3, 4], 8).unwrap(), 24);
        assert_eq!(checked_count(p, "t", &[], 8).unwrap(), 1);
        assert_eq!(checked_count(p, "t", &[5, 0, u64::MAX], 8).unwrap(), 0);
        // 2^64 - 1 alone fits a u64 but not the byte limit; 2^32 × 2^32 overflows.
        for shape in [
            vec![u64::MAX],
            vec![1 << 32, 1 << 32],
            vec![1 << 32, 36, 19],
        ] {
            let err = checked_count(p, "temperature", &shape, 8)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("store.zarr")
                    && err.contains("temperature")
                    && err.contains(&format!("{shape:?}"))
                    && err.contains(MAX_READ_BYTES_ENV),
                "{err}"
            );
        }
        // Exactly at the limit passes, one value more does not (unless the environment set it).
        if std::env::var(MAX_READ_BYTES_ENV).is_err() {
            let at = DEFAULT_MAX_READ_BYTES / 8;
            assert!(checked_count(p, "t", &[at], 8).is_ok());
            assert!(checked_count(p, "t", &[at + 1], 8).is_err());
        }
    }

    #[test]
    fn json_sizes_must_be_whole_numbers_from_the_minimum() {
        let p = Path::new("s.zarr");
        let ok = json_sizes(p, "a", "shape", &serde_json::json!([0, 3]), 0).unwrap();
        assert_eq!(ok, vec![0, 3]);
        for bad in [
            serde_json::json!([-1]),
            serde_json::json!([1.5]),
            serde_json::json!(["3"]),
            serde_json::json!(null),
            serde_json::json!([0]),
        ] {
            let err = json_sizes(p, "a", "chunks", &bad, 1)
                .unwrap_err()
                .to_string();
            assert!(err.contains("s.zarr") && err.contains("`chunks`"), "{err}");
        }
    }

    #[test]
    fn byte_counts_read_in_binary_units() {
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(16 << 30), "16 GiB");
        assert_eq!(human_bytes(3 << 19), "1.500 MiB");
    }
}
