//! The fields that give one model variable, brought together: the ensemble member asked for is
//! kept, and fields (from several sources, or repeated times or levels within one) are merged
//! into one, refusing any two that give different values for the same level and valid time.

use std::collections::{BTreeMap, BTreeSet};

use super::convert;
use super::field::Field;
use crate::data::netcdf_time::format_datetime;
use crate::{Error, Result};

/// Keeps the fields of ensemble member `member` and those that name no member. Without a
/// `member`, fields of several members are refused, saying how to choose one.
pub(crate) fn select_member(fields: Vec<Field>, member: Option<i64>) -> Result<Vec<Field>> {
    let mut members: BTreeMap<i64, String> = BTreeMap::new();
    for f in &fields {
        if let Some(n) = f.member {
            members
                .entry(n)
                .or_insert_with(|| format!("`{}` in {}", f.source_name, f.path.display()));
        }
    }
    let listing = || {
        members
            .iter()
            .map(|(n, at)| format!("{n} ({at})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match member {
        None if members.len() > 1 => Err(Error::Invalid(format!(
            "the sources hold {} ensemble members: {}; choose the member to prepare \
             (`--member N`)",
            members.len(),
            listing()
        ))),
        None => Ok(fields),
        Some(n) if !members.contains_key(&n) => Err(Error::Invalid(if members.is_empty() {
            format!("ensemble member {n} was asked for, but no source holds ensemble members")
        } else {
            format!(
                "ensemble member {n} is in none of the sources; members found: {}",
                listing()
            )
        })),
        Some(n) => Ok(fields
            .into_iter()
            .filter(|f| f.member.is_none_or(|m| m == n))
            .collect()),
    }
}

fn bits(x: f32) -> u32 {
    // All NaNs compare equal (SST over land is NaN in every copy).
    if x.is_nan() {
        u32::MAX
    } else {
        x.to_bits()
    }
}

fn describe(time: Option<i64>, level: Option<i32>) -> String {
    let mut s = String::new();
    if let Some(l) = level {
        s.push_str(&format!(" at {l} hPa"));
    }
    if let Some(t) = time {
        s.push_str(&format!(" at {}", format_datetime(t)));
    }
    s
}

/// Merges `fields`, all holding the model variable `name` on oriented grids and in the model's
/// units, into one field over the union of their valid times and levels. Two slices for the
/// same time and level must be identical (then one is kept); different values are refused,
/// naming both places and the first point where they differ.
pub(crate) fn merge(name: &str, mut fields: Vec<Field>) -> Result<Field> {
    let Some(first) = fields.first() else {
        return Err(Error::Invalid(format!("no field gives `{name}`")));
    };
    let unique = |f: &Field| {
        let t = f.times.as_deref().unwrap_or_default();
        let l = f.levels.as_deref().unwrap_or_default();
        t.iter().collect::<BTreeSet<_>>().len() == t.len()
            && l.iter().collect::<BTreeSet<_>>().len() == l.len()
    };
    if fields.len() == 1 && unique(first) {
        return Ok(fields.remove(0));
    }
    for f in &fields[1..] {
        if !convert::same_coords(&f.lat, &first.lat) || !convert::same_coords(&f.lon, &first.lon) {
            return Err(Error::Invalid(format!(
                "`{name}` is given twice, on different grids: by {} ({}×{} points) and by {} \
                 ({}×{}); keep one source of it",
                first.place(0, 0),
                first.lat.len(),
                first.lon.len(),
                f.place(0, 0),
                f.lat.len(),
                f.lon.len()
            )));
        }
        if f.times.is_some() != first.times.is_some() {
            return Err(Error::Invalid(format!(
                "`{name}` is given with valid times by {} and without by {}",
                if first.times.is_some() {
                    first.place(0, 0)
                } else {
                    f.place(0, 0)
                },
                if first.times.is_some() {
                    f.place(0, 0)
                } else {
                    first.place(0, 0)
                },
            )));
        }
    }
    // (time, level) -> (field, time index, level index) of the first copy.
    type Key = (Option<i64>, Option<i32>);
    let mut at: BTreeMap<Key, (usize, usize, usize)> = BTreeMap::new();
    for (k, f) in fields.iter().enumerate() {
        for ti in 0..f.n_times() {
            for li in 0..f.n_levels() {
                let key = (
                    f.times.as_ref().map(|t| t[ti]),
                    f.levels.as_ref().map(|l| l[li]),
                );
                let Some(&(k0, t0, l0)) = at.get(&key) else {
                    at.insert(key, (k, ti, li));
                    continue;
                };
                let (a, b) = (fields[k0].slice(t0, l0), f.slice(ti, li));
                if let Some(i) = (0..a.len()).find(|&i| bits(a[i]) != bits(b[i])) {
                    let nlon = f.lon.len().max(1);
                    return Err(Error::Invalid(format!(
                        "`{name}`{} is given twice with different values: by {} and by {} \
                         (first difference at lat {} lon {}: {} and {}); keep one of them",
                        describe(key.0, key.1),
                        fields[k0].place(t0, l0),
                        f.place(ti, li),
                        f.lat[i / nlon],
                        f.lon[i % nlon],
                        a[i],
                        b[i]
                    )));
                }
            }
        }
    }
    let times: Option<Vec<i64>> = first
        .times
        .as_ref()
        .map(|_| at.keys().filter_map(|k| k.0).collect::<BTreeSet<_>>())
        .map(|s| s.into_iter().collect());
    let levels: Option<Vec<i32>> = first
        .levels
        .as_ref()
        .map(|_| at.keys().filter_map(|k| k.1).collect::<BTreeSet<_>>())
        .map(|s| s.into_iter().collect());
    let tkeys: Vec<Option<i64>> = match &times {
        Some(t) => t.iter().copied().map(Some).collect(),
        None => vec![None],
    };
    let lkeys: Vec<Option<i32>> = match &levels {
        Some(l) => l.iter().copied().map(Some).collect(),
        None => vec![None],
    };
    let mut data = Vec::with_capacity(tkeys.len() * lkeys.len() * first.n_grid());
    let mut messages = Vec::new();
    for &t in &tkeys {
        for &l in &lkeys {
            let Some(&(k, ti, li)) = at.get(&(t, l)) else {
                let places: Vec<String> = fields.iter().map(|f| f.place(0, 0)).collect();
                return Err(Error::Invalid(format!(
                    "`{name}` has no values{} in {}, though other levels or times are there",
                    describe(t, l),
                    places.join(" or ")
                )));
            };
            data.extend_from_slice(fields[k].slice(ti, li));
            if let Some(&m) = fields[k].messages.get(ti * fields[k].n_levels() + li) {
                messages.push(m);
            }
        }
    }
    let single_source = fields.iter().all(|f| f.path == fields[0].path);
    let mut out = fields.swap_remove(0);
    out.times = times;
    out.levels = levels;
    out.data = data;
    out.messages = if single_source && messages.len() == tkeys.len() * lkeys.len() {
        messages
    } else {
        Vec::new()
    };
    Ok(out)
}
