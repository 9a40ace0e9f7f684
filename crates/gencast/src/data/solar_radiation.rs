//! Top-of-atmosphere incident solar radiation (`get_toa_incident_solar_radiation` in
//! <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/solar_radiation.py>): the
//! flux integrated over the hour ending at each valid time, in J m⁻², like ERA5's `tisr`.
//!
//! The reference evaluates it in float32 after rounding the J2000 day count to float32 and
//! adding float32 offsets for the 361 integration nodes, so the nodes snap to the float32 grid
//! of day counts; this module does the same. Only the final trapezoid sum is accumulated in
//! f64 (the reference's summation order is the compiler's).

use std::sync::OnceLock;

use super::netcdf_time::{civil_from_days, days_from_civil};
use crate::time::{NS_PER_SECOND, SEC_PER_DAY, SEC_PER_HOUR};

/// Name of the variable.
pub const TISR: &str = "toa_incident_solar_radiation";

/// ERA5's yearly TSI table (values before scaling), one value per year from 1951.5.
const ERA5_TSI: &str = include_str!("era5_tsi.txt");

/// Scaling the reference applies to the table.
const TSI_SCALE: f64 = 0.9965;

/// First year of the table (mid-year).
const TSI_FIRST_TIME: f64 = 1951.5;

/// The J2000 epoch as a Julian date.
const J2000_EPOCH: f64 = 2_451_545.0;

/// Julian year length used by the orbital formulas.
const JULIAN_YEAR_LENGTH_IN_DAYS: f32 = 365.25;

/// Integration window (1 h) in seconds and number of trapezoid bins.
const INTEGRATION_SECONDS: i64 = SEC_PER_HOUR;
const NUM_INTEGRATION_BINS: usize = 360;

/// The scaled TSI table `(times, values)`.
fn tsi_table() -> &'static (Vec<f64>, Vec<f64>) {
    static TABLE: OnceLock<(Vec<f64>, Vec<f64>)> = OnceLock::new();
    TABLE.get_or_init(|| {
        let values: Vec<f64> = ERA5_TSI
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .flat_map(str::split_whitespace)
            .filter_map(|w| w.parse::<f64>().ok())
            .map(|v| TSI_SCALE * v)
            .collect();
        let times = (0..values.len())
            .map(|k| TSI_FIRST_TIME + k as f64)
            .collect();
        (times, values)
    })
}

/// `numpy.interp` on an ascending table, clamped at both ends.
fn interp(x: f64, xs: &[f64], ys: &[f64]) -> f64 {
    match (xs.first(), xs.last(), ys.first(), ys.last()) {
        (Some(&x0), Some(&xn), Some(&y0), Some(&yn)) => {
            if x <= x0 {
                return y0;
            }
            if x >= xn {
                return yn;
            }
            let k = xs.partition_point(|&t| t <= x).saturating_sub(1);
            let (xa, xb, ya, yb) = (xs[k], xs[k + 1], ys[k], ys[k + 1]);
            let slope = (yb - ya) / (xb - xa);
            slope * (x - xa) + ya
        }
        _ => f64::NAN,
    }
}

