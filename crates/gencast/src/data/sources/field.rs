//! A source variable read into memory in a fixed layout: (time, level, lat, lon).

use std::path::{Path, PathBuf};

use super::tables::Conversion;

/// The dimension names each role goes by in the sources.
pub(crate) const TIME_NAMES: [&str; 3] = ["valid_time", "time", "datetime"];
/// Names of the pressure-level dimension.
pub(crate) const LEVEL_NAMES: [&str; 4] = ["pressure_level", "level", "isobaricInhPa", "plev"];
/// Names of the latitude dimension.
pub(crate) const LAT_NAMES: [&str; 2] = ["latitude", "lat"];
/// Names of the longitude dimension.
pub(crate) const LON_NAMES: [&str; 2] = ["longitude", "lon"];
/// Names of the ensemble-member dimension (CDS ensemble downloads call it `number`).
pub(crate) const MEMBER_NAMES: [&str; 3] = ["number", "member", "realization"];

/// One variable of one source, in the layout (time, level, lat, lon), as the source gives it
/// (grid orientation and units not yet converted).
#[derive(Debug, Clone)]
pub struct Field {
    /// The file or store it came from.
    pub path: PathBuf,
    /// Its name there.
    pub source_name: String,
    /// The model variable it holds.
    pub model_name: String,
    /// The conversion its name calls for.
    pub conversion: Conversion,
    /// The `units` attribute, if any.
    pub units: Option<String>,
    /// Valid times (ns since 1970), or `None` for a field without a time dimension.
    pub times: Option<Vec<i64>>,
    /// Pressure levels (hPa), or `None` for a single-level field.
    pub levels: Option<Vec<i32>>,
    /// Latitudes in the source's order.
    pub lat: Vec<f64>,
    /// Longitudes in the source's order.
    pub lon: Vec<f64>,
    /// Values, (time, level, lat, lon) row-major; absent dims have size 1.
    pub data: Vec<f32>,
    /// The ensemble member it holds (GRIB `number`, a `number` coordinate), if the source says.
    pub member: Option<i64>,
    /// The 0-based GRIB message index of each (time, level) slice, in slice order; empty for
    /// sources without messages.
    pub messages: Vec<usize>,
}

impl Field {
    /// Number of times (1 without a time dimension).
    pub fn n_times(&self) -> usize {
        self.times.as_ref().map_or(1, Vec::len)
    }

    /// Number of levels (1 for a single-level field).
    pub fn n_levels(&self) -> usize {
        self.levels.as_ref().map_or(1, Vec::len)
    }

    /// Points per horizontal slice.
    pub fn n_grid(&self) -> usize {
        self.lat.len() * self.lon.len()
    }

    /// Fails, naming the source and variable, unless the values fill exactly the
    /// (time, level, lat, lon) box the coordinates describe.
    pub fn check(&self) -> crate::Result<()> {
        let expected = [
            self.n_times(),
            self.n_levels(),
            self.lat.len(),
            self.lon.len(),
        ]
        .iter()
        .try_fold(1usize, |a, &n| a.checked_mul(n));
        if expected == Some(self.data.len()) && self.n_grid() > 0 {
            return Ok(());
        }
        Err(crate::Error::Data {
            path: self.path.clone(),
            variable: self.source_name.clone(),
            detail: format!(
                "{} values for {} times × {} levels × {} latitudes × {} longitudes (the \
                 coordinates and the array disagree, or the grid is empty)",
                self.data.len(),
                self.n_times(),
                self.n_levels(),
                self.lat.len(),
                self.lon.len()
            ),
        })
    }

    /// The horizontal slice at time index `t` and level index `l`.
    pub fn slice(&self, t: usize, l: usize) -> &[f32] {
        let n = self.n_grid();
        let start = (t * self.n_levels() + l) * n;
        &self.data[start..start + n]
    }

    /// Where the slice at time index `t` and level index `l` comes from, for messages:
    /// `` `t2m` in a.nc `` or `` `2t` in b.grib (message 3) ``.
    pub fn place(&self, t: usize, l: usize) -> String {
        let mut s = format!("`{}` in {}", self.source_name, self.path.display());
        if let Some(m) = self.messages.get(t * self.n_levels() + l) {
            s.push_str(&format!(" (message {m})"));
        }
        if let Some(n) = self.member {
            s.push_str(&format!(" (member {n})"));
        }
        s
    }
}

/// The member numbers of an ensemble dimension `name` of `size` in the source at `path`: its
/// coordinate's `values` (whole numbers, one per member), or 0, 1, ... without a coordinate.
pub(crate) fn member_numbers(
    path: &Path,
    name: &str,
    values: Option<Vec<f64>>,
    size: usize,
) -> crate::Result<Vec<i64>> {
    let err = |detail: String| crate::Error::Data {
        path: path.to_path_buf(),
        variable: name.to_string(),
        detail,
    };
    let Some(values) = values else {
        return Ok((0..size as i64).collect());
    };
    if values.len() != size {
        return Err(err(format!(
            "has {} values for a dimension of {size}",
            values.len()
        )));
    }
    values
        .into_iter()
        .map(|x| {
            if x.fract() == 0.0 && x.abs() < 1e9 {
                Ok(x as i64)
            } else {
                Err(err(format!("ensemble member {x} is not a whole number")))
            }
        })
        .collect()
}

