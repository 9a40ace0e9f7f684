//! Ensemble statistics (mean, standard deviation, quantiles) and probabilistic scores against a
//! verifying analysis (fair CRPS, ensemble-mean RMSE, spread/skill ratio), area-weighted like the
//! reference's training loss.
//!
//! Conventions, for `M` members `x_1..x_M`, the truth `y` and the ensemble mean `x̄` at a point:
//! - standard deviation: `sqrt(Σ(x_m − x̄)² / (M − ddof))` (ddof 1 by default in the CLI);
//! - quantiles: linear interpolation between order statistics at virtual index `q·(M − 1)`
//!   (numpy's default `method="linear"`);
//! - fair CRPS: `(1/M)·Σ|x_m − y| − Σ_{i<j}|x_i − x_j| / (M(M − 1))`, i.e. the spread term
//!   `½·E|X − X'|` averaged over the `M(M − 1)` ordered pairs of distinct members; for `M = 1`
//!   the spread term is 0 and the CRPS is the absolute error;
//! - ensemble variance `s² = Σ(x_m − x̄)² / (M − 1)` (undefined, NaN, for `M = 1`);
//! - ensemble-mean MSE `⟨(x̄ − y)²⟩`, and its unbiased version `⟨(x̄ − y)²⟩ − ⟨s²⟩/M`
//!   (WeatherBench-X `UnbiasedEnsembleMeanSquaredError`: the expected MSE of an infinite
//!   ensemble's mean), whose root is taken after clamping negative estimates to 0;
//! - spread `sqrt(⟨s²⟩)`, skill `sqrt(⟨(x̄ − y)²⟩)` and the spread/skill ratio
//!   `sqrt((M + 1)/M)·spread/skill`, which is 1 in expectation for a calibrated ensemble;
//!
//! where `⟨·⟩` is the area-weighted mean over the points that are finite in every member (and
//! in the truth): `Σ w_p v_p / Σ w_p` with the latitude weights of
//! [`normalized_latitude_weights`]. Without missing values this equals the reference's
//! `mean(v · w)` since the weights have mean 1; missing points (sea-surface temperature over land)
//! are dropped and the weights renormalised over the rest.
//!
//! All sums run in f64 over fixed chunks of points whose partial sums are then added in chunk
//! order, so the results do not depend on the number of threads.

use rayon::prelude::*;
use serde::Serialize;

use crate::{Error, Result};

/// Points per parallel work item; fixed so that reductions do not depend on the thread count.
const CHUNK: usize = 4096;

/// Tolerance, in degrees, for the uniform-spacing and end-point checks of latitude grids
/// (coordinates are stored as f32; 1e-3° separates every grid in use).
const LAT_TOL: f64 = 1e-3;

fn invalid(detail: String) -> Error {
    Error::Invalid(detail)
}

