//! Conversions from a source's conventions to the model's: grid orientation, levels, units,
//! precipitation accumulations, the sea-surface-temperature land mask and regridding.

use super::field::Field;
use crate::data::netcdf_time::format_datetime;
use crate::{Error, Result};

/// Standard gravity (m/s²), the WMO value ERA5 uses between geopotential and its height.
pub const STANDARD_GRAVITY: f64 = 9.80665;

use crate::time::NS_PER_HOUR;

fn data_err(field: &Field, detail: String) -> Error {
    Error::Data {
        path: field.path.clone(),
        variable: field.source_name.clone(),
        detail,
    }
}

/// Puts latitudes in ascending order (flipping a north-to-south grid) and longitudes in 0..360
/// ascending (rolling a -180..180 grid), moving the values with them.
pub fn orient_grid(field: &mut Field) -> Result<()> {
    let mut lat_order: Vec<usize> = (0..field.lat.len()).collect();
    lat_order.sort_by(|&a, &b| field.lat[a].total_cmp(&field.lat[b]));
    let lon360: Vec<f64> = field.lon.iter().map(|x| x.rem_euclid(360.0)).collect();
    let mut lon_order: Vec<usize> = (0..lon360.len()).collect();
    lon_order.sort_by(|&a, &b| lon360[a].total_cmp(&lon360[b]));
    let lat: Vec<f64> = lat_order.iter().map(|&i| field.lat[i]).collect();
    let lon: Vec<f64> = lon_order.iter().map(|&i| lon360[i]).collect();
    for (name, c) in [("latitude", &lat), ("longitude", &lon)] {
        if let Some(w) = c.windows(2).find(|w| w[0] == w[1]) {
            return Err(data_err(field, format!("{name} {} appears twice", w[0])));
        }
    }
    if let Some(bad) = lat.iter().find(|x| x.abs() > 90.0) {
        return Err(data_err(
            field,
            format!("latitude {bad} is outside -90..90"),
        ));
    }
    let (nlat, nlon) = (lat.len(), lon.len());
    let mut data = Vec::with_capacity(field.data.len());
    for slab in field.data.chunks(nlat * nlon) {
        for &i in &lat_order {
            let row = &slab[i * nlon..(i + 1) * nlon];
            data.extend(lon_order.iter().map(|&j| row[j]));
        }
    }
    field.lat = lat;
    field.lon = lon;
    field.data = data;
    Ok(())
}

/// Keeps the pressure levels `wanted` (hPa), in that order. A level the field lacks is refused,
/// naming it and the levels found.
pub fn select_levels(field: &mut Field, wanted: &[i32]) -> Result<()> {
    let Some(have) = field.levels.clone() else {
        return Err(data_err(
            field,
            format!("has no pressure-level dimension; levels {wanted:?} hPa are needed"),
        ));
    };
    let missing: Vec<i32> = wanted
        .iter()
        .copied()
        .filter(|l| !have.contains(l))
        .collect();
    if !missing.is_empty() {
        return Err(data_err(
            field,
            format!("missing pressure level(s) {missing:?} hPa (found {have:?})"),
        ));
    }
    let n = field.n_grid();
    let mut data = Vec::with_capacity(field.n_times() * wanted.len() * n);
    for t in 0..field.n_times() {
        for l in wanted {
            let i = have.iter().position(|h| h == l).unwrap_or_default();
            data.extend_from_slice(field.slice(t, i));
        }
    }
    field.levels = Some(wanted.to_vec());
    field.data = data;
    Ok(())
}

/// Converts geopotential height to geopotential (m²/s²) if the field holds a height. Heights are
/// accepted only when the `units` attribute says metres (`m`, `gpm`, `metres`, `meters`).
pub fn height_to_geopotential(field: &mut Field) -> Result<()> {
    let units = field.units.clone().unwrap_or_default();
    if !matches!(
        units.trim(),
        "m" | "gpm" | "metres" | "meters" | "metre" | "meter"
    ) {
        return Err(data_err(
            field,
            format!(
                "is a geopotential height, but its units are `{units}`; expected metres \
                 (`m` or `gpm`), to multiply by g = {STANDARD_GRAVITY} m/s²"
            ),
        ));
    }
    for x in &mut field.data {
        *x = (f64::from(*x) * STANDARD_GRAVITY) as f32;
    }
    field.units = Some("m**2 s**-2".into());
    Ok(())
}

/// The valid times of a field, or an error saying it has no time dimension.
fn times(field: &Field) -> Result<&[i64]> {
    field
        .times
        .as_deref()
        .ok_or_else(|| data_err(field, "has no time dimension".into()))
}

fn found_times(times: &[i64]) -> String {
    match times {
        [] => "no times".into(),
        [one] => format_datetime(*one),
        [first, .., last] => format!(
            "{} values from {} to {}",
            times.len(),
            format_datetime(*first),
            format_datetime(*last)
        ),
    }
}

