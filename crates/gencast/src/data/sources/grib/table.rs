//! The GRIB product table (`grib.tsv`): which product definition is which shortName, in which
//! units.

use std::sync::OnceLock;

use super::identity::{Identity, Product};

const TABLE: &str = include_str!("../grib.tsv");

/// GRIB2 code table 4.10 numbers of the statistics the table names.
pub(super) const AVERAGE: u8 = 0;
/// Accumulation (code table 4.10).
pub(super) const ACCUMULATION: u8 = 1;
/// Maximum (code table 4.10).
pub(super) const MAXIMUM: u8 = 2;
/// Minimum (code table 4.10).
pub(super) const MINIMUM: u8 = 3;

/// What a row asks of a message's time processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Statistic {
    /// A value at one time.
    Instant,
    /// A statistic (code table 4.10) over an interval, of a given length in hours if set.
    Over(u8, Option<i64>),
    /// Anything.
    Any,
}

/// One row of `grib.tsv`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Row {
    pub edition: u8,
    pub centre: Option<u16>,
    pub discipline: u16,
    pub category: Option<u8>,
    pub number: u16,
    pub statistic: Statistic,
    pub level_type: Option<String>,
    pub level: Option<f64>,
    /// The shortName, as ecCodes gives it.
    pub short_name: String,
    /// The units, as ecCodes spells them.
    pub units: String,
}

fn parse_statistic(s: &str) -> Option<Statistic> {
    match s {
        "-" => return Some(Statistic::Instant),
        "*" => return Some(Statistic::Any),
        _ => {}
    }
    let digits = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
    let kind = match &s[..digits] {
        "accum" => ACCUMULATION,
        "avg" => AVERAGE,
        "max" => MAXIMUM,
        "min" => MINIMUM,
        _ => return None,
    };
    let hours = match &s[digits..] {
        "" => None,
        h => Some(h.parse().ok()?),
    };
    Some(Statistic::Over(kind, hours))
}

pub(super) fn parse_table(text: &str) -> std::result::Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let c: Vec<&str> = line.split('\t').map(str::trim).collect();
        let bad = |what: &str| format!("grib.tsv line {}: {what}: `{line}`", n + 1);
        if c.len() != 10 {
            return Err(bad("expected 10 tab-separated columns"));
        }
        let any = |s: &str| (s != "*").then(|| s.to_string());
        rows.push(Row {
            edition: c[0].parse().map_err(|_| bad("edition"))?,
            centre: match c[1] {
                "*" => None,
                s => Some(s.parse().map_err(|_| bad("centre"))?),
            },
            discipline: c[2].parse().map_err(|_| bad("discipline"))?,
            category: match c[3] {
                "-" => None,
                s => Some(s.parse().map_err(|_| bad("category"))?),
            },
            number: c[4].parse().map_err(|_| bad("number"))?,
            statistic: parse_statistic(c[5]).ok_or_else(|| bad("statistic"))?,
            level_type: any(c[6]),
            level: match c[7] {
                "*" => None,
                s => Some(s.parse().map_err(|_| bad("level"))?),
            },
            short_name: c[8].to_string(),
            units: c[9].to_string(),
        });
    }
    Ok(rows)
}

fn table() -> &'static [Row] {
    static ROWS: OnceLock<Vec<Row>> = OnceLock::new();
    // The table is compiled in and checked by a unit test; a bad row is a build defect.
    ROWS.get_or_init(|| parse_table(TABLE).expect("grib.tsv is well formed"))
}

impl Row {
    /// Whether the row is about the message's parameter and level (whatever its processing).
    fn names_parameter(&self, id: &Identity) -> bool {
        self.edition == id.edition
            && self.centre.is_none_or(|c| c == id.centre)
            && self.discipline == id.discipline
            && self.category == id.category
            && self.number == id.number
            && self.level_type.as_ref().is_none_or(|t| *t == id.level_type)
            && self.level.is_none_or(|l| id.level == Some(l))
    }

    /// Whether the row's statistic is the time processing `product`.
    fn fits(&self, edition: u8, product: &Product) -> bool {
        match (self.statistic, product) {
            (Statistic::Any, _) | (Statistic::Instant, Product::Instant) => true,
            // GRIB1 (ECMWF) accumulations are told by their parameter, and carry the forecast
            // step as a time range 0, 1 or 10.
            (Statistic::Over(ACCUMULATION, None), Product::Instant) => edition == 1,
            (Statistic::Over(kind, hours), Product::Statistic { kind: k, hours: h }) => {
                kind == *k && hours.is_none_or(|x| Some(x) == *h)
            }
            _ => false,
        }
    }
}

/// The row of exactly this product: parameter, level and time processing.
pub(super) fn lookup(id: &Identity) -> Option<&'static Row> {
    table()
        .iter()
        .find(|r| r.names_parameter(id) && r.fits(id.edition, &id.product))
}

