//! GRIB edition 1 and 2 sources (ERA5 from the CDS or MARS, ECMWF open data, NCEP), decoded
//! with the pure-Rust `grib-reader` crate: simple, complex (with spatial differencing), IEEE and
//! CCSDS/AEC packing in GRIB2, simple and WMO second-order packing in GRIB1.
//!
//! Each message is one horizontal field. A message feeds a model variable only if its whole
//! product definition says so (`grib.tsv`: edition, centre, parameter, time processing, level;
//! ensemble means, spreads, probabilities and other derived products never do); every other
//! message is listed as skipped with its reason, as is one on another grid than regular
//! lat/lon, or in an encoding the decoder does not read when no model needs it. Messages are
//! grouped into one [`Field`] per shortName, kind of level, units and ensemble member, over their
//! valid times (reference time + forecast step, or the end of a statistic's interval). Messages
//! are numbered from 0 in file order.

mod geometry;
mod identity;
mod raw;
mod split;
mod table;
mod time;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use grib_reader::{GribFile, Message};

use super::field::Field;
use super::tables::{name_rule, Conversion};
use super::{Skipped, SourceContents, Wanted};
use crate::data::netcdf_time::format_datetime;
use crate::variables::is_static;
use crate::{Error, Result};
use identity::{Identity, Product};
use table::Row;

/// The packings this build decodes, for error messages.
pub(crate) const SUPPORTED_PACKINGS: &str =
    "simple, complex (with or without spatial differencing), \
     IEEE and CCSDS/AEC packing in GRIB2; simple and WMO second-order packing in GRIB1";

/// One message of a group: where it is, its valid time and level (hPa, pressure levels only).
struct Part {
    /// 0-based index of the message in the file.
    index: usize,
    /// The byte range of the GRIB message holding it, and its field number there.
    span: Range<usize>,
    field: usize,
    time: i64,
    level: Option<i32>,
    /// Hours of accumulation for accumulated parameters.
    hours: Option<i64>,
}

/// What one field of the output gathers: messages of one shortName, kind of level, units and
/// member.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct GroupKey {
    short: String,
    pressure: bool,
    units: String,
    member: Option<i64>,
}

/// What becomes of one message.
enum Use {
    Part(GroupKey, Part),
    Skip(Skipped),
}

/// The identity of a readable message.
fn identity_of(msg: &Message) -> Identity {
    if let Some(pd) = msg.product_definition() {
        let discipline = msg.parameter().discipline.unwrap_or(0);
        return Identity::grib2(discipline, msg.center_id(), pd);
    }
    let pds = grib_reader::grib1::parse_message_sections(msg.raw_bytes())
        .ok()
        .and_then(|s| {
            msg.raw_bytes()
                .get(s.pds.offset..s.pds.offset + s.pds.length)
        });
    match msg.grib1_product_definition() {
        Some(pd) => Identity::grib1(pd, pds.unwrap_or_default()),
        // Every message has one of the two; an empty identity matches no row.
        None => Identity {
            edition: msg.edition(),
            centre: msg.center_id(),
            discipline: u16::MAX,
            category: None,
            number: u16::MAX,
            level_type: "none".into(),
            level: None,
            product: Product::Other("no product definition".into()),
            member: None,
        },
    }
}

/// Why a message of no exact table row is skipped, and the name to list it under.
fn unmatched(id: &Identity, fallback: &str) -> (String, String) {
    let row_for = |p: &Product| table::name_of(id, p).map(|r| r.short_name.clone());
    match &id.product {
        Product::Derived { of, .. } => (
            row_for(of).unwrap_or_else(|| fallback.to_string()),
            format!(
                "{}: a product of a whole ensemble, not a forecast the model can start from",
                id.product.describe()
            ),
        ),
        product => match row_for(product) {
            Some(name) => (
                name,
                format!(
                    "{} ({}): not the quantity any model variable is",
                    product.describe(),
                    id.keys()
                ),
            ),
            None => (
                fallback.to_string(),
                format!("{}: no row in grib.tsv, needed by no model", id.keys()),
            ),
        },
    }
}