/// The horizontal slice (first level) of `field` at valid time `t`, or an error naming the time
/// and the times found.
pub fn at_time(field: &Field, t: i64, what: &str) -> Result<Vec<Vec<f32>>> {
    let have = times(field)?;
    let i = have.iter().position(|&x| x == t).ok_or_else(|| {
        data_err(
            field,
            format!(
                "no {what} at {} (found {})",
                format_datetime(t),
                found_times(have)
            ),
        )
    })?;
    Ok((0..field.n_levels())
        .map(|l| field.slice(i, l).to_vec())
        .collect())
}

/// Sums accumulations over `period` hours into totals over `total` hours ending at each of
/// `frames`. Every accumulation needed must be present; missing ones are refused by time.
pub fn accumulate(field: &Field, period: u32, total: u32, frames: &[i64]) -> Result<Vec<Vec<f32>>> {
    if period == 0 || !total.is_multiple_of(period) {
        return Err(data_err(
            field,
            format!("{period}-hour accumulations cannot be summed into {total}-hour totals"),
        ));
    }
    let have = times(field)?;
    let parts = (total / period) as i64;
    let mut out = Vec::with_capacity(frames.len());
    let mut missing = Vec::new();
    for &frame in frames {
        let mut sum = vec![0f64; field.n_grid()];
        for k in (0..parts).rev() {
            let t = frame - k * i64::from(period) * NS_PER_HOUR;
            match have.iter().position(|&x| x == t) {
                Some(i) => {
                    for (s, &x) in sum.iter_mut().zip(field.slice(i, 0)) {
                        *s += f64::from(x);
                    }
                }
                None => missing.push(format_datetime(t)),
            }
        }
        out.push(sum.into_iter().map(|x| x as f32).collect());
    }
    if !missing.is_empty() {
        return Err(data_err(
            field,
            format!(
                "{total}-hour precipitation needs the {period}-hour accumulations ending at \
                 every {period} h; missing {} (found {})",
                missing.join(", "),
                found_times(have)
            ),
        ));
    }
    Ok(out)
}

/// Sets sea-surface temperature to NaN over land (`land_sea_mask` >= `threshold`), as in the
/// reference data, where ERA5 SST is undefined over land.
pub fn mask_sst_over_land(sst: &mut [f32], land_sea_mask: &[f32], threshold: f32) {
    for (x, &m) in sst.iter_mut().zip(land_sea_mask) {
        if m >= threshold {
            *x = f32::NAN;
        }
    }
}

/// How a finer source grid is brought to the model's grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Regrid {
    /// Take the source points that lie on the model grid (the grids must nest).
    #[default]
    Subsample,
    /// Area-weighted average of the source cells overlapping each model cell.
    Conservative,
}

/// The finest model grid step (degrees) `prepare` builds: 3,601 × 7,200 points, five times finer
/// than GenCast's 0.25°. A finer step is refused before anything is allocated (0.0000001° would
/// be 1.8 × 10⁹ latitudes).
pub const FINEST_GRID_STEP: f64 = 0.05;

/// Fails unless `step` (degrees) is a model grid step from [`FINEST_GRID_STEP`] to 180°.
pub fn check_grid_step(step: f64) -> Result<()> {
    // A step a rounding error below 0.05 (e.g. 180 / 3600 computed in f64) is still 0.05.
    if (FINEST_GRID_STEP * (1.0 - 1e-9)..=180.0).contains(&step) {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "model grid step {step}°: expected a step from {FINEST_GRID_STEP}° to 180° (finer grids \
         are refused before anything is allocated)"
    )))
}

/// The model grid: latitudes -90..90 and longitudes 0..360 with step `step` degrees, which
/// [`check_grid_step`] must accept.
pub fn model_grid(step: f64) -> Result<(Vec<f64>, Vec<f64>)> {
    check_grid_step(step)?;
    let nlat = (180.0 / step).round() as usize + 1;
    let nlon = (360.0 / step).round() as usize;
    let lat = (0..nlat).map(|i| -90.0 + i as f64 * step).collect();
    let lon = (0..nlon).map(|j| j as f64 * step).collect();
    Ok((lat, lon))
}

/// Whether two coordinate lists are the same to within a millionth of a degree.
pub fn same_coords(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
}

fn uniform_step(c: &[f64]) -> Option<f64> {
    let step = c.get(1)? - c[0];
    c.windows(2)
        .all(|w| ((w[1] - w[0]) - step).abs() < 1e-6)
        .then_some(step)
}

