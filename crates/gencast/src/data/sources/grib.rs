//! GRIB edition 1 and 2 sources (ERA5 from the CDS or MARS, ECMWF open data), decoded with the
//! pure-Rust `grib-reader` crate: simple, complex (with spatial differencing), IEEE and CCSDS/AEC
//! packing in GRIB2, simple and second-order packing in GRIB1. Each message is one horizontal
//! field; messages are identified by their parameter and level through the table in `grib.tsv`,
//! and grouped into one [`Field`] per shortName and kind of level (pressure levels or not), over
//! their valid times (reference time + forecast step, or the end of an accumulation).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use grib_reader::{DataRepresentation, GribFile, Message, ReferenceTime};

use super::field::Field;
use super::tables::{name_rule, Conversion};
use super::Wanted;
use crate::data::netcdf_time::{days_from_civil, format_datetime};
use crate::variables::is_static;
use crate::{Error, Result};

const TABLE: &str = include_str!("grib.tsv");
const NS_PER_SECOND: i64 = 1_000_000_000;
const NS_PER_HOUR: i64 = 3_600 * NS_PER_SECOND;

/// One row of `grib.tsv`.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    edition: u8,
    discipline: u16,
    category: Option<u8>,
    number: u16,
    level_type: Option<String>,
    level: Option<f64>,
    short_name: String,
}

fn parse_table(text: &str) -> std::result::Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let c: Vec<&str> = line.split_whitespace().collect();
        let bad = |what: &str| format!("grib.tsv line {}: {what}: `{line}`", n + 1);
        if c.len() != 7 {
            return Err(bad("expected 7 columns"));
        }
        let any = |s: &str| (s != "*").then(|| s.to_string());
        rows.push(Row {
            edition: c[0].parse().map_err(|_| bad("edition"))?,
            discipline: c[1].parse().map_err(|_| bad("discipline"))?,
            category: match c[2] {
                "-" => None,
                s => Some(s.parse().map_err(|_| bad("category"))?),
            },
            number: c[3].parse().map_err(|_| bad("number"))?,
            level_type: any(c[4]),
            level: match c[5] {
                "*" => None,
                s => Some(s.parse().map_err(|_| bad("level"))?),
            },
            short_name: c[6].to_string(),
        });
    }
    Ok(rows)
}

fn table() -> &'static [Row] {
    static ROWS: OnceLock<Vec<Row>> = OnceLock::new();
    // The table is compiled in and checked by a unit test; a bad row is a build defect.
    ROWS.get_or_init(|| parse_table(TABLE).expect("grib.tsv is well formed"))
}

/// What identifies a message: its parameter and level.
#[derive(Debug, Clone, PartialEq)]
struct Key {
    edition: u8,
    discipline: u16,
    category: Option<u8>,
    number: u16,
    level_type: String,
    level: Option<f64>,
}

impl Key {
    fn of(msg: &Message) -> Key {
        let p = msg.parameter();
        let (level_type, level) = match (msg.product_definition(), msg.grib1_product_definition()) {
            (Some(pd), _) => match pd.first_surface() {
                Some(s) => (
                    level_type_grib2(s.surface_type),
                    s.scaled_value_f64().map(|v| {
                        // Isobaric levels are in Pa in GRIB2.
                        if s.surface_type == 100 {
                            v / 100.0
                        } else {
                            v
                        }
                    }),
                ),
                None => ("none".into(), None),
            },
            (None, Some(pd)) => (
                level_type_grib1(pd.level_type),
                Some(f64::from(pd.level_value)),
            ),
            (None, None) => ("none".into(), None),
        };
        Key {
            edition: msg.edition(),
            discipline: p
                .discipline
                .map_or_else(|| u16::from(p.table_version.unwrap_or(0)), u16::from),
            category: p.category,
            number: u16::from(p.number),
            level_type,
            level,
        }
    }