fn skip(path: &Path, index: usize, name: impl Into<String>, reason: String) -> Use {
    Use::Skip(Skipped {
        path: path.to_path_buf(),
        message: Some(index),
        name: name.into(),
        reason,
    })
}

/// The table row of a message if it feeds a model variable that `wanted` asks for, else why
/// not.
fn needed(
    id: &Identity,
    wanted: &Wanted,
    fallback: &str,
) -> std::result::Result<&'static Row, (String, String)> {
    let Some(row) = table::lookup(id) else {
        return Err(unmatched(id, fallback));
    };
    let rule = name_rule(&row.short_name);
    if rule.model == row.short_name {
        return Err((
            row.short_name.clone(),
            format!(
                "{} ({}, {}): not a variable of any model",
                row.short_name,
                row.units,
                id.product.describe()
            ),
        ));
    }
    if !wanted.wants(&row.short_name) {
        return Err((
            row.short_name.clone(),
            format!("`{}` is not among the variables asked for", rule.model),
        ));
    }
    Ok(row)
}

/// Decides what becomes of a readable message.
fn classify(
    path: &Path,
    wanted: &Wanted,
    index: usize,
    span: &Range<usize>,
    field: usize,
    msg: &Message,
) -> Result<Use> {
    let id = identity_of(msg);
    let fallback = msg.parameter_name().to_lowercase();
    let row = match needed(&id, wanted, &fallback) {
        Ok(row) => row,
        Err((name, mut reason)) => {
            let grid = msg.grid_definition();
            if !matches!(grid, grib_reader::GridDefinition::LatLon(_)) {
                reason = format!("{reason}; on {}", geometry::grid_words(grid));
            }
            return Ok(skip(path, index, name, reason));
        }
    };
    let short = row.short_name.as_str();
    let what = || format!("message {index} (`{short}`)");
    if let Err(e) = geometry::axes(msg.grid_definition()) {
        // A field on another grid is another representation: listed, not used.
        if !matches!(
            msg.grid_definition(),
            grib_reader::GridDefinition::LatLon(_)
        ) {
            return Ok(skip(path, index, short, e));
        }
        return Err(Error::format(path, what(), e));
    }
    let time = time::valid_ns(msg).map_err(|e| Error::format(path, what(), e))?;
    let rule = name_rule(short);
    let pressure = id.level_type == "isobaricInhPa";
    // Statics (and a surface geopotential) are kept whatever their date.
    let constant = is_static(&rule.model) || (rule.model == "geopotential" && !pressure);
    if let Some((start, end)) = wanted.window {
        if !constant && (time < start || time > end) {
            let reason = format!(
                "valid at {}, outside the times asked for ({} to {})",
                format_datetime(time),
                format_datetime(start),
                format_datetime(end)
            );
            return Ok(skip(path, index, short, reason));
        }
    }
    let level = match (pressure, id.level) {
        (false, _) => None,
        (true, Some(l)) if l.fract() == 0.0 && l > 0.0 && l < 1e6 => Some(l as i32),
        (true, l) => {
            return Err(Error::format(
                path,
                what(),
                format!("isobaric level {l:?} is not a positive whole number of hPa"),
            ))
        }
    };
    let hours = match rule.conversion {
        Conversion::Accumulation(_) => {
            let h =
                time::accumulation_hours(&id, msg).map_err(|e| Error::format(path, what(), e))?;
            if h == 0 {
                let reason = "accumulation over 0 h (the first step of a forecast): nothing                               accumulated to use"
                    .to_string();
                return Ok(skip(path, index, short, reason));
            }
            Some(h)
        }
        _ => None,
    };
    let key = GroupKey {
        short: short.to_string(),
        pressure,
        units: row.units.clone(),
        member: id.member,
    };
    Ok(Use::Part(
        key,
        Part {
            index,
            span: span.clone(),
            field,
            time,
            level,
            hours,
        },
    ))
}

