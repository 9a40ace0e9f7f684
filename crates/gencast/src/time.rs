//! The time constants every module uses (integer nanoseconds are the library's time unit, as in
//! xarray's `datetime64[ns]`), and the reference's calendar constants from `data_utils.py`.

/// Nanoseconds in one second.
pub const NS_PER_SECOND: i64 = 1_000_000_000;

/// Seconds in one hour.
pub const SEC_PER_HOUR: i64 = 3_600;

/// Seconds in one day (the reference's `SEC_PER_DAY`).
pub const SEC_PER_DAY: i64 = 86_400;

/// Nanoseconds in one minute.
pub const NS_PER_MINUTE: i64 = 60 * NS_PER_SECOND;

/// Nanoseconds in one hour.
pub const NS_PER_HOUR: i64 = SEC_PER_HOUR * NS_PER_SECOND;

/// Nanoseconds in one day.
pub const NS_PER_DAY: i64 = SEC_PER_DAY * NS_PER_SECOND;

/// Average length of a year in days, for year progress (the reference's `AVG_DAY_PER_YEAR`).
pub const AVG_DAY_PER_YEAR: f64 = 365.242_19;