    /// The shortName of the first table row that matches.
    fn short_name(&self) -> Option<&'static str> {
        table()
            .iter()
            .find(|r| {
                r.edition == self.edition
                    && r.discipline == self.discipline
                    && r.category == self.category
                    && r.number == self.number
                    && r.level_type.as_ref().is_none_or(|t| *t == self.level_type)
                    && r.level.is_none_or(|l| self.level == Some(l))
            })
            .map(|r| r.short_name.as_str())
    }

    fn describe(&self) -> String {
        let param = match self.category {
            Some(c) => format!(
                "GRIB{} discipline {} category {c} number {}",
                self.edition, self.discipline, self.number
            ),
            None => format!(
                "GRIB{} table {} parameter {}",
                self.edition, self.discipline, self.number
            ),
        };
        match self.level {
            Some(l) => format!("{param} on {} {l}", self.level_type),
            None => format!("{param} on {}", self.level_type),
        }
    }
}

/// ecCodes' `typeOfLevel` for the GRIB2 fixed-surface types the sources use.
fn level_type_grib2(code: u8) -> String {
    match code {
        1 => "surface".into(),
        100 => "isobaricInhPa".into(),
        101 => "meanSea".into(),
        103 => "heightAboveGround".into(),
        other => format!("type {other}"),
    }
}

/// ecCodes' `typeOfLevel` for the GRIB1 level types the sources use.
fn level_type_grib1(code: u8) -> String {
    match code {
        1 => "surface".into(),
        100 => "isobaricInhPa".into(),
        102 => "meanSea".into(),
        105 => "heightAboveGround".into(),
        other => format!("type {other}"),
    }
}

fn to_ns(t: &ReferenceTime) -> i64 {
    let days = days_from_civil(i64::from(t.year), u32::from(t.month), u32::from(t.day));
    (days * 86_400 + i64::from(t.hour) * 3_600 + i64::from(t.minute) * 60 + i64::from(t.second))
        * NS_PER_SECOND
}

/// The packing of a message, in words.
fn packing(msg: &Message) -> String {
    match &msg.metadata().data_representation {
        DataRepresentation::SimplePacking(_) => "simple packing".into(),
        DataRepresentation::Grib1SecondOrderPacking(_) => "GRIB1 second-order packing".into(),
        DataRepresentation::ComplexPacking(_) => "complex packing".into(),
        DataRepresentation::IeeePacking(_) => "IEEE packing".into(),
        DataRepresentation::Jpeg2000Packing(_) => "JPEG 2000 packing (template 5.40)".into(),
        DataRepresentation::PngPacking(_) => "PNG packing (template 5.41)".into(),
        other => format!("data representation template 5.{}", other.template_number()),
    }
}

/// The packings this build decodes, for error messages.
pub const SUPPORTED_PACKINGS: &str = "simple, complex (with or without spatial differencing), \
     IEEE and CCSDS/AEC packing in GRIB2; simple and second-order packing in GRIB1";

/// One message of a group: its valid time, level (hPa, pressure levels only) and index.
struct Part {
    time: i64,
    level: Option<i32>,
    index: usize,
    /// Hours of accumulation for accumulated parameters, from the message's time range.
    hours: Option<i64>,
}

/// Reads the messages of a GRIB file that hold `wanted` variables (timed ones only inside
/// `wanted`'s window), one [`Field`] per shortName and kind of level. Parameters of no row of
/// `grib.tsv` are returned as empty fields named after their GRIB keys, so that a refusal for a
/// missing variable lists them among what the file holds.
pub fn read_fields(path: &Path, wanted: &Wanted) -> Result<Vec<Field>> {
    let file = GribFile::open(path).map_err(|e| Error::format(path, "GRIB", e.to_string()))?;
    let mut groups: BTreeMap<(String, bool), Vec<Part>> = BTreeMap::new();
    let mut unknown = BTreeSet::new();
    for (index, msg) in file.messages().enumerate() {
        let key = Key::of(&msg);
        let Some(short) = key.short_name() else {
            unknown.insert(key.describe());
            continue;
        };
        let rule = name_rule(short);
        if !wanted.wants(short) {
            continue;
        }
        let pressure = key.level_type == "isobaricInhPa";
        let time = msg
            .valid_time()
            .filter(ReferenceTime::is_valid)
            .map(|t| to_ns(&t))
            .ok_or_else(|| {
                Error::format(
                    path,
                    format!("message {} (`{short}`)", index + 1),
                    "has no valid time (reference time and forecast step)",
                )
            })?;
        // Statics (and a surface geopotential) are kept whatever their date.
        let constant = is_static(&rule.model) || (rule.model == "geopotential" && !pressure);
        if let Some((start, end)) = wanted.window {
            if !constant && (time < start || time > end) {
                continue;
            }
        }
        let level = match (pressure, key.level) {
            (false, _) => None,
            (true, Some(l)) if l.fract() == 0.0 && l > 0.0 => Some(l as i32),
            (true, l) => {
                return Err(Error::format(
                    path,
                    format!("message {} (`{short}`)", index + 1),
                    format!("isobaric level {l:?} is not a positive whole number of hPa"),
                ))
            }
        };
        let hours = match rule.conversion {
            Conversion::Accumulation(_) => Some(accumulation_hours(path, index, short, &msg)?),
            _ => None,
        };
        groups
            .entry((short.to_string(), pressure))
            .or_default()
            .push(Part {
                time,
                level,
                index,
                hours,
            });
    }
    let mut fields = Vec::new();
    for ((short, _), parts) in groups {
        fields.push(read_group(path, &file, &short, &parts)?);
    }
    for name in unknown {
        fields.push(Field {
            path: path.to_path_buf(),
            source_name: format!("unknown {name} (no row in grib.tsv)"),
            model_name: String::new(),
            conversion: Conversion::None,
            units: None,
            times: None,
            levels: None,
            lat: Vec::new(),
            lon: Vec::new(),
            data: Vec::new(),
            member: None,
            messages: Vec::new(),
        });
    }
    Ok(fields)
}