/// Decides what becomes of a message the decoder cannot read: skipped unless a model variable
/// that `wanted` asks for is in it.
fn unreadable(
    path: &Path,
    wanted: &Wanted,
    index: usize,
    field: raw::RawField,
    error: &grib_reader::Error,
) -> Result<Use> {
    let what = format!("{}, {}", field.grid, field.packing);
    let Some(id) = field.identity else {
        return Ok(skip(
            path,
            index,
            "unknown",
            format!("unreadable ({what}): {error}"),
        ));
    };
    match needed(&id, wanted, "unknown") {
        Ok(row) => Err(Error::format(
            path,
            format!("message {index} (`{}`, {})", row.short_name, id.keys()),
            format!(
                "cannot be read: on {}, in {}: {error}; supported: {SUPPORTED_PACKINGS} on \
                 regular lat/lon grids",
                field.grid, field.packing
            ),
        )),
        Err((name, reason)) => Ok(skip(
            path,
            index,
            name,
            format!("{reason}; unreadable here ({what}: {error})"),
        )),
    }
}

/// Reads the messages of a GRIB file that hold `wanted` variables (timed ones only inside
/// `wanted`'s window), one [`Field`] per shortName, kind of level, units and ensemble member,
/// with every other message listed as skipped and why.
pub(crate) fn read_fields(path: &Path, wanted: &Wanted) -> Result<SourceContents> {
    let data = split::map(path)?;
    let spans = split::messages(path, &data)?;
    let mut skipped = Vec::new();
    let mut groups: BTreeMap<GroupKey, Vec<Part>> = BTreeMap::new();
    let mut index = 0usize;
    for span in &spans {
        let bytes = &data[span.clone()];
        let uses = match GribFile::from_bytes(bytes.to_vec()) {
            Ok(file) => {
                let mut uses = Vec::new();
                for (k, msg) in file.messages().enumerate() {
                    uses.push(classify(path, wanted, index + k, span, k, &msg)?);
                }
                uses
            }
            Err(e) => {
                let mut uses = Vec::new();
                for (k, field) in raw::fields(bytes).into_iter().enumerate() {
                    uses.push(unreadable(path, wanted, index + k, field, &e)?);
                }
                uses
            }
        };
        index += uses.len();
        for u in uses {
            match u {
                Use::Part(key, part) => groups.entry(key).or_default().push(part),
                Use::Skip(s) => skipped.push(s),
            }
        }
    }
    let mut fields = Vec::new();
    for (key, parts) in groups {
        fields.push(read_group(path, &data, &key, &parts, &mut skipped)?);
    }
    skipped.sort_by_key(|s| s.message);
    Ok(SourceContents { fields, skipped })
}

/// A message's grid axes and values, decoded.
struct Decoded {
    lat: Vec<f64>,
    lon: Vec<f64>,
    values: Vec<f32>,
}

fn decode(path: &Path, data: &[u8], short: &str, part: &Part) -> Result<Decoded> {
    let what = || format!("message {} (`{short}`)", part.index);
    let file = GribFile::from_bytes(data[part.span.clone()].to_vec())
        .map_err(|e| Error::format(path, what(), e.to_string()))?;
    let msg = file
        .message(part.field)
        .map_err(|e| Error::format(path, what(), e.to_string()))?;
    let (lat, lon) =
        geometry::axes(msg.grid_definition()).map_err(|e| Error::format(path, what(), e))?;
    let mut values = vec![0f32; lat.len() * lon.len()];
    msg.decode_into(&mut values).map_err(|e| {
        Error::format(
            path,
            what(),
            format!(
                "cannot decode its {} on a {}: {e}; supported: {SUPPORTED_PACKINGS}",
                raw::packing_words(msg.metadata().data_representation.template_number()),
                geometry::grid_words(msg.grid_definition()),
            ),
        )
    })?;
    Ok(Decoded { lat, lon, values })
}

