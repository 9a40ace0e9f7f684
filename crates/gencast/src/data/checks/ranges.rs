//! Physical bounds of the input variables: wide enough to accept any real weather, narrow
//! enough to catch wrong units, wrong variables and fill values.

/// Physical bounds `(variable, min, max, reason)`. They are deliberately generous: their job is
/// to catch wrong units, wrong variables and fill values (e.g. 9.97e36, -32767), not to judge
/// the weather. Unlisted variables get no range check.
pub const PHYSICAL_RANGES: &[(&str, f64, f64, &str)] = &[
    // Record lows are ~180 K (mesosphere-free stratosphere at 1 hPa ~ 190-280 K), highs ~330 K.
    (
        "temperature",
        150.0,
        350.0,
        "K; atmospheric record lows ~180 K, highs ~330 K",
    ),
    // Surface air: record -89.2 °C (184 K, Vostok) and 56.7 °C (330 K, Death Valley).
    (
        "2m_temperature",
        150.0,
        350.0,
        "K; surface records 184 K (Vostok) to 330 K",
    ),
    // Sea-level pressure records: 870 hPa (Typhoon Tip) and 1084 hPa (Siberian high).
    (
        "mean_sea_level_pressure",
        80000.0,
        110000.0,
        "Pa; records 870 hPa to 1084 hPa",
    ),
    // Saturation at 35 °C near 1000 hPa is ~0.037 kg/kg; small negatives come from ERA5 packing.
    (
        "specific_humidity",
        -1e-4,
        0.1,
        "kg/kg; saturation at 35 °C is ~0.037",
    ),
    // Surface geopotential: Dead Sea shore (-430 m) to Everest (8849 m) times g = 9.81.
    (
        "geopotential_at_surface",
        -5e4,
        1e5,
        "m²/s²; -430 m to 8849 m times g",
    ),
    // A fraction.
    ("land_sea_mask", 0.0, 1.0, "fraction of land"),
    // Jet-stream cores reach ~110 m/s; ±150 m/s still leaves a wide margin.
    (
        "u_component_of_wind",
        -150.0,
        150.0,
        "m/s; jet cores reach ~110 m/s",
    ),
    (
        "v_component_of_wind",
        -150.0,
        150.0,
        "m/s; jet cores reach ~110 m/s",
    ),
    (
        "10m_u_component_of_wind",
        -150.0,
        150.0,
        "m/s; 10 m winds stay far below jet speeds",
    ),
    (
        "10m_v_component_of_wind",
        -150.0,
        150.0,
        "m/s; 10 m winds stay far below jet speeds",
    ),
    // Omega in strong convection is a few Pa/s; ±30 Pa/s catches unit or sign-scale errors.
    (
        "vertical_velocity",
        -30.0,
        30.0,
        "Pa/s; strong convection gives a few Pa/s",
    ),
    // Metres of water per 12 h: the 12 h rainfall record is ~1.14 m (Réunion); small negatives
    // come from ERA5 accumulation differences.
    (
        "total_precipitation_12hr",
        -1e-3,
        1.0,
        "m per 12 h; record ~1.14 m in 12 h",
    ),
    // Sea water freezes near 271 K; the warmest seas reach ~308 K.
    (
        "sea_surface_temperature",
        250.0,
        320.0,
        "K; sea ice edge ~271 K, warmest seas ~308 K",
    ),
    // Geopotential from below sea level at 1000 hPa to the 1 hPa surface (~48 km, ~4.7e5).
    (
        "geopotential",
        -1e4,
        6e5,
        "m²/s²; 1000 hPa below sea level to ~48 km at 1 hPa",
    ),
];

/// The bounds of a variable, if it has a range check.
pub fn physical_range(var: &str) -> Option<(f64, f64)> {
    PHYSICAL_RANGES
        .iter()
        .find(|r| r.0 == var)
        .map(|r| (r.1, r.2))
}

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
pub fn geopotential_range(hpa: i32) -> (f64, f64) {
    let h = standard_height(f64::from(hpa.max(1)));
    (
        (G0 * 0.75 * h - 8000.0).round(),
        (G0 * 1.25 * h + 8000.0).round(),
    )
}

/// The highest global surface geopotential (m²/s²) below which the field is taken to be in
/// metres: every global grid, even at 10°, has points on the Tibetan Plateau (about 4500 m,
/// 44,000 m²/s²), while heights in metres stay below Everest's 8849.
pub const SURFACE_GEOPOTENTIAL_MIN_PEAK: f64 = 10_000.0;
