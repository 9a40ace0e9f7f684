//! Physical bounds of the input variables: wide enough to accept any real weather, narrow
//! enough to catch wrong units, wrong variables and fill values. The per-variable bounds are in
//! the variables table ([`crate::variables`]); geopotential's depend on the level.

/// Standard gravity (m/s²), converting heights to geopotential.
const G0: f64 = 9.80665;

/// Height (m) of pressure level `hpa` in the International Standard Atmosphere: the
/// troposphere's lapse-rate formula below 226.32 hPa (11 km), an isothermal layer above.
fn standard_height(hpa: f64) -> f64 {
    if hpa >= 226.32 {
        44_330.8 * (1.0 - (hpa / 1013.25).powf(0.190_263))
    } else {
        11_000.0 + 6_341.6 * (226.32 / hpa).ln()
    }
}

/// Bounds (m²/s²) of `geopotential` at pressure level `hpa`: the standard-atmosphere height
/// ±25 % ± 8000 m²/s², times g. Real weather stays well inside (at 500 hPa: 47,000-59,000
/// within 33,000-76,000); heights given in metres instead of geopotential fall far below the
/// bounds of every level above ~850 hPa.
pub(super) fn geopotential_range(hpa: i32) -> (f64, f64) {
    let h = standard_height(f64::from(hpa.max(1)));
    (
        (G0 * 0.75 * h - 8000.0).round(),
        (G0 * 1.25 * h + 8000.0).round(),
    )
}

/// The highest global surface geopotential (m²/s²) below which the field is taken to be in
/// metres: every global grid, even at 10°, has points on the Tibetan Plateau (about 4500 m,
/// 44,000 m²/s²), while heights in metres stay below Everest's 8849.
pub(super) const SURFACE_GEOPOTENTIAL_MIN_PEAK: f64 = 10_000.0;
