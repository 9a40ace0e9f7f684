//! The GRIB2 parameter codes of the forecast variables, read from `params.tsv`.

use crate::{Error, Result};

/// The table, one row per variable the GRIB2 writer can encode.
const TABLE: &str = include_str!("params.tsv");

/// How one forecast variable is encoded in GRIB2.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// The reference's variable name (e.g. `2m_temperature`).
    pub name: String,
    /// The `shortName` ecCodes gives the encoded field (e.g. `2t`).
    pub short_name: String,
    /// WMO discipline (code table 0.0).
    pub discipline: u8,
    /// Parameter category (code table 4.1).
    pub category: u8,
    /// Parameter number (code table 4.2).
    pub number: u8,
    /// Type of the first fixed surface (code table 4.5); 100 is isobaric (level in Pa).
    pub surface: u8,
    /// The surface's value (metres above ground for type 103), when it has one.
    pub surface_value: Option<u32>,
    /// The accumulation period in hours of a statistically processed field.
    pub accumulation_hours: Option<u32>,
    /// GRIB units per unit of the forecast variable.
    pub units_factor: f64,
    /// The units of the encoded values.
    pub grib_units: String,
}

impl Param {
    /// Whether the field is on pressure levels.
    pub fn isobaric(&self) -> bool {
        self.surface == ISOBARIC
    }

    /// Whether values are stored as IEEE float64: those scaled by a units factor, so that the
    /// float32 forecast value is recovered exactly (`x · f` and `x · f / f` are exact in f64).
    pub fn float64(&self) -> bool {
        self.units_factor != 1.0
    }
}

/// Code table 4.5: isobaric surface.
pub const ISOBARIC: u8 = 100;

/// Every row of the table.
pub fn all() -> Vec<Param> {
    TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .map(|l| parse_row(l).unwrap_or_else(|e| panic!("params.tsv: {e}")))
        .collect()
}

/// The encoding of variable `name`, or an error naming it.
pub fn lookup(name: &str) -> Result<Param> {
    all().into_iter().find(|p| p.name == name).ok_or_else(|| {
        Error::Invalid(format!(
            "variable `{name}` has no GRIB2 parameter code in this writer's table; leave it out \
             with --variables, or write NetCDF or Zarr"
        ))
    })
}

fn parse_row(line: &str) -> std::result::Result<Param, String> {
    let c: Vec<&str> = line.split('\t').collect();
    if c.len() != 10 {
        return Err(format!("`{line}`: {} columns, expected 10", c.len()));
    }
    let opt = |s: &str| -> std::result::Result<Option<u32>, String> {
        match s {
            "-" => Ok(None),
            v => v.parse().map(Some).map_err(|e| format!("`{v}`: {e}")),
        }
    };
    let byte = |s: &str| s.parse::<u8>().map_err(|e| format!("`{s}`: {e}"));
    Ok(Param {
        name: c[0].into(),
        short_name: c[1].into(),
        discipline: byte(c[2])?,
        category: byte(c[3])?,
        number: byte(c[4])?,
        surface: byte(c[5])?,
        surface_value: opt(c[6])?,
        accumulation_hours: opt(c[7])?,
        units_factor: c[8].parse().map_err(|e| format!("`{}`: {e}", c[8]))?,
        grib_units: c[9].into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_predicted_variable_of_the_variables_table_has_a_code() {
        // Every surface and atmospheric row of the variables table can be a model output.
        let table = all();
        for v in crate::variables::all() {
            if matches!(
                v.kind,
                crate::variables::Kind::Surface | crate::variables::Kind::Atmospheric
            ) {
                let p = lookup(v.name).unwrap();
                assert_eq!(p.isobaric(), v.kind == crate::variables::Kind::Atmospheric);
                // Unscaled fields keep the variable's units.
                if !p.float64() {
                    assert_eq!(p.grib_units, v.units, "{}", v.name);
                }
            }
        }
        // Names are unique and every row is a known variable.
        for p in &table {
            assert_eq!(table.iter().filter(|q| q.name == p.name).count(), 1);
            assert!(crate::variables::lookup(&p.name).is_some(), "{}", p.name);
        }
        let tp = lookup("total_precipitation_12hr").unwrap();
        assert_eq!(
            (tp.accumulation_hours, tp.units_factor, tp.float64()),
            (Some(12), 1000.0, true)
        );
        let err = lookup("land_sea_mask").unwrap_err().to_string();
        assert!(err.contains("`land_sea_mask`"), "{err}");
    }
}