/// Reorders `data` of shape `shape` into (time, level, lat, lon) values as [`transpose`] does:
/// one array per member when `members` gives the member dimension's axis and numbers (that
/// dimension has role `None` in `roles`), else one array without a member.
pub(crate) fn member_slabs(
    data: &[f32],
    shape: &[usize],
    roles: &[Option<usize>],
    out_shape: [usize; 4],
    members: Option<(usize, Vec<i64>)>,
) -> Vec<(Vec<f32>, Option<i64>)> {
    let Some((axis, numbers)) = members else {
        return vec![(transpose(data, shape, roles, out_shape), None)];
    };
    let mut part_shape = shape.to_vec();
    part_shape.remove(axis);
    let mut part_roles = roles.to_vec();
    part_roles.remove(axis);
    split_axis(data, shape, axis)
        .into_iter()
        .zip(numbers)
        .map(|(part, n)| {
            (
                transpose(&part, &part_shape, &part_roles, out_shape),
                Some(n),
            )
        })
        .collect()
}

/// Splits `data` of shape `shape` along dimension `axis` into one array per index of that
/// dimension, each of shape `shape` without `axis` (row-major).
pub(crate) fn split_axis(data: &[f32], shape: &[usize], axis: usize) -> Vec<Vec<f32>> {
    let n = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    let mut parts = vec![Vec::with_capacity(outer * inner); n];
    for o in 0..outer {
        for (k, part) in parts.iter_mut().enumerate() {
            let start = (o * n + k) * inner;
            part.extend_from_slice(&data[start..start + inner]);
        }
    }
    parts
}

/// Reorders `data` of shape `shape` (dims in `dims`) into (time, level, lat, lon), where
/// `roles[i]` is the position of dim `i` in that order (0 time, 1 level, 2 lat, 3 lon) or `None`
/// for a dimension of size 1 that is dropped. `out_shape` is the (time, level, lat, lon) shape.
/// Sizes that do not agree (`data` not of `shape`, `out_shape` not holding the same values, a
/// role out of range) give an empty result, which [`Field::check`] then refuses by name.
pub(crate) fn transpose(
    data: &[f32],
    shape: &[usize],
    roles: &[Option<usize>],
    out_shape: [usize; 4],
) -> Vec<f32> {
    let count = |s: &[usize]| s.iter().try_fold(1usize, |a, &n| a.checked_mul(n));
    let consistent = roles.len() == shape.len()
        && roles.iter().flatten().all(|&r| r < 4)
        && count(shape) == Some(data.len())
        && count(&out_shape) == Some(data.len())
        && roles
            .iter()
            .zip(shape)
            .all(|(r, &n)| r.map_or(n == 1, |r| out_shape[r] == n));
    if !consistent {
        return Vec::new();
    }
    let mut out_strides = [0usize; 4];
    let mut s = 1;
    for k in (0..4).rev() {
        out_strides[k] = s;
        s *= out_shape[k];
    }
    let mut out = vec![0.0f32; s];
    let mut index = vec![0usize; shape.len()];
    for &value in data {
        let mut o = 0;
        for (i, &ix) in index.iter().enumerate() {
            if let Some(r) = roles[i] {
                o += ix * out_strides[r];
            }
        }
        out[o] = value;
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_moves_each_value_to_its_role() {
        // (lon=2, lat=3) in the file: value = 10·lon + lat; out (1, 1, lat=3, lon=2).
        let data: Vec<f32> = (0..2)
            .flat_map(|x| (0..3).map(move |y| (10 * x + y) as f32))
            .collect();
        let out = transpose(&data, &[2, 3], &[Some(3), Some(2)], [1, 1, 3, 2]);
        assert_eq!(out, vec![0.0, 10.0, 1.0, 11.0, 2.0, 12.0]);
    }

    #[test]
    fn transpose_of_disagreeing_sizes_is_empty_not_a_panic() {
        let data = [1.0f32; 6];
        // Data of another size than the shape; an output shape of other sizes; a dropped
        // dimension that is not of size 1; a role out of range; sizes whose product overflows.
        assert!(transpose(&data, &[2, 4], &[Some(2), Some(3)], [1, 1, 2, 4]).is_empty());
        assert!(transpose(&data, &[2, 3], &[Some(2), Some(3)], [1, 1, 2, 4]).is_empty());
        assert!(transpose(&data, &[2, 3], &[None, Some(3)], [1, 1, 1, 3]).is_empty());
        assert!(transpose(&data, &[2, 3], &[Some(7), Some(3)], [1, 1, 2, 3]).is_empty());
        let huge = [usize::MAX, 2, 1, 1];
        assert!(transpose(&data, &[usize::MAX, 2], &[Some(0), Some(1)], huge).is_empty());
    }
}