/// The row of this parameter and level processed as `product` (an ensemble product's
/// underlying statistic), else of this parameter and level in any processing: a name for a
/// message that is skipped.
pub(super) fn name_of(id: &Identity, product: &Product) -> Option<&'static Row> {
    table()
        .iter()
        .find(|r| r.names_parameter(id) && r.fits(id.edition, product))
        .or_else(|| table().iter().find(|r| r.names_parameter(id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::sources::tables::name_rule;

    #[test]
    fn every_table_row_is_well_formed() {
        let rows = parse_table(TABLE).unwrap();
        assert!(rows.len() > 30);
        for r in &rows {
            assert!(r.edition == 1 || r.edition == 2, "{r:?}");
            assert_eq!(r.category.is_none(), r.edition == 1, "{r:?}");
            assert!(!r.units.is_empty(), "{r:?}");
        }
        // The model's variables are all there.
        for short in [
            "2t", "10u", "10v", "msl", "sst", "z", "lsm", "t", "gh", "u", "v", "w",
        ] {
            assert!(
                rows.iter().any(|r| r.short_name == short),
                "no row for `{short}`"
            );
            assert_ne!(name_rule(short).model, short);
        }
        assert!(parse_table("2\t*\t0\t0\t0\t-\tsurface\t*\t2t").is_err());
        assert!(parse_table("2\t*\t0\t0\t0\tsum\tsurface\t*\t2t\tK").is_err());
    }

    fn id(centre: u16, code: (u16, u8, u16), level: (&str, f64), product: Product) -> Identity {
        Identity {
            edition: 2,
            centre,
            discipline: code.0,
            category: Some(code.1),
            number: code.2,
            level_type: level.0.into(),
            level: Some(level.1),
            product,
            member: None,
        }
    }

    fn over(kind: u8, hours: i64) -> Product {
        Product::Statistic {
            kind,
            hours: Some(hours),
        }
    }

    #[test]
    fn products_are_told_apart_by_centre_statistic_and_level() {
        let short = |i: &Identity| lookup(i).map(|r| r.short_name.as_str());
        let sfc = ("surface", 0.0);
        let t2 = ("heightAboveGround", 2.0);
        assert_eq!(
            short(&id(98, (0, 1, 193), sfc, over(ACCUMULATION, 6))),
            Some("tp")
        );
        assert_eq!(
            short(&id(98, (0, 1, 193), sfc, over(AVERAGE, 6))),
            Some("tprate")
        );
        // The same local code at NCEP is categorical freezing rain, whatever its processing.
        assert_eq!(
            short(&id(7, (0, 1, 193), sfc, Product::Instant)),
            Some("cfrzr")
        );
        assert_eq!(
            short(&id(7, (0, 1, 193), sfc, over(ACCUMULATION, 6))),
            Some("cfrzr")
        );
        // A local code at another centre is nothing known.
        assert_eq!(
            short(&id(80, (0, 1, 193), sfc, over(ACCUMULATION, 6))),
            None
        );
        assert_eq!(short(&id(98, (0, 0, 0), t2, Product::Instant)), Some("2t"));
        assert_eq!(
            short(&id(98, (0, 0, 0), t2, over(MAXIMUM, 6))),
            Some("mx2t6")
        );
        assert_eq!(
            short(&id(98, (0, 0, 0), t2, over(MAXIMUM, 3))),
            Some("mx2t3")
        );
        assert_eq!(
            short(&id(98, (0, 0, 0), t2, over(MAXIMUM, 12))),
            Some("mx2t")
        );
        assert_eq!(
            short(&id(98, (0, 0, 0), t2, over(AVERAGE, 24))),
            Some("avg_2t")
        );
        assert_eq!(short(&id(7, (0, 0, 0), t2, over(AVERAGE, 24))), None);
        assert_eq!(
            short(&id(
                98,
                (0, 0, 0),
                ("heightAboveGround", 10.0),
                Product::Instant
            )),
            None
        );
        // Ensemble products fit no row; they are named after the quantity they derive from.
        let mean = Product::Derived {
            kind: 0,
            of: Box::new(Product::Instant),
        };
        let em = id(98, (0, 0, 0), t2, mean);
        assert_eq!(short(&em), None);
        assert_eq!(
            name_of(&em, &Product::Instant).map(|r| r.short_name.as_str()),
            Some("2t")
        );
    }

    #[test]
    fn statistics_parse_with_their_lengths() {
        assert_eq!(
            parse_statistic("max6"),
            Some(Statistic::Over(MAXIMUM, Some(6)))
        );
        assert_eq!(
            parse_statistic("accum"),
            Some(Statistic::Over(ACCUMULATION, None))
        );
        assert_eq!(parse_statistic("-"), Some(Statistic::Instant));
        assert_eq!(parse_statistic("mean"), None);
        assert_eq!(parse_statistic("max6h"), None);
    }
}