/// Latitude weights proportional to the area of each latitude band, normalised to mean 1,
/// as the reference's `losses.normalized_latitude_weights`: `cos(lat)` on grids whose extreme
/// latitudes are `±(90 − Δ/2)`; on grids including the poles, `cos(lat)·sin(Δ/2)` with the two
/// pole rows given the polar-cap area `sin²(Δ/4)`. Latitudes must be uniformly spaced
/// (ascending or descending).
pub fn normalized_latitude_weights(lat: &[f32]) -> Result<Vec<f64>> {
    let n = lat.len();
    if n < 2 {
        return Err(invalid(format!(
            "latitude weights need at least 2 latitudes, found {n}"
        )));
    }
    let lat: Vec<f64> = lat.iter().map(|&x| f64::from(x)).collect();
    if lat.iter().any(|x| !x.is_finite()) {
        return Err(invalid("latitudes contain non-finite values".into()));
    }
    let delta = lat[1] - lat[0];
    if delta.abs() <= LAT_TOL {
        return Err(invalid(format!(
            "latitudes repeat: {} and {}",
            lat[0], lat[1]
        )));
    }
    if let Some(i) = lat
        .windows(2)
        .position(|w| ((w[1] - w[0]) - delta).abs() > LAT_TOL)
    {
        return Err(invalid(format!(
            "latitudes are not uniformly spaced: step {} at index {}, expected {delta}",
            lat[i + 1] - lat[i],
            i + 1
        )));
    }
    let d = delta.abs();
    let (lo, hi) = if delta > 0.0 {
        (lat[0], lat[n - 1])
    } else {
        (lat[n - 1], lat[0])
    };
    let has_poles = lat.iter().any(|x| (x.abs() - 90.0).abs() <= LAT_TOL);
    let mut w: Vec<f64>;
    if has_poles {
        if (hi - 90.0).abs() > LAT_TOL || (lo + 90.0).abs() > LAT_TOL {
            return Err(invalid(format!(
                "latitudes run from {lo} to {hi}; a grid with a pole must run from -90 to 90"
            )));
        }
        let band = (d / 2.0).to_radians().sin();
        w = lat.iter().map(|x| x.to_radians().cos() * band).collect();
        let cap = (d / 4.0).to_radians().sin().powi(2);
        w[0] = cap;
        w[n - 1] = cap;
    } else {
        let edge = 90.0 - d / 2.0;
        if (hi - edge).abs() > LAT_TOL || (lo + edge).abs() > LAT_TOL {
            return Err(invalid(format!(
                "latitudes run from {lo} to {hi}; expected ±90 or ±{edge} (half a step from the poles)"
            )));
        }
        w = lat.iter().map(|x| x.to_radians().cos()).collect();
    }
    let mean = w.iter().sum::<f64>() / n as f64;
    Ok(w.into_iter().map(|x| x / mean).collect())
}

/// Per-point weights of a `lat × lon` field in row-major (latitude-major) order: the
/// normalised latitude weight of each point's row.
pub fn grid_weights(lat: &[f32], nlon: usize) -> Result<Vec<f64>> {
    let rows = normalized_latitude_weights(lat)?;
    Ok(rows
        .iter()
        .flat_map(|&w| std::iter::repeat_n(w, nlon))
        .collect())
}

/// Checks that `members` is non-empty and every member has `points` values.
pub(crate) fn check_members(members: &[&[f32]], points: usize, what: &str) -> Result<()> {
    if members.is_empty() {
        return Err(invalid(format!("{what}: the ensemble has no members")));
    }
    if let Some(m) = members.iter().position(|x| x.len() != points) {
        return Err(Error::Shape {
            what: format!("{what}: member {m}"),
            expected: vec![points],
            found: vec![members[m].len()],
        });
    }
    Ok(())
}

/// Ensemble mean and standard deviation (`Σ(x − x̄)²/(M − ddof)`, NaN when `M ≤ ddof`) at every
/// point, written into `mean` and `std`. A point missing (NaN) in any member is NaN in both.
pub fn ensemble_mean_std(
    members: &[&[f32]],
    ddof: usize,
    mean: &mut [f32],
    std: &mut [f32],
) -> Result<()> {
    let points = mean.len();
    check_members(members, points, "ensemble mean/std")?;
    if std.len() != points {
        return Err(Error::Shape {
            what: "ensemble std output".into(),
            expected: vec![points],
            found: vec![std.len()],
        });
    }
    let m = members.len();
    let denom = m.checked_sub(ddof).filter(|&d| d > 0).map(|d| d as f64);
    mean.par_chunks_mut(CHUNK)
        .zip(std.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(c, (mean, std))| {
            let start = c * CHUNK;
            let mut acc = vec![0f64; mean.len()];
            for x in members {
                for (a, &v) in acc.iter_mut().zip(&x[start..start + mean.len()]) {
                    *a += f64::from(v);
                }
            }
            acc.iter_mut().for_each(|a| *a /= m as f64);
            let mut ss = vec![0f64; mean.len()];
            for x in members {
                for ((s, &a), &v) in ss.iter_mut().zip(&acc).zip(&x[start..start + mean.len()]) {
                    let d = f64::from(v) - a;
                    *s += d * d;
                }
            }
            for (i, (&a, &s)) in acc.iter().zip(&ss).enumerate() {
                mean[i] = a as f32;
                std[i] = match denom {
                    Some(d) => (s / d).sqrt() as f32,
                    None => f32::NAN,
                };
            }
        });
    Ok(())
}

