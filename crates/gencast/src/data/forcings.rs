//! Year and day progress features derived from the frames' valid times, as the reference's
//! `get_year_progress`, `get_day_progress` and `featurize_progress` compute them
//! (<https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/data_utils.py>).
//!
//! The arithmetic follows the reference's NumPy code step by step so that the features match it
//! bit for bit: progress in f64 then cast to f32, phase `progress · 2π` in f32, and sine/cosine
//! from the crate's `npmath` module, NumPy's own float32 algorithm, which is not always the
//! correctly rounded value that `f32::sin` gives.

use crate::npmath;
use crate::time::{AVG_DAY_PER_YEAR, NS_PER_SECOND, SEC_PER_DAY};

/// Names of the generated progress features in the order the reference lists them.
pub const GENERATED_FORCING_VARS: [&str; 4] = [
    "year_progress_sin",
    "year_progress_cos",
    "day_progress_sin",
    "day_progress_cos",
];

/// Which progress feature a variable name denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressFeature {
    /// `year_progress_sin`: one value per time.
    YearSin,
    /// `year_progress_cos`: one value per time.
    YearCos,
    /// `day_progress_sin`: one value per time and longitude.
    DaySin,
    /// `day_progress_cos`: one value per time and longitude.
    DayCos,
}

impl ProgressFeature {
    /// The feature named `name`, if it is one of the four generated sin/cos features.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "year_progress_sin" => Some(Self::YearSin),
            "year_progress_cos" => Some(Self::YearCos),
            "day_progress_sin" => Some(Self::DaySin),
            "day_progress_cos" => Some(Self::DayCos),
            _ => None,
        }
    }

    /// Whether the feature varies with longitude (day progress) or not (year progress).
    pub fn per_longitude(self) -> bool {
        matches!(self, Self::DaySin | Self::DayCos)
    }

    /// The feature's values at one valid time: one value for year features, one per longitude
    /// for day features.
    pub fn values(self, datetime_ns: i64, lon_deg: &[f32]) -> Vec<f32> {
        let t = seconds_since_epoch(datetime_ns);
        match self {
            Self::YearSin => vec![progress_sin(year_progress(t))],
            Self::YearCos => vec![progress_cos(year_progress(t))],
            Self::DaySin => lon_deg
                .iter()
                .map(|&lon| progress_sin(day_progress(t, lon)))
                .collect(),
            Self::DayCos => lon_deg
                .iter()
                .map(|&lon| progress_cos(day_progress(t, lon)))
                .collect(),
        }
    }
}

/// Whole seconds since 1970-01-01T00:00:00 UTC of a time given in nanoseconds, truncated the way
/// numpy converts `datetime64[ns]` to `datetime64[s]` (towards minus infinity).
pub fn seconds_since_epoch(datetime_ns: i64) -> i64 {
    datetime_ns.div_euclid(NS_PER_SECOND)
}

/// Floor-mod by 1 of an f64, as `numpy.mod(x, 1.0)`: the result lies in `[0, 1]`.
fn frac(x: f64) -> f64 {
    let r = x % 1.0;
    if r != 0.0 && r < 0.0 {
        r + 1.0
    } else {
        r
    }
}

/// Fraction of the (average-length) year elapsed at `seconds` since the epoch, in `[0, 1)`.
pub fn year_progress(seconds: i64) -> f32 {
    let years = seconds as f64 / SEC_PER_DAY as f64 / AVG_DAY_PER_YEAR;
    frac(years) as f32
}

/// Local day progress in `[0, 1)` at `seconds` since the epoch and longitude `lon_deg` (degrees).
///
/// The longitude offset `deg2rad(lon) / 2π` is computed in f32 (the dtype of the `lon`
/// coordinate), then added in f64 to the Greenwich day fraction.
pub fn day_progress(seconds: i64, lon_deg: f32) -> f32 {
    let greenwich = seconds.rem_euclid(SEC_PER_DAY) as f64 / SEC_PER_DAY as f64;
    let offset = npmath::deg2rad(lon_deg) / std::f32::consts::TAU;
    frac(greenwich + offset as f64) as f32
}

/// `sin(progress · 2π)` with the phase formed in f32.
pub fn progress_sin(progress: f32) -> f32 {
    npmath::sin(progress * std::f32::consts::TAU)
}

/// `cos(progress · 2π)` with the phase formed in f32.
pub fn progress_cos(progress: f32) -> f32 {
    npmath::cos(progress * std::f32::consts::TAU)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_values() {
        // Values the reference's data_utils functions give for 2019-03-29T12:00 (NumPy 2.4.6).
        let t = seconds_since_epoch(1_553_860_800 * 1_000_000_000);
        assert_eq!(t, 1_553_860_800);
        assert_eq!(year_progress(t), 0.239_930_36);
        assert_eq!(year_progress(1_553_904_000), 0.241_299_32);
        let lons = [0.0f32, 1.0, 90.0, 359.0];
        let day: Vec<f32> = lons.iter().map(|&l| day_progress(t, l)).collect();
        assert_eq!(day, [0.5, 0.502_777_76, 0.75, 0.497_222_2]);
        let sin: Vec<f32> = day.iter().map(|&p| progress_sin(p)).collect();
        assert_eq!(sin, [-8.742_278e-8, -0.017_452_395, -1.0, 0.017_452_458]);
    }

    #[test]
    fn progress_in_unit_interval() {
        for &t in &[-1_000_000_007i64, 0, 86_399, 1_553_860_800, 4_102_444_800] {
            let y = year_progress(t);
            assert!((0.0..1.0).contains(&y), "{t}: {y}");
            for lon in [0.0f32, 10.0, 359.75] {
                let d = day_progress(t, lon);
                assert!((0.0..=1.0).contains(&d), "{t} {lon}: {d}");
            }
        }
        assert_eq!(seconds_since_epoch(-1), -1);
    }
}
