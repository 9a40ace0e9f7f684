//! What a GRIB message holds, from its whole product definition: centre, parameter, level, the
//! processing of its values over time, whether it derives from an ensemble, and its member.

use grib_reader::{
    Grib1ProductDefinition, ProductDefinition, ProductDefinitionTemplate, StatisticalInterval,
};

use super::table::{ACCUMULATION, AVERAGE, MAXIMUM, MINIMUM};

/// What a message's values are over time.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Product {
    /// An analysis or a forecast at one time.
    Instant,
    /// A statistic (GRIB2 code table 4.10) over an interval of `hours` (when whole hours).
    Statistic { kind: u8, hours: Option<i64> },
    /// A product derived from all members of an ensemble (GRIB2 code table 4.7) of `of`.
    Derived { kind: u8, of: Box<Product> },
    /// Anything else, in words.
    Other(String),
}

impl Product {
    /// The product in words, e.g. "maximum over 6 h".
    pub(super) fn describe(&self) -> String {
        match self {
            Product::Instant => "value at one time".into(),
            Product::Statistic { kind, hours } => {
                let what = match *kind {
                    AVERAGE => "average".to_string(),
                    ACCUMULATION => "accumulation".into(),
                    MAXIMUM => "maximum".into(),
                    MINIMUM => "minimum".into(),
                    4 => "difference".into(),
                    6 => "standard deviation".into(),
                    k => format!("statistical process {k}"),
                };
                match hours {
                    Some(h) => format!("{what} over {h} h"),
                    None => format!("{what} over an interval"),
                }
            }
            Product::Derived { kind, of } => {
                let what = match *kind {
                    0 | 1 => "ensemble mean".to_string(),
                    2 | 3 => "ensemble standard deviation".into(),
                    4 => "ensemble spread".into(),
                    k => format!("derived forecast type {k}"),
                };
                match **of {
                    Product::Instant => format!("{what} (derived forecast)"),
                    ref other => format!("{what} of the {} (derived forecast)", other.describe()),
                }
            }
            Product::Other(words) => words.clone(),
        }
    }
}

/// Everything that says which quantity a message holds.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Identity {
    pub edition: u8,
    /// Originating centre (WMO common code table C-11: 98 ECMWF, 7 NCEP).
    pub centre: u16,
    /// GRIB2 discipline; GRIB1 table2Version.
    pub discipline: u16,
    /// GRIB2 parameterCategory; `None` in GRIB1.
    pub category: Option<u8>,
    /// GRIB2 parameterNumber; GRIB1 indicatorOfParameter.
    pub number: u16,
    /// ecCodes' typeOfLevel (`type N` for others).
    pub level_type: String,
    /// The level's value (hPa for isobaric levels).
    pub level: Option<f64>,
    pub product: Product,
    /// The ensemble member (ecCodes' `number`) of an individual ensemble forecast.
    pub member: Option<i64>,
}

impl Identity {
    /// A GRIB2 field's identity from its discipline, centre and product definition.
    pub(super) fn grib2(discipline: u8, centre: u16, pd: &ProductDefinition) -> Identity {
        let (level_type, level) = match pd.first_surface() {
            Some(s) => {
                // Isobaric levels are in Pa in GRIB2.
                let value =
                    s.scaled_value_f64()
                        .map(|x| if s.surface_type == 100 { x / 100.0 } else { x });
                (level_type_grib2(s.surface_type), value)
            }
            None => ("none".into(), None),
        };
        let (product, member) = grib2_product(&pd.template);
        Identity {
            edition: 2,
            centre,
            discipline: u16::from(discipline),
            category: Some(pd.parameter_category),
            number: u16::from(pd.parameter_number),
            level_type,
            level,
            product,
            member,
        }
    }

    /// A GRIB1 message's identity from its product definition section (`pds`, whole, for
    /// ECMWF's local extension).
    pub(super) fn grib1(pd: &Grib1ProductDefinition, pds: &[u8]) -> Identity {
        let centre = u16::from(pd.center_id);
        let mut product = grib1_product(pd);
        let mut member = None;
        // ECMWF's local definition 1 (MARS labelling): octet 41 the definition number,
        // 43 the MARS type, 50 the ensemble member.
        if centre == 98 && pds.len() >= 51 && pds[40] == 1 {
            match pds[42] {
                // Control and perturbed forecasts.
                10 | 11 => member = Some(i64::from(pds[49])),
                // Ensemble mean and standard deviation.
                17 => product = derived(0, product),
                18 => product = derived(2, product),
                _ => {}
            }
        }
        Identity {
            edition: 1,
            centre,
            discipline: u16::from(pd.table_version),
            category: None,
            number: u16::from(pd.parameter_number),
            level_type: level_type_grib1(pd.level_type),
            level: Some(f64::from(pd.level_value)),
            product,
            member,
        }
    }

    /// The parameter and level in GRIB keys, for a message of no table row.
    pub(super) fn keys(&self) -> String {
        let param = match self.category {
            Some(c) => format!(
                "GRIB{} centre {} discipline {} category {c} number {}",
                self.edition, self.centre, self.discipline, self.number
            ),
            None => format!(
                "GRIB{} centre {} table {} parameter {}",
                self.edition, self.centre, self.discipline, self.number
            ),
        };
        match self.level {
            Some(l) => format!("{param} on {} {l}", self.level_type),
            None => format!("{param} on {}", self.level_type),
        }
    }
}

