//! Normalisation with the `*_by_level` statistics and NaN cleaning (`InputsAndResiduals` in
//! <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/normalization.py>,
//! `NaNCleaner` in
//! <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/nan_cleaning.py>).
//!
//! Precision follows the reference's compiled forward pass: the f64 statistics are cast to f32
//! first; normalisation is `(x − μ) · (1/s)` in f32, the reciprocal `1/s` being an f32 division
//! done once (the reference divides by a constant, which the compiler turns into multiplication
//! by its f32 reciprocal; this reproduces the reference's normalised inputs bit for bit);
//! un-normalisation is `x · s + μ` (multiply, then add).

use std::path::Path;

use super::stats::NormStats;
use crate::{Error, Result};

/// f32 location and scale of one variable at one level. A missing entry (the statistics file
/// has no such variable) leaves that part of the transform out, as the reference does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LevelNorm {
    /// Subtracted before scaling (the mean), if any.
    pub location: Option<f32>,
    /// Divided by (the standard deviation), if any.
    pub scale: Option<f32>,
}

impl LevelNorm {
    /// The identity transform.
    pub(crate) const IDENTITY: LevelNorm = LevelNorm {
        location: None,
        scale: None,
    };

    /// Builds the transform from f64 statistics, cast to f32 as the reference does.
    pub(crate) fn from_f64(location: Option<f64>, scale: Option<f64>) -> LevelNorm {
        LevelNorm {
            location: location.map(|m| m as f32),
            scale: scale.map(|s| s as f32),
        }
    }

    /// `1/scale` in f32 (1 when there is no scale).
    fn inv_scale(&self) -> Option<f32> {
        self.scale.map(|s| 1.0f32 / s)
    }

    /// `(location, 1/scale)` with 0 and 1 for absent parts: `(x − location) · (1/scale)` then
    /// gives exactly [`LevelNorm::normalize`] (subtracting +0 and multiplying by 1 are exact).
    pub(crate) fn affine(&self) -> (f32, f32) {
        (
            self.location.unwrap_or(0.0),
            self.inv_scale().unwrap_or(1.0),
        )
    }

    /// Normalises one value: `(x − location) · (1/scale)`.
    pub(crate) fn normalize(&self, x: f32) -> f32 {
        let mut v = x;
        if let Some(m) = self.location {
            v -= m;
        }
        if let Some(r) = self.inv_scale() {
            v *= r;
        }
        v
    }

    /// Normalises a slice in place.
    #[cfg(test)]
    pub(crate) fn normalize_slice(&self, xs: &mut [f32]) {
        let loc = self.location;
        let inv = self.inv_scale();
        for x in xs {
            let mut v = *x;
            if let Some(m) = loc {
                v -= m;
            }
            if let Some(r) = inv {
                v *= r;
            }
            *x = v;
        }
    }

    /// Un-normalises one value: `x · scale + location`.
    pub(crate) fn unnormalize(&self, x: f32) -> f32 {
        let mut v = x;
        if let Some(s) = self.scale {
            v *= s;
        }
        if let Some(m) = self.location {
            v += m;
        }
        v
    }
}

/// Replaces every NaN in `xs` by `fill`; returns how many were replaced.
pub(crate) fn fill_nan(xs: &mut [f32], fill: f32) -> usize {
    let mut n = 0;
    for x in xs.iter_mut().filter(|x| x.is_nan()) {
        *x = fill;
        n += 1;
    }
    n
}

/// `mask[i]` is true where any of the frames is NaN at position `i` (frames of equal length).
pub(crate) fn nan_mask_any(frames: &[&[f32]]) -> Vec<bool> {
    let n = frames.first().map_or(0, |f| f.len());
    let mut mask = vec![false; n];
    for f in frames {
        for (m, x) in mask.iter_mut().zip(f.iter()) {
            *m |= x.is_nan();
        }
    }
    mask
}