/// Calendar fields of a time in ns since the epoch: (year, month, day, seconds into the day,
/// nanoseconds into the second).
fn civil(datetime_ns: i64) -> (i64, u32, u32, i64, i64) {
    let seconds = datetime_ns.div_euclid(NS_PER_SECOND);
    let nanos = datetime_ns.rem_euclid(NS_PER_SECOND);
    let days = seconds.div_euclid(SEC_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    (y, m, d, seconds.rem_euclid(SEC_PER_DAY), nanos)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Total solar irradiance (W m⁻²) at a time: the ERA5 table interpolated at the fractional
/// year, with 365- or 366-day years (f64).
pub fn total_solar_irradiance(datetime_ns: i64) -> f64 {
    let (year, month, day, sod, nanos) = civil(datetime_ns);
    let day_of_year = days_from_civil(year, month, day) - days_from_civil(year, 1, 1) + 1;
    let day_fraction = (sod as f64 * 1e9 + nanos as f64) / (SEC_PER_DAY as f64 * 1e9);
    let year_length = if is_leap(year) { 366.0 } else { 365.0 };
    let fractional_year = year as f64 + ((day_of_year - 1) as f64 + day_fraction) / year_length;
    let (times, values) = tsi_table();
    interp(fractional_year, times, values)
}

/// Days since J2000 (f64), from the Julian date computed field by field as pandas'
/// `Timestamp.to_julian_date` does.
pub fn j2000_days(datetime_ns: i64) -> f64 {
    let (year, month, day, sod, nanos) = civil(datetime_ns);
    let (y, m) = if month <= 2 {
        (year - 1, i64::from(month) + 12)
    } else {
        (year, i64::from(month))
    };
    let hour = sod / 3_600;
    let minute = (sod / 60) % 60;
    let second = sod % 60;
    let micro = nanos / 1_000;
    let nano = nanos % 1_000;
    let whole = i64::from(day) + (153 * m - 457).div_euclid(5) + 365 * y + y.div_euclid(4)
        - y.div_euclid(100)
        + y.div_euclid(400);
    let hours = hour as f64
        + minute as f64 / 60.0
        + second as f64 / 3_600.0
        + micro as f64 / 3_600.0 / 1e6
        + nano as f64 / 3_600.0 / 1e9;
    let julian = whole as f64 + 1_721_118.5 + hours / 24.0;
    julian - J2000_EPOCH
}

/// Float32 sine as the reference's `jax.numpy` code gets it from XLA, taken here as the correctly
/// rounded value (XLA's float32 routines are within about an ulp of it; the radiation is
/// compared with the reference within a tolerance, not bit for bit, and it is not NumPy's
/// [`crate::npmath::sin`], which the data pipeline's NumPy code uses).
fn sin(x: f32) -> f32 {
    f64::from(x).sin() as f32
}

/// Float32 cosine, like [`sin`].
fn cos(x: f32) -> f32 {
    f64::from(x).cos() as f32
}

/// Earth's orbital state at one (float32) J2000 day count.
struct Orbit {
    rotational_phase: f32,
    sin_declination: f32,
    cos_declination: f32,
    eq_of_time_seconds: f32,
    solar_distance_au: f32,
}

/// A dot product accumulated left to right in float32.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0.0f32, |s, (&x, &y)| s + x * y)
}

fn orbit(t: f32) -> Orbit {
    let theta = t / JULIAN_YEAR_LENGTH_IN_DAYS;
    let rotational_phase = t - t.floor();
    let rel = 1.7535f32 + 6.283_076f32 * theta;
    let rem = 6.240_041f32 + 6.283_02f32 * theta;
    let rlls = 4.8951f32 + 6.283_076f32 * theta;
    let rllls = dot(
        &[
            1.0,
            theta,
            sin(rel),
            cos(rel),
            sin(2.0 * rel),
            cos(2.0 * rel),
        ],
        &[4.8952, 6.283_32, -0.0075, -0.0326, -0.0003, 0.0002],
    );
    let sin_declination = sin(0.409_093f32) * sin(rllls);
    let cos_declination = (1.0 - sin_declination * sin_declination).sqrt();
    let sin_rem = sin(rem);
    let eq_of_time_seconds = dot(
        &[
            sin(2.0 * rlls),
            sin_rem,
            sin_rem * cos(2.0 * rlls),
            sin(4.0 * rlls),
            sin(2.0 * rem),
        ],
        &[591.8, -459.4, 39.5, -12.7, -4.8],
    );
    let solar_distance_au = dot(&[1.0, sin(rel), cos(rel)], &[1.0001, -0.0163, 0.0037]);
    Orbit {
        rotational_phase,
        sin_declination,
        cos_declination,
        eq_of_time_seconds,
        solar_distance_au,
    }
}

/// TOA incident solar radiation (J m⁻²) integrated over the hour ending at `datetime_ns`, on the
/// `lat` × `lon` grid (degrees), as `[lat][lon]`.
pub fn toa_incident_solar_radiation(datetime_ns: i64, lat: &[f32], lon: &[f32]) -> Vec<f32> {
    let deg2rad = std::f32::consts::PI / 180.0;
    let tsi = total_solar_irradiance(datetime_ns) as f32;
    let j = j2000_days(datetime_ns) as f32;
    let dx = (INTEGRATION_SECONDS as f64 / NUM_INTEGRATION_BINS as f64) as f32;
    // Per node: the flux factor `tsi / dist²`, and the hour-angle and declination terms.
    let nodes: Vec<(f32, f32, f32, f32)> = (0..=NUM_INTEGRATION_BINS)
        .map(|k| {
            let offset_seconds = -INTEGRATION_SECONDS as f64
                + (k as f64) * INTEGRATION_SECONDS as f64 / NUM_INTEGRATION_BINS as f64;
            let offset = (offset_seconds / SEC_PER_DAY as f64) as f32;
            let o = orbit(j + offset);
            let inv = 1.0 / o.solar_distance_au;
            let factor = tsi * (inv * inv);
            let solar_time = o.rotational_phase + o.eq_of_time_seconds / SEC_PER_DAY as f32;
            let phase = 2.0 * std::f32::consts::PI * solar_time;
            (factor, phase, o.cos_declination, o.sin_declination)
        })
        .collect();
    let mut out = Vec::with_capacity(lat.len() * lon.len());
    let mut flux = vec![0f32; nodes.len()];
    for &la in lat {
        let latr = la * deg2rad;
        let (sin_lat, cos_lat) = (sin(latr), cos(latr));
        for &lo in lon {
            let lonr = lo * deg2rad;
            for (f, &(factor, phase, cos_dec, sin_dec)) in flux.iter_mut().zip(&nodes) {
                let hour_angle = phase + lonr;
                let sin_altitude = cos_lat * cos_dec * cos(hour_angle) + sin_lat * sin_dec;
                *f = factor * sin_altitude.max(0.0);
            }
            let sum: f64 = flux
                .windows(2)
                .map(|w| f64::from(w[0]) + f64::from(w[1]))
                .sum();
            out.push((f64::from(dx) * sum * 0.5) as f32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsi_table_has_84_years() {
        let (times, values) = tsi_table();
        assert_eq!(values.len(), 84);
        assert_eq!(times.last().copied(), Some(2034.5));
    }
}