/// The largest difference between two decodings, and whether they differ at all (missing
/// values compare by their place).
fn difference(a: &[f32], b: &[f32]) -> Option<f64> {
    let mut differ = false;
    let mut largest = 0f64;
    for (&x, &y) in a.iter().zip(b) {
        if x.is_nan() != y.is_nan() || (!x.is_nan() && x != y) {
            differ = true;
            if !x.is_nan() && !y.is_nan() {
                largest = largest.max((f64::from(x) - f64::from(y)).abs());
            }
        }
    }
    differ.then_some(largest)
}

/// Decodes the messages of one group into a (time, level, lat, lon) field. Every time must have
/// every level; all messages must share the grid. Two messages for the same time and level are
/// refused if their values differ; an identical copy is listed as skipped.
fn read_group(
    path: &Path,
    data: &[u8],
    key: &GroupKey,
    parts: &[Part],
    skipped: &mut Vec<Skipped>,
) -> Result<Field> {
    let short = key.short.as_str();
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
    let mut slots: Vec<Vec<&Part>> = vec![Vec::new(); times.len() * n_levels];
    for p in parts {
        let t = times.binary_search(&p.time).unwrap_or_default();
        let l = p
            .level
            .map_or(0, |l| levels.binary_search(&l).unwrap_or_default());
        slots[t * n_levels + l].push(p);
    }
    let missing: Vec<String> = slots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_empty())
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
    let rule = name_rule(short);
    let conversion = match period {
        Some(h) => Conversion::Accumulation(u32::try_from(h).unwrap_or(u32::MAX)),
        None => rule.conversion,
    };

    let mut lat = Vec::new();
    let mut lon = Vec::new();
    let mut values = Vec::new();
    let mut n = 0;
    for (k, slot) in slots.iter().enumerate() {
        let first = decode(path, data, short, slot[0])?;
        if k == 0 {
            lat = first.lat.clone();
            lon = first.lon.clone();
            n = lat.len() * lon.len();
            let total = n
                .checked_mul(slots.len())
                .ok_or_else(|| data_err(format!("{} messages of {n} points each", slots.len())))?;
            values = Vec::new();
            values.try_reserve_exact(total).map_err(|_| {
                data_err(format!(
                    "{} messages of {n} points each do not fit in memory",
                    slots.len()
                ))
            })?;
        }
        for other in &slot[1..] {
            let copy = decode(path, data, short, other)?;
            let at = format!(
                "{}{}{}",
                format_datetime(other.time),
                other
                    .level
                    .map_or(String::new(), |l| format!(" at {l} hPa")),
                key.member
                    .map_or(String::new(), |m| format!(" for member {m}"))
            );
            if copy.lat != first.lat || copy.lon != first.lon {
                return Err(data_err(format!(
                    "messages {} and {} both hold {at}, on different grids",
                    slot[0].index, other.index
                )));
            }
            if let Some(largest) = difference(&first.values, &copy.values) {
                return Err(data_err(format!(
                    "messages {} and {} both hold {at}, with different values (largest \
                     difference {largest} {}); keep one of them",
                    slot[0].index, other.index, key.units
                )));
            }
            skipped.push(Skipped {
                path: path.to_path_buf(),
                message: Some(other.index),
                name: short.to_string(),
                reason: format!("identical copy of message {}", slot[0].index),
            });
        }
        if first.lat != lat || first.lon != lon {
            return Err(data_err(format!(
                "message {} is on another grid ({}×{} points) than message {} ({}×{})",
                slot[0].index,
                first.lat.len(),
                first.lon.len(),
                slots[0][0].index,
                lat.len(),
                lon.len()
            )));
        }
        values.extend_from_slice(&first.values);
    }
    debug_assert_eq!(values.len(), n * slots.len());
    Ok(Field {
        path: path.to_path_buf(),
        source_name: short.to_string(),
        model_name: rule.model,
        conversion,
        units: Some(key.units.clone()),
        times: Some(times),
        levels: pressure.then_some(levels),
        lat,
        lon,
        data: values,
        member: key.member,
        messages: slots.iter().map(|s| s[0].index).collect(),
    })
}
