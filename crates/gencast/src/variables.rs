//! The variables the library knows, from one table (`variables.tsv` next to this module): the
//! reference's names, their kind (pressure-levelled, surface, static, forcing, or computed from
//! the valid times), CF metadata (units, standard name, long name) and the physical bounds the
//! input checks apply. Every other module asks here instead of keeping its own list.

use std::sync::OnceLock;

/// What kind of field a variable is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Time-dependent, with a pressure-level dimension (the reference's `ALL_ATMOSPHERIC_VARS`).
    Atmospheric,
    /// Time-dependent, without levels.
    Surface,
    /// Without a time dimension (the reference's `STATIC_VARS`).
    Static,
    /// Known at the target time, read from the dataset or computed from its times.
    Forcing,
    /// Computed from the valid times (year and day progress and their sine and cosine).
    Progress,
}

impl Kind {
    fn parse(text: &str) -> Option<Kind> {
        Some(match text {
            "atmospheric" => Kind::Atmospheric,
            "surface" => Kind::Surface,
            "static" => Kind::Static,
            "forcing" => Kind::Forcing,
            "progress" => Kind::Progress,
            _ => return None,
        })
    }
}

/// Physical bounds of a variable's values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    /// Smallest plausible value, in the variable's units.
    pub min: f64,
    /// Largest plausible value.
    pub max: f64,
    /// Why these bounds.
    pub note: &'static str,
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Variable {
    /// The variable's name in the reference's files (e.g. `2m_temperature`).
    pub name: &'static str,
    /// Its kind.
    pub kind: Kind,
    /// CF/UDUNITS units (e.g. `m s-1`).
    pub units: &'static str,
    /// CF standard name, when the CF table has one.
    pub standard_name: Option<&'static str>,
    /// Human-readable name.
    pub long_name: &'static str,
    /// Bounds checked on inputs, when the variable has a range check.
    pub bounds: Option<Bounds>,
}

/// The table's text, compiled into the library.
const TABLE: &str = include_str!("variables.tsv");

/// One data row, or why it is malformed.
fn parse_row(line: &'static str) -> Result<Variable, String> {
    let f: Vec<&'static str> = line.split('\t').collect();
    if f.len() != 8 {
        return Err(format!("{} fields, expected 8", f.len()));
    }
    let opt = |s: &'static str| (!s.is_empty()).then_some(s);
    let kind = Kind::parse(f[1]).ok_or_else(|| format!("unknown kind `{}`", f[1]))?;
    let bounds = match (opt(f[5]), opt(f[6])) {
        (None, None) => None,
        (Some(lo), Some(hi)) => Some(Bounds {
            min: lo.parse().map_err(|_| format!("min `{lo}`"))?,
            max: hi.parse().map_err(|_| format!("max `{hi}`"))?,
            note: f[7],
        }),
        _ => return Err("min and max go together".into()),
    };
    Ok(Variable {
        name: f[0],
        kind,
        units: f[2],
        standard_name: opt(f[3]),
        long_name: f[4],
        bounds,
    })
}

/// Every variable of the table, in table order.
pub fn all() -> &'static [Variable] {
    static PARSED: OnceLock<Vec<Variable>> = OnceLock::new();
    PARSED.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .skip(1) // the header
            .map(|l| {
                // The table is part of the build and checked by the tests below.
                parse_row(l).unwrap_or_else(|e| panic!("variables.tsv row `{l}`: {e}"))
            })
            .collect()
    })
}

/// The row of `name`, when the library knows the variable.
pub fn lookup(name: &str) -> Option<&'static Variable> {
    all().iter().find(|v| v.name == name)
}

/// Whether `name` has a pressure-level dimension.
pub fn is_atmospheric(name: &str) -> bool {
    lookup(name).is_some_and(|v| v.kind == Kind::Atmospheric)
}

/// Whether `name` is static (no time dimension).
pub fn is_static(name: &str) -> bool {
    lookup(name).is_some_and(|v| v.kind == Kind::Static)
}

/// Whether `name` is computed from the valid times rather than read.
pub fn is_progress(name: &str) -> bool {
    lookup(name).is_some_and(|v| v.kind == Kind::Progress)
}

/// The names of one kind, in table order.
pub fn of_kind(kind: Kind) -> impl Iterator<Item = &'static str> {
    all().iter().filter(move |v| v.kind == kind).map(|v| v.name)
}

/// The bounds `(min, max)` of a variable, if it has a range check.
pub fn physical_range(name: &str) -> Option<(f64, f64)> {
    lookup(name).and_then(|v| v.bounds).map(|b| (b.min, b.max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_complete_and_well_formed() {
        let t = all();
        let names: std::collections::HashSet<_> = t.iter().map(|v| v.name).collect();
        assert_eq!(names.len(), t.len(), "each variable appears once");
        for v in t {
            assert!(!v.units.is_empty() && !v.long_name.is_empty(), "{v:?}");
            if let Some(b) = v.bounds {
                assert!(b.min < b.max && !b.note.is_empty(), "{v:?}");
            }
        }
        // The reference's lists: 16 atmospheric variables, 2 statics.
        assert_eq!(of_kind(Kind::Atmospheric).count(), 16);
        assert_eq!(
            of_kind(Kind::Static).collect::<Vec<_>>(),
            ["geopotential_at_surface", "land_sea_mask"]
        );
        let p = lookup("mean_sea_level_pressure").unwrap();
        assert_eq!(
            (p.kind, p.units, p.standard_name),
            (Kind::Surface, "Pa", Some("air_pressure_at_mean_sea_level"))
        );
        assert!(is_atmospheric("geopotential") && !is_atmospheric("2m_temperature"));
        assert!(is_static("land_sea_mask") && !is_static("temperature"));
        assert!(is_progress("day_progress_cos") && !is_progress("toa_incident_solar_radiation"));
        assert_eq!(physical_range("land_sea_mask"), Some((0.0, 1.0)));
        assert_eq!(physical_range("year_progress_sin"), None);
        assert!(lookup("no_such_variable").is_none());
    }

    #[test]
    fn malformed_rows_are_named() {
        assert!(parse_row("a\tsurface\tK\t\tA")
            .unwrap_err()
            .contains("5 fields"));
        assert!(parse_row("a\tweird\tK\t\tA\t\t\t")
            .unwrap_err()
            .contains("unknown kind `weird`"));
        assert!(parse_row("a\tsurface\tK\t\tA\t1\t\t")
            .unwrap_err()
            .contains("together"));
        assert!(parse_row("a\tsurface\tK\t\tA\tx\t2\tn")
            .unwrap_err()
            .contains("min `x`"));
    }
}
