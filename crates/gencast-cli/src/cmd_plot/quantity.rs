//! How maps name and colour each quantity, from the table `quantities.csv`: the title's name of
//! a variable (falling back to the long names of the library's variables table) and its
//! default colour map.

use std::sync::OnceLock;

use super::colormap::Colormap;
use super::units::Shown;

/// A kind of map that is not one variable's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MapKind {
    /// Ensemble standard deviation.
    Spread,
    /// Forecast minus truth.
    Difference,
    /// Percentage of members.
    Probability,
}

impl MapKind {
    /// Its key in the table.
    fn key(self) -> &'static str {
        match self {
            MapKind::Spread => "@spread",
            MapKind::Difference => "@difference",
            MapKind::Probability => "@probability",
        }
    }
}

/// One row of the table: key, name, colour map.
type Row = (&'static str, &'static str, Colormap);

/// Parses the table (panics only on a malformed compiled-in table, caught by the tests).
fn table() -> &'static [Row] {
    static T: OnceLock<Vec<Row>> = OnceLock::new();
    T.get_or_init(|| {
        include_str!("quantities.csv")
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let f: Vec<&'static str> = l.split(',').collect();
                let map = Colormap::named(f[2]).expect("colour map name in quantities.csv");
                (f[0], f[1], map)
            })
            .collect()
    })
}

/// The default colour map of variable `var`'s values (viridis when the table has no row).
pub(super) fn colormap_of(var: &str) -> Colormap {
    table()
        .iter()
        .find(|r| r.0 == var)
        .map_or(Colormap::Viridis, |r| r.2)
}

/// The default colour map of a kind of map.
pub(super) fn colormap_of_kind(kind: MapKind) -> Colormap {
    colormap_of(kind.key())
}

/// The name of `var` in titles, for values shown as `shown`: the display table's name of the
/// converted quantity (geopotential height), else this table's, else the variables table's
/// long name, else the variable's own name.
pub(super) fn name_of(var: &str, shown: &Shown) -> String {
    if let Some(n) = shown.display.and_then(|d| d.name) {
        return n.to_string();
    }
    if let Some(r) = table().iter().find(|r| r.0 == var && !r.1.is_empty()) {
        return r.1.to_string();
    }
    gencast::variables::lookup(var).map_or_else(|| var.to_string(), |i| i.long_name.to_string())
}

/// `P` as an ordinal: 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 2.5th.
pub(super) fn ordinal(p: f64) -> String {
    let text = format!("{p}");
    if p.fract() != 0.0 {
        return format!("{text}th");
    }
    let n = p.abs() as u64;
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{text}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::super::units::UnitsMode;
    use super::*;

    #[test]
    fn names_colour_maps_and_ordinals() {
        let f = UnitsMode::Forecaster;
        let z = Shown::new("geopotential", "m2 s-2", f);
        assert_eq!(name_of("geopotential", &z), "geopotential height");
        let native = Shown::new("geopotential", "m2 s-2", UnitsMode::Native);
        assert_eq!(name_of("geopotential", &native), "geopotential");
        let t = Shown::new("2m_temperature", "K", f);
        assert_eq!(name_of("2m_temperature", &t), "2 m temperature");
        let q = Shown::new("specific_humidity", "kg kg-1", f);
        assert_eq!(name_of("specific_humidity", &q), "specific humidity");
        assert_eq!(
            name_of("my_field", &Shown::new("my_field", "1", f)),
            "my_field"
        );
        assert_eq!(colormap_of("total_precipitation_12hr"), Colormap::Blues);
        assert_eq!(colormap_of("temperature"), Colormap::Rdylbu);
        assert_eq!(colormap_of("v_component_of_wind"), Colormap::Diverging);
        assert_eq!(colormap_of("my_field"), Colormap::Viridis);
        assert_eq!(colormap_of_kind(MapKind::Difference), Colormap::Diverging);
        assert_eq!(colormap_of_kind(MapKind::Spread), Colormap::Viridis);
        assert_eq!(colormap_of_kind(MapKind::Probability), Colormap::Viridis);
        let got: Vec<String> = [1.0, 2.0, 3.0, 4.0, 11.0, 12.0, 13.0, 21.0, 50.0, 2.5]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            got,
            ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "50th", "2.5th"]
        );
        // Every variable row names a variable of the library's table or a map kind.
        for r in table() {
            assert!(
                r.0.starts_with('@') || gencast::variables::lookup(r.0).is_some(),
                "{r:?}"
            );
        }
    }
}