/// Linear interpolation `a + t(b − a)` in numpy's form (exact at both ends).
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// The `q`-quantile of ascending `sorted` values by linear interpolation at index `q·(n − 1)`.
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let h = q * (sorted.len() - 1) as f64;
    let lo = (h.floor() as usize).min(sorted.len() - 1);
    let hi = (lo + 1).min(sorted.len() - 1);
    lerp(sorted[lo], sorted[hi], h - lo as f64)
}

/// Ensemble quantiles at every point, numpy's default (`linear`) method; `out` is laid out
/// `[quantile][point]`. A point missing (NaN) in any member is NaN at every quantile.
pub fn ensemble_quantiles(members: &[&[f32]], quantiles: &[f64], out: &mut [f32]) -> Result<()> {
    let points = members.first().map_or(0, |x| x.len());
    check_members(members, points, "ensemble quantiles")?;
    if let Some(q) = quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
        return Err(invalid(format!("quantile {q} is outside [0, 1]")));
    }
    if out.len() != quantiles.len() * points {
        return Err(Error::Shape {
            what: "ensemble quantiles output".into(),
            expected: vec![quantiles.len(), points],
            found: vec![out.len()],
        });
    }
    let chunks: Vec<Vec<f32>> = (0..points.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let range = c * CHUNK..((c + 1) * CHUNK).min(points);
            let mut local = vec![0f32; quantiles.len() * range.len()];
            let mut buf = Vec::with_capacity(members.len());
            for (i, p) in range.clone().enumerate() {
                buf.clear();
                buf.extend(members.iter().map(|x| f64::from(x[p])));
                let missing = buf.iter().any(|v| v.is_nan());
                buf.sort_by(f64::total_cmp);
                for (k, &q) in quantiles.iter().enumerate() {
                    local[k * range.len() + i] = if missing {
                        f32::NAN
                    } else {
                        quantile_sorted(&buf, q) as f32
                    };
                }
            }
            local
        })
        .collect();
    for (c, local) in chunks.iter().enumerate() {
        let start = c * CHUNK;
        let len = local.len() / quantiles.len().max(1);
        for k in 0..quantiles.len() {
            out[k * points + start..k * points + start + len]
                .copy_from_slice(&local[k * len..(k + 1) * len]);
        }
    }
    Ok(())
}

/// Area-weighted summary of one field (one variable, level and lead time) of an ensemble, and
/// its scores against the truth when one is given (truth-based entries are NaN otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Scores {
    /// Number of members `M`.
    pub members: usize,
    /// Points used (finite in every member and in the truth).
    pub valid_points: usize,
    /// Weighted mean of the ensemble mean.
    pub mean: f64,
    /// Spread: root of the weighted mean ensemble variance (ddof 1; NaN for one member).
    pub spread: f64,
    /// Fair CRPS.
    pub crps: f64,
    /// Ensemble-mean mean squared error.
    pub mse: f64,
    /// Ensemble-mean RMSE (the skill).
    pub rmse: f64,
    /// Unbiased ensemble-mean MSE: `mse − spread²/M`.
    pub mse_unbiased: f64,
    /// Root of the unbiased MSE clamped at 0.
    pub rmse_unbiased: f64,
    /// `sqrt((M + 1)/M)·spread/rmse`.
    pub spread_skill: f64,
}

/// Weighted partial sums over one chunk of points.
#[derive(Clone, Copy, Default)]
struct Partial {
    n: usize,
    w: f64,
    mean: f64,
    var: f64,
    crps: f64,
    se: f64,
}

/// Fair CRPS of the values in `buf` (sorted in place) against `y`.
pub(crate) fn fair_crps(buf: &mut [f64], y: f64) -> f64 {
    let m = buf.len();
    let skill = buf.iter().map(|x| (x - y).abs()).sum::<f64>() / m as f64;
    if m < 2 {
        return skill;
    }
    buf.sort_by(f64::total_cmp);
    // Σ_{i<j} |x_i − x_j| = Σ_k (2k − (M − 1)) x_(k) over the ascending order statistics.
    let pairs: f64 = buf
        .iter()
        .enumerate()
        .map(|(k, x)| (2.0 * k as f64 - (m - 1) as f64) * x)
        .sum();
    skill - pairs / (m * (m - 1)) as f64
}