fn derived(kind: u8, of: Product) -> Product {
    Product::Derived {
        kind,
        of: Box::new(of),
    }
}

/// Hours in one unit of GRIB2 code table 4.4 (GRIB1 table 4 shares the codes used here).
fn unit_hours(unit: u8) -> Option<(i64, i64)> {
    // (numerator, denominator) of hours per unit.
    match unit {
        0 => Some((1, 60)),
        1 => Some((1, 1)),
        2 => Some((24, 1)),
        10 => Some((3, 1)),
        11 => Some((6, 1)),
        12 => Some((12, 1)),
        13 | 254 => Some((1, 3600)),
        _ => None,
    }
}

/// `length` units in whole hours, if it is.
pub(super) fn whole_hours(unit: u8, length: i64) -> Option<i64> {
    let (num, den) = unit_hours(unit)?;
    let scaled = length.checked_mul(num)?;
    (scaled % den == 0).then_some(scaled / den)
}

fn statistic(interval: &StatisticalInterval) -> Product {
    match interval.time_ranges.as_slice() {
        [range] => Product::Statistic {
            kind: range.type_of_statistical_processing,
            hours: whole_hours(range.time_range_unit, i64::from(range.time_range_length)),
        },
        ranges => Product::Other(format!(
            "{} nested statistical processes over time",
            ranges.len()
        )),
    }
}

fn grib2_product(template: &ProductDefinitionTemplate) -> (Product, Option<i64>) {
    use ProductDefinitionTemplate as T;
    match template {
        T::AnalysisOrForecast(_) => (Product::Instant, None),
        T::IndividualEnsembleForecast(t) => {
            (Product::Instant, Some(i64::from(t.perturbation_number)))
        }
        T::DerivedForecast(t) => (derived(t.derived_forecast_type, Product::Instant), None),
        T::StatisticalProcess(t) => (statistic(&t.interval), None),
        T::EnsembleStatisticalProcess(t) => (
            statistic(&t.interval),
            Some(i64::from(t.ensemble.perturbation_number)),
        ),
        T::DerivedStatisticalProcess(t) => (
            derived(t.derived.derived_forecast_type, statistic(&t.interval)),
            None,
        ),
        T::ProbabilityForecast(_) | T::ProbabilityStatisticalProcess(_) => (
            Product::Other(format!(
                "probability forecast (product template 4.{})",
                template.number()
            )),
            None,
        ),
        T::PercentileForecast(_) | T::PercentileStatisticalProcess(_) => (
            Product::Other(format!(
                "percentile forecast (product template 4.{})",
                template.number()
            )),
            None,
        ),
        T::SpatialProcess(_) => (
            Product::Other("statistic over an area (product template 4.15)".into()),
            None,
        ),
        other => (
            Product::Other(format!("product definition template 4.{}", other.number())),
            None,
        ),
    }
}

fn grib1_product(pd: &Grib1ProductDefinition) -> Product {
    let hours = || {
        let length = i64::from(pd.p2) - i64::from(pd.p1);
        whole_hours(pd.forecast_time_unit, length)
    };
    match pd.time_range_indicator {
        0 | 1 | 10 => Product::Instant,
        3 => Product::Statistic {
            kind: AVERAGE,
            hours: hours(),
        },
        4 => Product::Statistic {
            kind: ACCUMULATION,
            hours: hours(),
        },
        5 => Product::Statistic {
            kind: 4,
            hours: hours(),
        },
        2 => Product::Other("a value somewhere between two times (time range indicator 2)".into()),
        n => Product::Other(format!("time range indicator {n}")),
    }
}

/// ecCodes' `typeOfLevel` for GRIB2 fixed-surface types.
fn level_type_grib2(code: u8) -> String {
    match code {
        1 => "surface".into(),
        10 => "entireAtmosphere".into(),
        100 => "isobaricInhPa".into(),
        101 => "meanSea".into(),
        103 => "heightAboveGround".into(),
        other => format!("type {other}"),
    }
}

/// ecCodes' `typeOfLevel` for GRIB1 level types.
fn level_type_grib1(code: u8) -> String {
    match code {
        1 => "surface".into(),
        100 => "isobaricInhPa".into(),
        102 => "meanSea".into(),
        105 => "heightAboveGround".into(),
        other => format!("type {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_become_whole_hours_or_none() {
        assert_eq!(whole_hours(1, 6), Some(6));
        assert_eq!(whole_hours(0, 360), Some(6));
        assert_eq!(whole_hours(0, 30), None);
        assert_eq!(whole_hours(11, 2), Some(12));
        assert_eq!(whole_hours(2, i64::MAX), None);
        assert_eq!(whole_hours(7, 1), None);
    }

    #[test]
    fn products_are_described_in_words() {
        let max6 = Product::Statistic {
            kind: MAXIMUM,
            hours: Some(6),
        };
        assert_eq!(max6.describe(), "maximum over 6 h");
        let mean = derived(0, Product::Instant);
        assert_eq!(mean.describe(), "ensemble mean (derived forecast)");
        let tp = derived(
            0,
            Product::Statistic {
                kind: ACCUMULATION,
                hours: Some(6),
            },
        );
        assert_eq!(
            tp.describe(),
            "ensemble mean of the accumulation over 6 h (derived forecast)"
        );
    }
}