/// Brings an oriented field onto the model grid (`lat`, `lon`). A field already on it is
/// unchanged; a finer uniform grid is subsampled (where the grids nest) or averaged
/// conservatively; anything else is refused.
pub fn regrid(field: &mut Field, lat: &[f64], lon: &[f64], how: Regrid) -> Result<()> {
    if same_coords(&field.lat, lat) && same_coords(&field.lon, lon) {
        return Ok(());
    }
    let grid = |c: &[f64]| match (c.first(), c.last()) {
        (Some(a), Some(b)) => format!("{} values {a}..{b}", c.len()),
        _ => "no values".into(),
    };
    let refuse = |why: &str| {
        data_err(
            field,
            format!(
                "grid (lat {}, lon {}) cannot be brought to the model grid (lat {}, lon {}): {why}",
                grid(&field.lat),
                grid(&field.lon),
                grid(lat),
                grid(lon)
            ),
        )
    };
    let (Some(src_lat_step), Some(src_lon_step), Some(lat_step), Some(lon_step)) = (
        uniform_step(&field.lat),
        uniform_step(&field.lon),
        uniform_step(lat),
        uniform_step(lon),
    ) else {
        return Err(refuse("a grid is not uniform"));
    };
    if src_lat_step > lat_step + 1e-9 || src_lon_step > lon_step + 1e-9 {
        return Err(refuse("the source grid is coarser than the model's"));
    }
    let (new, nl) = match how {
        Regrid::Subsample => {
            let find = |c: &[f64], x: f64| c.iter().position(|y| (x - y).abs() < 1e-6);
            let rows: Option<Vec<usize>> = lat.iter().map(|&x| find(&field.lat, x)).collect();
            let cols: Option<Vec<usize>> = lon.iter().map(|&x| find(&field.lon, x)).collect();
            let (Some(rows), Some(cols)) = (rows, cols) else {
                return Err(refuse(
                    "the grids do not nest (some model points are not source points); \
                     use --regrid conservative",
                ));
            };
            let src_nlon = field.lon.len();
            let mut data = Vec::new();
            for slab in field.data.chunks(field.n_grid()) {
                for &r in &rows {
                    data.extend(cols.iter().map(|&c| slab[r * src_nlon + c]));
                }
            }
            (data, lat.len() * lon.len())
        }
        Regrid::Conservative => {
            let wlat = lat_weights(&field.lat, lat, src_lat_step, lat_step);
            let wlon = lon_weights(&field.lon, lon, src_lon_step, lon_step);
            let src_nlon = field.lon.len();
            let mut data = Vec::new();
            for slab in field.data.chunks(field.n_grid()) {
                for row in &wlat {
                    for col in &wlon {
                        let (mut sum, mut weight, mut total) = (0f64, 0f64, 0f64);
                        for &(r, wr) in row {
                            for &(c, wc) in col {
                                let w = wr * wc;
                                total += w;
                                let x = slab[r * src_nlon + c];
                                if x.is_finite() {
                                    sum += w * f64::from(x);
                                    weight += w;
                                }
                            }
                        }
                        // A cell mostly covered by missing values (SST over land) stays missing.
                        data.push(if weight > 0.5 * total {
                            (sum / weight) as f32
                        } else {
                            f32::NAN
                        });
                    }
                }
            }
            (data, lat.len() * lon.len())
        }
    };
    debug_assert_eq!(new.len() % nl.max(1), 0);
    field.lat = lat.to_vec();
    field.lon = lon.to_vec();
    field.data = new;
    Ok(())
}

/// For each target latitude cell, the source rows overlapping it and their area weights
/// (differences of sin(latitude) over the overlap); cells are centred on the points and
/// clipped at the poles.
fn lat_weights(src: &[f64], dst: &[f64], src_step: f64, dst_step: f64) -> Vec<Vec<(usize, f64)>> {
    let edges = |c: f64, step: f64| ((c - step / 2.0).max(-90.0), (c + step / 2.0).min(90.0));
    dst.iter()
        .map(|&d| {
            let (a, b) = edges(d, dst_step);
            src.iter()
                .enumerate()
                .filter_map(|(i, &s)| {
                    let (c, e) = edges(s, src_step);
                    let (lo, hi) = (a.max(c), b.min(e));
                    (hi > lo).then(|| (i, hi.to_radians().sin() - lo.to_radians().sin()))
                })
                .collect()
        })
        .collect()
}

/// For each target longitude cell, the source columns overlapping it (across 0/360) and the
/// overlap lengths in degrees.
fn lon_weights(src: &[f64], dst: &[f64], src_step: f64, dst_step: f64) -> Vec<Vec<(usize, f64)>> {
    dst.iter()
        .map(|&d| {
            let (a, b) = (d - dst_step / 2.0, d + dst_step / 2.0);
            src.iter()
                .enumerate()
                .filter_map(|(i, &s)| {
                    let mut best = 0.0;
                    for shift in [-360.0, 0.0, 360.0] {
                        let (c, e) = (s + shift - src_step / 2.0, s + shift + src_step / 2.0);
                        let overlap = b.min(e) - a.max(c);
                        if overlap > best {
                            best = overlap;
                        }
                    }
                    (best > 1e-12).then_some((i, best))
                })
                .collect()
        })
        .collect()
}