/// Per-level values of `var` in `stats` as f32 normalisation constants: `None` when the file has
/// no entry for `var`; a scalar entry is repeated for every level. `levels` is empty for
/// surface variables (one value).
pub(crate) fn stats_for(stats: &NormStats, var: &str, levels: &[i32]) -> Result<Option<Vec<f64>>> {
    if !stats.contains(var) {
        return Ok(None);
    }
    let n = levels.len().max(1);
    let values = stats.get(var, levels)?;
    match (values.len(), stats.is_levelled(var)) {
        (1, Some(false)) => Ok(Some(vec![values[0]; n])),
        (k, Some(true)) if k == levels.len() && k > 0 => Ok(Some(values)),
        _ => Err(stats_shape_error(stats.path(), var, levels)),
    }
}

fn stats_shape_error(path: &Path, var: &str, levels: &[i32]) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        variable: var.to_string(),
        detail: if levels.is_empty() {
            "statistics are per level but the variable is a surface field".into()
        } else {
            format!("statistics do not cover the levels {levels:?}")
        },
    }
}

/// One [`LevelNorm`] per level from a location and a scale statistics file (either may lack
/// the variable); `levels` is empty for surface variables.
pub(crate) fn level_norms(
    locations: Option<&NormStats>,
    scales: &NormStats,
    var: &str,
    levels: &[i32],
) -> Result<Vec<LevelNorm>> {
    let n = levels.len().max(1);
    let loc = match locations {
        Some(l) => stats_for(l, var, levels)?,
        None => None,
    };
    let scale = stats_for(scales, var, levels)?;
    Ok((0..n)
        .map(|i| LevelNorm::from_f64(loc.as_ref().map(|v| v[i]), scale.as_ref().map(|v| v[i])))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_uses_f32_reciprocal() {
        let n = LevelNorm::from_f64(Some(273.15), Some(3.0));
        let x = 280.0f32;
        let expected = (x - 273.15f64 as f32) * (1.0f32 / 3.0);
        assert_eq!(n.normalize(x).to_bits(), expected.to_bits());
        let mut v = [x, 100.0];
        n.normalize_slice(&mut v);
        assert_eq!(v[0].to_bits(), expected.to_bits());
        // Round trip to f32 round-off: |x| ≈ 300 so a few ulps of 300 (≈ 3e-5).
        for x in [100.0f32, 273.15, 280.0, 320.5] {
            assert!((n.unnormalize(n.normalize(x)) - x).abs() <= 1e-4);
        }
    }

    #[test]
    fn missing_parts_are_skipped() {
        let only_scale = LevelNorm::from_f64(None, Some(2.0));
        assert_eq!(only_scale.normalize(3.0), 1.5);
        assert_eq!(only_scale.unnormalize(1.5), 3.0);
        let only_loc = LevelNorm::from_f64(Some(1.0), None);
        assert_eq!(only_loc.normalize(3.0), 2.0);
        assert_eq!(only_loc.unnormalize(2.0), 3.0);
        assert_eq!(LevelNorm::IDENTITY.normalize(7.0), 7.0);
        for n in [only_scale, only_loc, LevelNorm::IDENTITY] {
            let (m, r) = n.affine();
            for x in [-0.0f32, 0.0, 3.0, -2.5e-9, f32::NAN] {
                assert_eq!(((x - m) * r).to_bits(), n.normalize(x).to_bits());
            }
        }
    }

    #[test]
    fn nan_fill_and_mask() {
        let mut a = [1.0, f32::NAN, 3.0, f32::NAN];
        let b = [f32::NAN, 2.0, 3.0, 4.0];
        let mask = nan_mask_any(&[&a, &b]);
        assert_eq!(mask, [true, true, false, true]);
        assert_eq!(fill_nan(&mut a, -1.5), 2);
        assert_eq!(a, [1.0, -1.5, 3.0, -1.5]);
    }
}
