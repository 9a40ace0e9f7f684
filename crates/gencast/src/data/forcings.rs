//! Year and day progress features derived from the frames' valid times (pipeline spec §3.2).
//!
//! The arithmetic follows the reference's numpy code step by step so that the features match it
//! bit for bit: progress in f64 then cast to f32, phase `progress · 2π` in f32, and sine/cosine
//! evaluated with the same float32 algorithm numpy's vectorised `sin`/`cos` loops use (Cody–Waite
//! reduction by π/2 and short minimax polynomials, all with fused multiply-adds), which is not
//! always the correctly rounded value that `f32::sin` gives.

/// Seconds in a day.
pub const SEC_PER_DAY: i64 = 86_400;

/// Average length of a year in days, as used for year progress.
pub const AVG_DAY_PER_YEAR: f64 = 365.242_19;

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
    datetime_ns.div_euclid(1_000_000_000)
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
    let offset = deg2rad_f32(lon_deg) / std::f32::consts::TAU;
    frac(greenwich + offset as f64) as f32
}

/// numpy's float32 `deg2rad`: multiplication by the f32 constant π/180.
fn deg2rad_f32(deg: f32) -> f32 {
    deg * (std::f32::consts::PI / 180.0)
}

/// `sin(progress · 2π)` with the phase formed in f32.
pub fn progress_sin(progress: f32) -> f32 {
    numpy_sin_f32(progress * std::f32::consts::TAU)
}

/// `cos(progress · 2π)` with the phase formed in f32.
pub fn progress_cos(progress: f32) -> f32 {
    numpy_cos_f32(progress * std::f32::consts::TAU)
}

/// Largest |x| for which the vectorised float32 algorithm is used; beyond it numpy falls back to
/// the C library.
const SINCOS_MAX_ARG: f32 = 71_476.06; // rounds to 71476.0625 exactly

/// Sine of an f32 exactly as numpy's SIMD float32 `sin` computes it.
pub fn numpy_sin_f32(x: f32) -> f32 {
    sincos_f32(x, false)
}

/// Cosine of an f32 exactly as numpy's SIMD float32 `cos` computes it.
pub fn numpy_cos_f32(x: f32) -> f32 {
    sincos_f32(x, true)
}

fn sincos_f32(x: f32, cosine: bool) -> f32 {
    if !x.is_finite() || x.abs() > SINCOS_MAX_ARG {
        return if cosine { x.cos() } else { x.sin() };
    }
    // Nearest multiple of π/2 via the round-to-integer "magic number" trick.
    const TWO_OVER_PI: f32 = f32::from_bits(0x3f22_f983); // 0x1.45f306p-1
    const MAGIC: f32 = 12_582_912.0; // 0x1.8p23
    const PIO2_HI: f32 = f32::from_bits(0xbfc9_0fd8); // -0x1.921fb0p+0
    const PIO2_MED: f32 = f32::from_bits(0xb4a8_885a); // -0x1.5110b4p-22
    const PIO2_LO: f32 = f32::from_bits(0xa7c2_34c4); // -0x1.846988p-48
    let quadrant = x.mul_add(TWO_OVER_PI, MAGIC) - MAGIC;
    let mut r = quadrant.mul_add(PIO2_HI, x);
    r = quadrant.mul_add(PIO2_MED, r);
    r = quadrant.mul_add(PIO2_LO, r);
    let r2 = r * r;

    // cos(r) on [-π/4, π/4].
    let mut c = f32::from_bits(0x37cc_730b).mul_add(r2, f32::from_bits(0xbab6_036e));
    c = c.mul_add(r2, f32::from_bits(0x3d2a_aa9e)); // 0x1.55553cp-5
    c = c.mul_add(r2, -0.5);
    c = c.mul_add(r2, 1.0);
    // sin(r) on [-π/4, π/4].
    let mut s = f32::from_bits(0x363e_9dde).mul_add(r2, f32::from_bits(0xb950_35dd));
    s = s.mul_add(r2, f32::from_bits(0x3c08_88cd));
    s = s.mul_add(r2, f32::from_bits(0xbe2a_aaab));
    s *= r2;
    s = s.mul_add(r, r);

    let mut iq = quadrant as i32;
    if cosine {
        iq = iq.wrapping_add(1);
    }
    let v = if iq & 1 == 0 { s } else { c };
    if iq & 2 != 0 {
        -v
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> f32 {
        // Parses "±0x1.hhhhhhp±e" into an f32 (only the forms used below).
        let (sign, rest) = match s.strip_prefix('-') {
            Some(r) => (-1.0f64, r),
            None => (1.0f64, s),
        };
        let rest = rest.strip_prefix("0x1.").unwrap();
        let (mant, exp) = rest.split_once('p').unwrap();
        let m = u64::from_str_radix(mant, 16).unwrap() as f64 / 16f64.powi(mant.len() as i32);
        let e: i32 = exp.parse().unwrap();
        (sign * (1.0 + m) * 2f64.powi(e)) as f32
    }

    #[test]
    fn polynomial_constants_match_their_hex_values() {
        assert_eq!(f32::from_bits(0x3f22_f983), hex("0x1.45f306p-1"));
        assert_eq!(f32::from_bits(0xbfc9_0fd8), hex("-0x1.921fb0p+0"));
        assert_eq!(f32::from_bits(0xb4a8_885a), hex("-0x1.5110b4p-22"));
        assert_eq!(f32::from_bits(0xa7c2_34c4), hex("-0x1.846988p-48"));
        assert_eq!(f32::from_bits(0x37cc_730b), hex("0x1.98e616p-16"));
        assert_eq!(f32::from_bits(0xbab6_036e), hex("-0x1.6c06dcp-10"));
        assert_eq!(f32::from_bits(0x3d2a_aa9e), hex("0x1.55553cp-5"));
        assert_eq!(f32::from_bits(0x363e_9dde), hex("0x1.7d3bbcp-19"));
        assert_eq!(f32::from_bits(0xb950_35dd), hex("-0x1.a06bbap-13"));
        assert_eq!(f32::from_bits(0x3c08_88cd), hex("0x1.11119ap-7"));
        assert_eq!(f32::from_bits(0xbe2a_aaab), hex("-0x1.555556p-3"));
    }

    #[test]
    fn spec_test_vector() {
        // Pipeline spec §3.2 reference values.
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
    fn sincos_close_to_f64() {
        // The float32 polynomial is accurate to about 1 ulp (numpy documents < 1.5 ulp).
        for i in 0..100_000 {
            let x = i as f32 * 1e-4 - 3.0;
            let s = numpy_sin_f32(x) as f64;
            let c = numpy_cos_f32(x) as f64;
            let (es, ec) = ((x as f64).sin(), (x as f64).cos());
            assert!((s - es).abs() <= 1.5 * f32::EPSILON as f64 * es.abs().max(1e-30) + 1e-45);
            assert!((c - ec).abs() <= 1.5 * f32::EPSILON as f64 * ec.abs().max(1e-30) + 1e-45);
        }
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
