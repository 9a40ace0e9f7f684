//! Forecaster units for maps (hPa, °C, dam, mm, g/kg), from the table `display_units.csv`, and
//! the units a threshold may be written in, from `unit_spellings.csv`.

use std::sync::OnceLock;

use anyhow::{anyhow, bail};

/// How one variable is shown.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Display {
    /// Variable name.
    pub variable: &'static str,
    /// Units of the files (CF spelling).
    pub native: &'static str,
    /// Units on the map.
    pub units: &'static str,
    /// display = (native − offset) / divisor.
    pub divisor: f64,
    /// See `divisor`.
    pub offset: f64,
    /// Displayed values below this are shown as it.
    pub min: Option<f64>,
    /// Default spacing of contour lines, in display units.
    pub contour_interval: Option<f64>,
    /// Name of the quantity shown in display units, when it differs (geopotential height).
    pub name: Option<&'static str>,
}

impl Display {
    /// The displayed value of a native value (NaN stays NaN).
    pub(super) fn to_display(&self, v: f32) -> f32 {
        let d = (f64::from(v) - self.offset) / self.divisor;
        match self.min {
            Some(m) if d < m => m as f32,
            _ => d as f32,
        }
    }

    /// A native difference or spread in display units: scaled, never offset (a spread of 1 K
    /// is one of 1 °C) nor clamped.
    pub(super) fn scale_to_display(&self, v: f32) -> f32 {
        (f64::from(v) / self.divisor) as f32
    }

    /// The native value of a displayed value (no clamping).
    pub(super) fn to_native(&self, d: f64) -> f64 {
        d * self.divisor + self.offset
    }
}

/// Parses the table (panics only on a malformed compiled-in table, caught by the tests).
fn table() -> &'static [Display] {
    static T: OnceLock<Vec<Display>> = OnceLock::new();
    T.get_or_init(|| {
        include_str!("display_units.csv")
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let f: Vec<&'static str> = l.split(',').collect();
                let num = |s: &str| s.parse::<f64>().expect("number in display_units.csv");
                Display {
                    variable: f[0],
                    native: f[1],
                    units: f[2],
                    divisor: num(f[3]),
                    offset: num(f[4]),
                    min: (!f[5].is_empty()).then(|| num(f[5])),
                    contour_interval: (!f[6].is_empty()).then(|| num(f[6])),
                    name: f.get(7).filter(|n| !n.is_empty()).copied(),
                }
            })
            .collect()
    })
}

/// Which units maps use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum UnitsMode {
    /// hPa, °C, dam, mm, g/kg (from the display table); other variables as in the file.
    #[default]
    Forecaster,
    /// The file's units.
    Native,
}

/// The conversion applied to one variable's values on a map.
#[derive(Clone, Debug)]
pub(super) struct Shown {
    /// Units on the map.
    pub units: String,
    /// The conversion, when there is one.
    pub display: Option<&'static Display>,
    /// The default contour spacing in the units shown, when the table has one that applies.
    pub contour_interval: Option<f64>,
}

impl Shown {
    /// The conversion of `variable`, whose file units are `native`: the table's, when `mode`
    /// asks for forecaster units and the file's units are those the table converts from.
    pub(super) fn new(variable: &str, native: &str, mode: UnitsMode) -> Shown {
        let known = display_of(variable).filter(|d| canonical(native) == Some(d.native));
        let display = known.filter(|_| mode == UnitsMode::Forecaster);
        let contour_interval = known.and_then(|d| {
            let iv = d.contour_interval?;
            Some(if display.is_some() {
                iv
            } else {
                iv * d.divisor
            })
        });
        Shown {
            units: display.map_or_else(|| native.to_string(), |d| d.units.to_string()),
            display,
            contour_interval,
        }
    }

    /// The displayed values of native differences or spreads: scaled only (see
    /// [`Display::scale_to_display`]).
    pub(super) fn apply_scale(&self, field: &[f32]) -> Vec<f32> {
        match self.display {
            Some(d) => field.iter().map(|&v| d.scale_to_display(v)).collect(),
            None => field.to_vec(),
        }
    }

    /// The displayed values of native values.
    pub(super) fn apply(&self, field: &[f32]) -> Vec<f32> {
        match self.display {
            Some(d) => field.iter().map(|&v| d.to_display(v)).collect(),
            None => field.to_vec(),
        }
    }
}

/// How `variable` is shown, if the table converts it.
pub(super) fn display_of(variable: &str) -> Option<&'static Display> {
    table().iter().find(|d| d.variable == variable)
}

/// The units a spelling means (`m/s` → `m s-1`), if known.
pub(super) fn canonical(spelling: &str) -> Option<&'static str> {
    static T: OnceLock<Vec<(&'static str, &'static str)>> = OnceLock::new();
    T.get_or_init(|| {
        include_str!("unit_spellings.csv")
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once(','))
            .collect()
    })
    .iter()
    .find(|(s, _)| *s == spelling.trim())
    .map(|&(_, u)| u)
}