/// Hours of the accumulation a message holds: from the start of its time range (reference time
/// plus forecast time) to its valid time.
fn accumulation_hours(path: &Path, index: usize, short: &str, msg: &Message) -> Result<i64> {
    let what = || format!("message {} (`{short}`)", index + 1);
    let start = match msg.grib1_product_definition() {
        Some(pd) => msg.reference_time().checked_add_forecast_time_by_edition(
            1,
            pd.forecast_time_unit,
            i64::from(pd.p1),
        ),
        None => match (msg.forecast_time_unit(), msg.forecast_time()) {
            (Some(unit), Some(step)) => msg
                .reference_time()
                .checked_add_forecast_time_by_edition(2, unit, step),
            _ => None,
        },
    };
    let (Some(start), Some(end)) = (start, msg.valid_time()) else {
        return Err(Error::format(
            path,
            what(),
            "is an accumulation without a readable time range",
        ));
    };
    let ns = to_ns(&end) - to_ns(&start);
    if ns <= 0 || ns % NS_PER_HOUR != 0 {
        return Err(Error::format(
            path,
            what(),
            format!(
                "accumulates from {} to {}, not over whole hours",
                format_datetime(to_ns(&start)),
                format_datetime(to_ns(&end))
            ),
        ));
    }
    Ok(ns / NS_PER_HOUR)
}

