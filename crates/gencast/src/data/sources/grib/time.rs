//! A message's times, checked: a missing year or an impossible date is refused, never wrapped.

use grib_reader::{Message, ReferenceTime};

use super::identity::{Identity, Product};
use crate::data::netcdf_time::{days_from_civil, format_datetime};

const NS_PER_SECOND: i64 = 1_000_000_000;

/// A GRIB time as ns since 1970, or why it is not one.
pub(super) fn to_ns(t: &ReferenceTime) -> Result<i64, String> {
    let text = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    );
    // GRIB2 codes a missing year as all bits set.
    if t.year == u16::MAX {
        return Err(format!("its year is missing ({text})"));
    }
    if !t.is_valid() {
        return Err(format!("{text} is not a date and time"));
    }
    let days = days_from_civil(i64::from(t.year), u32::from(t.month), u32::from(t.day));
    // Years below 65535 keep the seconds far inside i64; nanoseconds may not.
    let seconds =
        days * 86_400 + i64::from(t.hour) * 3_600 + i64::from(t.minute) * 60 + i64::from(t.second);
    seconds
        .checked_mul(NS_PER_SECOND)
        .ok_or_else(|| format!("{text} is outside the times this tool represents (1678 to 2262)"))
}

/// The message's valid time (the end of its interval for statistics), checked.
pub(super) fn valid_ns(msg: &Message) -> Result<i64, String> {
    let reference = to_ns(msg.reference_time()).map_err(|e| format!("reference time: {e}"))?;
    let valid = msg.valid_time().ok_or_else(|| {
        format!(
            "no valid time can be formed from its reference time {} and its forecast step",
            format_datetime(reference)
        )
    })?;
    to_ns(&valid).map_err(|e| format!("valid time: {e}"))
}

/// Hours over which an accumulation message accumulates: its statistic's interval, or for
/// GRIB1 accumulations told by their parameter, the forecast step (accumulated from the start
/// of the forecast, as ECMWF's GRIB1 does).
pub(super) fn accumulation_hours(id: &Identity, msg: &Message) -> Result<i64, String> {
    let hours = match &id.product {
        Product::Statistic { hours, .. } => *hours,
        Product::Instant if id.edition == 1 => {
            match (msg.forecast_time_unit(), msg.forecast_time()) {
                (Some(unit), Some(step)) => super::identity::whole_hours(unit, step),
                _ => None,
            }
        }
        _ => None,
    };
    match hours {
        Some(h) if h >= 0 => Ok(h),
        Some(h) => Err(format!("accumulates over {h} hours")),
        None => Err("is an accumulation over no whole number of hours".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(year: u16, month: u8, day: u8) -> ReferenceTime {
        ReferenceTime {
            year,
            month,
            day,
            hour: 12,
            minute: 0,
            second: 0,
        }
    }

    #[test]
    fn missing_and_impossible_dates_are_refused() {
        assert_eq!(
            to_ns(&t(2019, 3, 29)).map(format_datetime),
            Ok("2019-03-29T12:00:00".to_string())
        );
        assert!(to_ns(&t(65535, 3, 29))
            .unwrap_err()
            .contains("year is missing"));
        assert!(to_ns(&t(2019, 2, 30)).unwrap_err().contains("not a date"));
        assert!(to_ns(&t(2019, 13, 1)).unwrap_err().contains("not a date"));
        // Beyond i64 nanoseconds: refused, not wrapped.
        assert!(to_ns(&t(9999, 1, 1)).unwrap_err().contains("1678 to 2262"));
        assert!(to_ns(&t(1000, 1, 1)).unwrap_err().contains("1678 to 2262"));
    }
}