/// A value of `variable` written in `units` (any spelling; `None`: already native), in the
/// file's units `native`.
pub(super) fn threshold_to_native(
    variable: &str,
    value: f64,
    units: Option<&str>,
    native: &str,
) -> anyhow::Result<f64> {
    let Some(spelled) = units else {
        return Ok(value);
    };
    let display = display_of(variable).filter(|d| canonical(native) == Some(d.native));
    let accepted = || {
        let mut a = vec![native.to_string()];
        a.extend(display.map(|d| d.units.to_string()));
        a.join(" or ")
    };
    let u = canonical(spelled).ok_or_else(|| {
        anyhow!(
            "unknown units `{spelled}` for `{variable}`; use {}",
            accepted()
        )
    })?;
    if canonical(native) == Some(u) {
        Ok(value)
    } else if let Some(d) = display.filter(|d| d.units == u) {
        Ok(d.to_native(value))
    } else {
        bail!(
            "`{variable}` is in {native}: a threshold in {u} does not apply; use {}",
            accepted()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_match_hand_computed_values() {
        let t = display_of("2m_temperature").unwrap();
        assert_eq!(t.units, "°C");
        // 293.15 K is 20 °C; f32 rounding of 293.15 leaves < 1e-5 K.
        assert!((t.to_display(293.15) - 20.0).abs() < 1e-5);
        let p = display_of("mean_sea_level_pressure").unwrap();
        assert_eq!(p.to_display(101_325.0), 1013.25);
        // Z500 of 5500 gpm: 5500 × 9.80665 m² s⁻² is 550 dam (f32 rounding: < 1e-4 dam).
        let z = display_of("geopotential").unwrap();
        assert!((z.to_display(5500.0 * 9.80665) - 550.0).abs() < 1e-4);
        let r = display_of("total_precipitation_12hr").unwrap();
        // 0.0123 m is 12.3 mm (f32 rounding of 0.0123: < 1e-5 mm); negatives show as 0.
        assert!((r.to_display(0.0123) - 12.3).abs() < 1e-5);
        assert_eq!(r.to_display(-0.002), 0.0);
        assert!(r.to_display(f32::NAN).is_nan());
        assert!(display_of("10m_u_component_of_wind").is_none());
        // Spreads and differences scale only: 2.5 K is 2.5 °C, 250 Pa is 2.5 hPa, and a
        // negative precipitation difference stays negative.
        let t2 = Shown::new("2m_temperature", "K", UnitsMode::Forecaster);
        assert_eq!(t2.apply_scale(&[2.5, -1.0]), [2.5, -1.0]);
        assert_eq!(shown_msl().apply_scale(&[250.0]), [2.5]);
        let rain = Shown::new("total_precipitation_12hr", "m", UnitsMode::Forecaster);
        assert!((rain.apply_scale(&[-0.002])[0] + 2.0).abs() < 1e-6);
        assert_eq!(z.name, Some("geopotential height"));
        // Native mode and files in other units keep the values.
        let native = Shown::new("mean_sea_level_pressure", "Pa", UnitsMode::Native);
        assert_eq!(
            (native.units.as_str(), native.apply(&[101_325.0])[0]),
            ("Pa", 101_325.0)
        );
        assert_eq!(native.contour_interval, Some(400.0));
        let hpa = Shown::new("mean_sea_level_pressure", "hPa", UnitsMode::Forecaster);
        assert_eq!(
            (hpa.units.as_str(), hpa.apply(&[1000.0])[0]),
            ("hPa", 1000.0)
        );
        assert_eq!(hpa.contour_interval, None);
        let shown = Shown::new("mean_sea_level_pressure", "Pa", UnitsMode::Forecaster);
        assert_eq!(shown.units, "hPa");
        assert_eq!(shown.contour_interval, Some(4.0));
        // Every row's native units are those of the CF table of GenCast's variables.
        for d in table() {
            if let Some(cf) = gencast::variables::lookup(d.variable) {
                assert_eq!(cf.units, d.native, "{d:?}");
            }
            assert!(d.divisor > 0.0, "{d:?}");
        }
    }

    fn shown_msl() -> Shown {
        Shown::new("mean_sea_level_pressure", "Pa", UnitsMode::Forecaster)
    }

    #[test]
    fn thresholds_convert_to_the_files_units() {
        let f = |v, val, u, n: &str| threshold_to_native(v, val, u, n);
        assert_eq!(
            f("total_precipitation_12hr", 10.0, Some("mm"), "m").unwrap(),
            0.01
        );
        assert_eq!(
            f("total_precipitation_12hr", 0.01, Some("m"), "m").unwrap(),
            0.01
        );
        assert_eq!(
            f("mean_sea_level_pressure", 1000.0, Some("hPa"), "Pa").unwrap(),
            100_000.0
        );
        assert_eq!(f("2m_temperature", 0.0, Some("degC"), "K").unwrap(), 273.15);
        assert_eq!(f("2m_temperature", 300.0, Some("K"), "K").unwrap(), 300.0);
        assert_eq!(
            f("10m_u_component_of_wind", 15.0, Some("m/s"), "m s-1").unwrap(),
            15.0
        );
        assert_eq!(f("2m_temperature", 7.0, None, "K").unwrap(), 7.0);
        let e = f("2m_temperature", 1.0, Some("hPa"), "K")
            .unwrap_err()
            .to_string();
        assert!(e.contains("K or °C"), "{e}");
        let e = f("2m_temperature", 1.0, Some("furlong"), "K")
            .unwrap_err()
            .to_string();
        assert!(e.contains("furlong"), "{e}");
    }
}
