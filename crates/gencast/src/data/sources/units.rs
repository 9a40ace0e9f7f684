//! Units of source fields and their conversion to the model's (the table in `units.tsv`).
//!
//! Every field's values are converted from its `units` (a NetCDF/Zarr `units` attribute, or
//! the parameter's units as ecCodes spells them for GRIB) to the units of the model variable it
//! feeds (`variables.tsv`). Units the table cannot convert are refused, naming the file, the
//! variable, the units found and the units expected. A field without units is taken to be in
//! the model's units: many WeatherBench-2 stores carry none.

use std::sync::OnceLock;

use super::field::Field;
use crate::variables;
use crate::{Error, Result};

const TABLE: &str = include_str!("units.tsv");

/// One row of the table: values in `found` units become `model` units as `x * scale + offset`;
/// `scale` is `None` for spellings refused on purpose (with the row's note as the reason).
#[derive(Debug, Clone, PartialEq)]
struct Rule {
    found: String,
    model: String,
    scale: Option<f64>,
    offset: f64,
    note: &'static str,
}

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let f: Vec<&'static str> = l.split('\t').collect();
                // The table is part of the build and checked by the tests below.
                let num = |s: &str| {
                    s.parse::<f64>()
                        .unwrap_or_else(|_| panic!("units.tsv row `{l}`: `{s}` is not a number"))
                };
                assert!(f.len() >= 4, "units.tsv row `{l}`: expected 4 or 5 columns");
                Rule {
                    found: normalize(f[0]),
                    model: normalize(f[1]),
                    scale: (f[2] != "-").then(|| num(f[2])),
                    offset: if f[3] == "-" { 0.0 } else { num(f[3]) },
                    note: f.get(4).copied().unwrap_or(""),
                }
            })
            .collect()
    })
}

/// A units spelling in the table's form: `**` and `^` removed, spaces collapsed, trimmed.
pub(crate) fn normalize(units: &str) -> String {
    units
        .replace("**", "")
        .replace('^', "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The units of the model variable `model_var` (`variables.tsv`; `m` for the accumulated
/// `total_precipitation` of the sources), if the library knows it.
pub(crate) fn model_units(model_var: &str) -> Option<&'static str> {
    if model_var == "total_precipitation" {
        return Some("m");
    }
    variables::lookup(model_var).map(|v| v.units)
}

/// How values in `found` units become `model` units: `Ok((scale, offset))`, or why not.
pub(crate) fn conversion(found: &str, model: &str) -> std::result::Result<(f64, f64), String> {
    let (found_n, model_n) = (normalize(found), normalize(model));
    if found_n == model_n {
        return Ok((1.0, 0.0));
    }
    match rules()
        .iter()
        .find(|r| r.found == found_n && r.model == model_n)
    {
        Some(Rule {
            scale: Some(scale),
            offset,
            ..
        }) => Ok((*scale, *offset)),
        Some(rule) => Err(rule.note.to_string()),
        None => {
            let known: Vec<&str> = rules()
                .iter()
                .filter(|r| r.model == model_n && r.scale.is_some())
                .map(|r| r.found.as_str())
                .collect();
            Err(format!("known spellings: {}", known.join(", ")))
        }
    }
}

/// Whether `found` units are the model's `model` units in another spelling (no conversion).
pub(crate) fn same_units(found: &str, model: &str) -> bool {
    conversion(found, model) == Ok((1.0, 0.0))
}

/// Converts `field`, which feeds the model variable `model_var`, from its units to the
/// model's, and records the model's units on it. A field without units, or of a variable the
/// library does not know, is left as it is.
pub(crate) fn to_model_units(field: &mut Field, model_var: &str) -> Result<()> {
    let Some(model) = model_units(model_var) else {
        return Ok(());
    };
    let Some(found) = field.units.clone().filter(|u| !u.trim().is_empty()) else {
        field.units = Some(model.to_string());
        return Ok(());
    };
    let (scale, offset) = conversion(&found, model).map_err(|why| Error::Data {
        path: field.path.clone(),
        variable: field.source_name.clone(),
        detail: format!(
            "units `{found}` cannot be converted to `{model}`, the units of `{model_var}` ({why})"
        ),
    })?;
    if (scale, offset) != (1.0, 0.0) {
        for x in &mut field.data {
            *x = (f64::from(*x) * scale + offset) as f32;
        }
    }
    field.units = Some(model.to_string());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_names_model_units_of_the_variable_table() {
        let model: Vec<String> = variables::all()
            .iter()
            .map(|v| normalize(v.units))
            .collect();
        for r in rules() {
            assert!(
                model.contains(&r.model),
                "units.tsv: `{}` is no model unit",
                r.model
            );
        }
    }

    #[test]
    fn spellings_convert_with_their_factors() {
        assert_eq!(conversion("m**2 s**-2", "m2 s-2"), Ok((1.0, 0.0)));
        assert_eq!(conversion("degC", "K"), Ok((1.0, 273.15)));
        assert_eq!(conversion("hPa", "Pa"), Ok((100.0, 0.0)));
        assert_eq!(conversion("kg m**-2", "m"), Ok((0.001, 0.0)));
        assert_eq!(conversion("mm", "m"), Ok((0.001, 0.0)));
        assert_eq!(conversion("gpm", "m2 s-2"), Ok((9.80665, 0.0)));
        assert_eq!(conversion("(0 - 1)", "1"), Ok((1.0, 0.0)));
        assert!(conversion("knots", "m s-1").is_err());
        // Metres are a depth of water for precipitation and a height for geopotential.
        assert_eq!(conversion("m", "m"), Ok((1.0, 0.0)));
        assert_eq!(conversion("m", "m2 s-2"), Ok((9.80665, 0.0)));
        let rate = conversion("kg m**-2 s**-1", "m").unwrap_err();
        assert!(rate.contains("rate"), "{rate}");
    }
}
