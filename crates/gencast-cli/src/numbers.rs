//! Parsers for numeric options that say what is wrong with a value (negative, not a whole
//! number, too large) instead of clap's generic messages.

use std::str::FromStr;

/// Parses a whole number ≥ 0 of type `T`, rejecting negative values with a clear message.
pub(crate) fn whole<T: FromStr + TryFrom<u64>>(s: &str) -> Result<T, String> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err(format!("`{s}` is negative; expected a whole number ≥ 0"));
    }
    let n: u64 = t
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number (or is too large)"))?;
    T::try_from(n).map_err(|_| format!("`{s}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_and_oversized_values_are_named() {
        assert_eq!(whole::<u32>("12"), Ok(12));
        assert!(whole::<u32>("-1").unwrap_err().contains("negative"));
        assert!(whole::<u32>("4294967296")
            .unwrap_err()
            .contains("too large"));
        assert!(whole::<usize>("1.5")
            .unwrap_err()
            .contains("not a whole number"));
    }
}