/// Decodes the messages of one shortName into a (time, level, lat, lon) field. Every time must
/// have every level, once; all messages must share the grid.
fn read_group(path: &Path, file: &GribFile, short: &str, parts: &[Part]) -> Result<Field> {
    let data_err = |detail: String| Error::Data {
        path: path.to_path_buf(),
        variable: short.to_string(),
        detail,
    };
    let times: Vec<i64> = parts
        .iter()
        .map(|p| p.time)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let levels: Vec<i32> = parts
        .iter()
        .filter_map(|p| p.level)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let pressure = !levels.is_empty();
    let n_levels = levels.len().max(1);
    let mut slot_of = vec![None; times.len() * n_levels];
    for p in parts {
        let t = times.binary_search(&p.time).unwrap_or_default();
        let l = p
            .level
            .map_or(0, |l| levels.binary_search(&l).unwrap_or_default());
        let slot = &mut slot_of[t * n_levels + l];
        if let Some(other) = slot.replace(p.index) {
            return Err(data_err(format!(
                "messages {} and {} both hold {}{}",
                other + 1,
                p.index + 1,
                format_datetime(p.time),
                p.level.map_or(String::new(), |l| format!(" at {l} hPa"))
            )));
        }
    }
    let missing: Vec<String> = slot_of
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| {
            let t = format_datetime(times[i / n_levels]);
            if pressure {
                format!("{t} at {} hPa", levels[i % n_levels])
            } else {
                t
            }
        })
        .collect();
    if !missing.is_empty() {
        return Err(data_err(format!(
            "no message for {} (each time needs every level: found levels {levels:?} hPa)",
            missing.join(", ")
        )));
    }
    let period = {
        let hours: BTreeSet<i64> = parts.iter().filter_map(|p| p.hours).collect();
        match hours.len() {
            0 => None,
            1 => hours.first().copied(),
            _ => {
                return Err(data_err(format!(
                    "accumulations over different periods ({hours:?} hours); expected \
                     accumulations of one period each (e.g. hourly or 6-hourly), not totals \
                     since the start of a forecast"
                )))
            }
        }
    };
    let conversion = match period {
        Some(h) => Conversion::Accumulation(u32::try_from(h).unwrap_or(u32::MAX)),
        None => name_rule(short).conversion,
    };

    let mut lat = Vec::new();
    let mut lon = Vec::new();
    let mut data = Vec::new();
    for (k, index) in slot_of.iter().flatten().enumerate() {
        let msg = file
            .message(*index)
            .map_err(|e| Error::format(path, format!("message {}", index + 1), e.to_string()))?;
        let what = || format!("message {} (`{short}`)", index + 1);
        let (Some(la), Some(lo)) = (
            msg.latitudes()
                .map_err(|e| Error::format(path, what(), e.to_string()))?,
            msg.longitudes()
                .map_err(|e| Error::format(path, what(), e.to_string()))?,
        ) else {
            return Err(Error::format(
                path,
                what(),
                "is not on a regular latitude/longitude grid",
            ));
        };
        if k == 0 {
            lat = la;
            lon = lo;
            data = vec![0f32; slot_of.len() * lat.len() * lon.len()];
        } else if la != lat || lo != lon {
            return Err(data_err(format!(
                "message {} is on another grid ({}×{} points) than the first ({}×{})",
                index + 1,
                la.len(),
                lo.len(),
                lat.len(),
                lon.len()
            )));
        }
        let n = lat.len() * lon.len();
        msg.decode_into(&mut data[k * n..(k + 1) * n])
            .map_err(|e| {
                Error::format(
                    path,
                    what(),
                    format!(
                        "cannot decode its {}: {e}; supported: {SUPPORTED_PACKINGS}",
                        packing(&msg)
                    ),
                )
            })?;
    }
    let rule = name_rule(short);
    Ok(Field {
        path: path.to_path_buf(),
        source_name: short.to_string(),
        model_name: rule.model,
        conversion,
        // GRIB parameters have fixed units: heights in metres (gpm), precipitation in metres.
        units: match conversion {
            Conversion::Height => Some("gpm".into()),
            Conversion::Accumulation(_) => Some("m".into()),
            Conversion::None => None,
        },
        times: Some(times),
        levels: pressure.then_some(levels),
        lat,
        lon,
        data,
        member: None,
        messages: slot_of.iter().flatten().copied().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_row_is_well_formed_and_named() {
        let rows = parse_table(TABLE).unwrap();
        assert!(rows.len() > 20);
        for r in &rows {
            assert!(r.edition == 1 || r.edition == 2, "{r:?}");
            assert_eq!(r.category.is_none(), r.edition == 1, "{r:?}");
            // Every shortName maps to a model variable other than itself.
            assert_ne!(name_rule(&r.short_name).model, r.short_name, "{r:?}");
        }
        assert!(parse_table("2 0 0 0 surface").is_err());
    }

    #[test]
    fn keys_map_to_short_names_by_level() {
        let key = |d, c, n, t: &str, l| Key {
            edition: 2,
            discipline: d,
            category: Some(c),
            number: n,
            level_type: t.into(),
            level: l,
        };
        assert_eq!(
            key(0, 0, 0, "heightAboveGround", Some(2.0)).short_name(),
            Some("2t")
        );
        assert_eq!(
            key(0, 0, 0, "isobaricInhPa", Some(500.0)).short_name(),
            Some("t")
        );
        assert_eq!(key(0, 3, 4, "surface", Some(0.0)).short_name(), Some("z"));
        // 0/1/8 is precipitation in kg m-2, not in the table.
        assert_eq!(key(0, 1, 8, "surface", Some(0.0)).short_name(), None);
        assert_eq!(
            key(0, 0, 0, "heightAboveGround", Some(10.0)).short_name(),
            None
        );
    }
}
