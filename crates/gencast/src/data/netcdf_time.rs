//! CF time conventions: `units` strings such as `"hours"` (time deltas) and
//! `"hours since 2019-03-29 00:00:00"` (absolute times), decoded to integer nanoseconds.
//!
//! Absolute times are nanoseconds since 1970-01-01T00:00:00 UTC on the proleptic Gregorian
//! calendar (the `datetime64[ns]` convention that xarray uses).

use crate::time::{NS_PER_DAY, NS_PER_HOUR, NS_PER_MINUTE, NS_PER_SECOND};

/// Nanoseconds per unit for a CF time unit name (`"hours"`, `"s"`, `"nanoseconds"`, ...).
pub fn unit_ns(unit: &str) -> Option<i64> {
    let ns = match unit.trim().to_ascii_lowercase().as_str() {
        "nanoseconds" | "nanosecond" | "nsecs" | "nsec" | "ns" => 1,
        "microseconds" | "microsecond" | "usecs" | "usec" | "us" | "µs" => 1_000,
        "milliseconds" | "millisecond" | "msecs" | "msec" | "ms" => 1_000_000,
        "seconds" | "second" | "secs" | "sec" | "s" => NS_PER_SECOND,
        "minutes" | "minute" | "mins" | "min" => NS_PER_MINUTE,
        "hours" | "hour" | "hrs" | "hr" | "h" => NS_PER_HOUR,
        "days" | "day" | "d" => NS_PER_DAY,
        _ => return None,
    };
    Some(ns)
}

/// Splits `"<unit> since <date>"` into (nanoseconds per unit, reference time in ns since epoch).
pub fn parse_since_units(units: &str) -> Option<(i64, i64)> {
    let lower = units.to_ascii_lowercase();
    let pos = lower.find(" since ")?;
    let unit = unit_ns(&units[..pos])?;
    let epoch = parse_datetime(&units[pos + " since ".len()..])?;
    Some((unit, epoch))
}