/// Summary and scores of one field: `members[m]`, `truth` (optional) and `weights` (e.g. from
/// [`grid_weights`]) all hold the same points in the same order.
pub fn field_scores(members: &[&[f32]], truth: Option<&[f32]>, weights: &[f64]) -> Result<Scores> {
    let points = weights.len();
    check_members(members, points, "field scores")?;
    if let Some(t) = truth {
        if t.len() != points {
            return Err(Error::Shape {
                what: "field scores: truth".into(),
                expected: vec![points],
                found: vec![t.len()],
            });
        }
    }
    let m = members.len();
    let partials: Vec<Partial> = (0..points.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut p = Partial::default();
            let mut buf = Vec::with_capacity(m);
            for i in c * CHUNK..((c + 1) * CHUNK).min(points) {
                buf.clear();
                buf.extend(members.iter().map(|x| f64::from(x[i])));
                let y = truth.map(|t| f64::from(t[i]));
                if buf.iter().any(|v| !v.is_finite()) || y.is_some_and(|y| !y.is_finite()) {
                    continue;
                }
                let w = weights[i];
                let mean = buf.iter().sum::<f64>() / m as f64;
                p.n += 1;
                p.w += w;
                p.mean += w * mean;
                if m >= 2 {
                    let ss: f64 = buf.iter().map(|x| (x - mean) * (x - mean)).sum();
                    p.var += w * ss / (m - 1) as f64;
                }
                if let Some(y) = y {
                    p.se += w * (mean - y) * (mean - y);
                    p.crps += w * fair_crps(&mut buf, y);
                }
            }
            p
        })
        .collect();
    let mut t = Partial::default();
    for p in &partials {
        t.n += p.n;
        t.w += p.w;
        t.mean += p.mean;
        t.var += p.var;
        t.crps += p.crps;
        t.se += p.se;
    }
    let nan = f64::NAN;
    let avg = |s: f64| if t.w > 0.0 { s / t.w } else { nan };
    let var = if m >= 2 { avg(t.var) } else { nan };
    let (crps, mse) = if truth.is_some() {
        (avg(t.crps), avg(t.se))
    } else {
        (nan, nan)
    };
    Ok(Scores::from_moments(m, t.n, avg(t.mean), var, crps, mse))
}

impl Scores {
    /// The scores of `members` members over `valid_points` points from the weighted means of
    /// the ensemble mean, the ddof-1 variance, the fair CRPS and the squared error of the mean.
    fn from_moments(
        members: usize,
        valid_points: usize,
        mean: f64,
        var: f64,
        crps: f64,
        mse: f64,
    ) -> Scores {
        let m = members as f64;
        let mse_unbiased = mse - var / m;
        let (rmse, spread) = (mse.sqrt(), var.sqrt());
        Scores {
            members,
            valid_points,
            mean,
            spread,
            crps,
            mse,
            rmse,
            mse_unbiased,
            // `f64::max` would turn NaN into 0, so clamp explicitly.
            rmse_unbiased: if mse_unbiased < 0.0 {
                0.0
            } else {
                mse_unbiased.sqrt()
            },
            spread_skill: ((m + 1.0) / m).sqrt() * spread / rmse,
        }
    }
}

/// Scores of an ensemble summary (the ensemble mean, and the ddof-1 standard deviation when
/// written, of `members` members) against `truth`: the mean-based scores of [`field_scores`]
/// (mean, RMSE, unbiased RMSE, and spread and spread/skill from the standard deviation), from
/// the points finite in the mean, the standard deviation and the truth. The fair CRPS needs
/// the members themselves: it is NaN.
pub fn summary_scores(
    mean: &[f32],
    std: Option<&[f32]>,
    members: usize,
    truth: Option<&[f32]>,
    weights: &[f64],
) -> Result<Scores> {
    let points = weights.len();
    check_members(&[mean], points, "summary scores: mean")?;
    for (what, f) in [("standard deviation", std), ("truth", truth)] {
        if let Some(f) = f {
            if f.len() != points {
                return Err(Error::Shape {
                    what: format!("summary scores: {what}"),
                    expected: vec![points],
                    found: vec![f.len()],
                });
            }
        }
    }
    if members == 0 {
        return Err(invalid(
            "summary scores: the ensemble has no members".into(),
        ));
    }
    let mut t = Partial::default();
    for i in 0..points {
        let x = f64::from(mean[i]);
        let s = std.map(|s| f64::from(s[i]));
        let y = truth.map(|t| f64::from(t[i]));
        if !x.is_finite() || s.is_some_and(|s| !s.is_finite()) || y.is_some_and(|y| !y.is_finite())
        {
            continue;
        }
        let w = weights[i];
        t.n += 1;
        t.w += w;
        t.mean += w * x;
        t.var += w * s.map_or(0.0, |s| s * s);
        if let Some(y) = y {
            t.se += w * (x - y) * (x - y);
        }
    }
    let nan = f64::NAN;
    let avg = |s: f64| if t.w > 0.0 { s / t.w } else { nan };
    let m = members;
    let var = if std.is_some() && m >= 2 {
        avg(t.var)
    } else {
        nan
    };
    let mse = if truth.is_some() { avg(t.se) } else { nan };
    Ok(Scores::from_moments(m, t.n, avg(t.mean), var, nan, mse))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lerp_is_exact_at_ends() {
        assert_eq!(lerp(1.0, 3.0, 0.0), 1.0);
        assert_eq!(lerp(1.0, 3.0, 1.0), 3.0);
        assert_eq!(lerp(1.0, 3.0, 0.25), 1.5);
    }

    #[test]
    fn fair_crps_pair_formula_matches_hand_value() {
        // Members 1 and 3, truth 2: skill (1 + 1)/2 = 1, spread term |1 − 3|/(2·1) = 1, CRPS 0.
        assert_eq!(fair_crps(&mut [3.0, 1.0], 2.0), 0.0);
    }

    #[test]
    fn summary_scores_equal_the_members_mean_scores() {
        // Members (1, 3), (2, 6), (0, 4) at three points of weights 1, 2, 1; truth 1, 5, 2.
        let members: [&[f32]; 2] = [&[1.0, 2.0, 0.0], &[3.0, 6.0, 4.0]];
        let (truth, w) = ([1.0f32, 5.0, 2.0], [1.0, 2.0, 1.0]);
        let full = field_scores(&members, Some(&truth), &w).unwrap();
        let (mut mean, mut std) = ([0f32; 3], [0f32; 3]);
        ensemble_mean_std(&members, 1, &mut mean, &mut std).unwrap();
        let s = summary_scores(&mean, Some(&std), 2, Some(&truth), &w).unwrap();
        // Means (2, 4, 2) are exact in f32: the same sums in f64.
        assert_eq!((s.mean, s.rmse), (full.mean, full.rmse));
        // Standard deviations (√2, √8, √8) are stored as f32: relative errors below 6e-8 each,
        // 1.2e-7 on their squares.
        for (a, b) in [
            (s.spread, full.spread),
            (s.rmse_unbiased, full.rmse_unbiased),
            (s.spread_skill, full.spread_skill),
        ] {
            assert!((a - b).abs() <= 2e-7 * b.abs(), "{s:?} vs {full:?}");
        }
        // Hand values: mean (2 + 8 + 2)/4 = 3; MSE (1 + 2·1 + 0)/4 = 0.75.
        assert_eq!((s.mean, s.mse, s.valid_points), (3.0, 0.75, 3));
        assert!(s.crps.is_nan() && !full.crps.is_nan());
        // Without the standard deviation, no spread.
        let s = summary_scores(&mean, None, 2, Some(&truth), &w).unwrap();
        assert!(s.spread.is_nan() && s.spread_skill.is_nan() && s.rmse == full.rmse);
        assert!(summary_scores(&mean[..2], None, 2, None, &w).is_err());
    }
}