/// Whether a CF `calendar` attribute names a calendar that agrees with the proleptic Gregorian
/// one for all dates after 1582-10-15 (`standard`, `gregorian`, `proleptic_gregorian`).
pub fn is_gregorian(calendar: &str) -> bool {
    matches!(
        calendar.trim().to_ascii_lowercase().as_str(),
        "standard" | "gregorian" | "proleptic_gregorian"
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats nanoseconds since the epoch as `YYYY-MM-DDTHH:MM:SS` (UTC), with a fractional part
/// only when the time is not a whole second.
pub fn format_datetime(ns: i64) -> String {
    let days = ns.div_euclid(NS_PER_DAY);
    let rem = ns.rem_euclid(NS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / 1_000_000_000;
    let frac = rem % 1_000_000_000;
    let base = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    if frac == 0 {
        base
    } else {
        format!("{base}.{frac:09}")
    }
}

/// Parses a CF reference date such as `2019-03-29 00:00:00`, `2019-03-29T00:00:00.5Z`,
/// `2019-3-29` or `1970-01-01 00:00:00 +00:00` into nanoseconds since the epoch (UTC).
pub fn parse_datetime(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = match text.find(['T', 't', ' ']) {
        Some(i) => (&text[..i], text[i + 1..].trim()),
        None => (text, ""),
    };
    let (year, month, day) = parse_date(date)?;
    let (clock, zone) = split_zone(rest)?;
    let tod = if clock.is_empty() {
        0
    } else {
        parse_clock(clock)?
    };
    let days = days_from_civil(year, month, day);
    days.checked_mul(NS_PER_DAY)?
        .checked_add(tod)?
        .checked_sub(zone)
}

/// Parses `Y-M-D` (year may carry a sign).
fn parse_date(date: &str) -> Option<(i64, u32, u32)> {
    let (sign, body) = match date.strip_prefix('-') {
        Some(b) => (-1, b),
        None => (1, date),
    };
    let mut parts = body.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next().map_or(Some(1), |p| p.parse().ok())?;
    let day: u32 = parts.next().map_or(Some(1), |p| p.parse().ok())?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some((sign * year, month, day))
}

/// Splits a time-of-day from a trailing zone (`Z`, `UTC`, `+hh:mm`, `-hhmm`); returns the
/// clock text and the zone offset in nanoseconds.
fn split_zone(rest: &str) -> Option<(&str, i64)> {
    let rest = rest.trim();
    for suffix in ["UTC", "utc", "Z", "z"] {
        if let Some(clock) = rest.strip_suffix(suffix) {
            return Some((clock.trim(), 0));
        }
    }
    if let Some(i) = rest.rfind(['+', '-']) {
        let (clock, zone) = (rest[..i].trim(), &rest[i..]);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
        if digits.is_empty() || digits.len() > 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let value: i64 = digits.parse().ok()?;
        let (h, m) = if digits.len() <= 2 {
            (value, 0)
        } else {
            (value / 100, value % 100)
        };
        return Some((clock, sign * (h * 3600 + m * 60) * 1_000_000_000));
    }
    Some((rest, 0))
}

/// Parses `H[:M[:S[.fff]]]` into nanoseconds since midnight.
fn parse_clock(clock: &str) -> Option<i64> {
    let mut parts = clock.split(':');
    let h: i64 = parts.next()?.trim().parse().ok()?;
    let m: i64 = parts.next().map_or(Some(0), |p| p.trim().parse().ok())?;
    let (s, frac_ns) = match parts.next() {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = match sec.split_once('.') {
                Some((w, f)) => (w, f),
                None => (sec, ""),
            };
            let s: i64 = whole.trim().parse().ok()?;
            if frac.len() > 9 || !frac.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let padded = format!("{frac:0<9}");
            let f: i64 = if frac.is_empty() {
                0
            } else {
                padded.parse().ok()?
            };
            (s, f)
        }
    };
    if parts.next().is_some()
        || !(0..=24).contains(&h)
        || !(0..60).contains(&m)
        || !(0..=60).contains(&s)
    {
        return None;
    }
    Some(((h * 60 + m) * 60 + s) * 1_000_000_000 + frac_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2019, 3, 29), 17_984);
        for d in [-800_000, -1, 0, 1, 17_984, 60_000, 2_932_896] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn parses_reference_dates() {
        let day = 17_984 * NS_PER_DAY;
        assert_eq!(parse_datetime("2019-03-29 00:00:00"), Some(day));
        assert_eq!(parse_datetime("2019-03-29T00:00:00Z"), Some(day));
        assert_eq!(parse_datetime("2019-3-29"), Some(day));
        assert_eq!(
            parse_datetime("2019-03-29 06:30"),
            Some(day + 23_400_000_000_000)
        );
        assert_eq!(
            parse_datetime("2019-03-29 00:00:00.25"),
            Some(day + 250_000_000)
        );
        assert_eq!(parse_datetime("2019-03-29 01:00:00 +01:00"), Some(day));
        assert_eq!(
            parse_datetime("1970-01-01 00:00:00 -0100"),
            Some(3_600_000_000_000)
        );
        assert_eq!(parse_datetime("2019-13-01"), None);
        assert_eq!(parse_datetime("yesterday"), None);
    }

    #[test]
    fn parses_units() {
        assert_eq!(unit_ns("hours"), Some(3_600_000_000_000));
        assert_eq!(unit_ns("Nanoseconds"), Some(1));
        assert_eq!(unit_ns("fortnights"), None);
        let (u, e) = parse_since_units("hours since 2019-03-29 00:00:00").unwrap();
        assert_eq!((u, e), (3_600_000_000_000, 17_984 * NS_PER_DAY));
        assert_eq!(parse_since_units("hours"), None);
        assert!(is_gregorian("proleptic_gregorian") && is_gregorian("standard"));
        assert!(!is_gregorian("noleap"));
    }

    #[test]
    fn formats_datetimes() {
        assert_eq!(format_datetime(17_984 * NS_PER_DAY), "2019-03-29T00:00:00");
        assert_eq!(format_datetime(-1), "1969-12-31T23:59:59.999999999");
    }
}
