//! Verification beyond [`super::stats`]: area weights of regional grids, per-point CRPS and
//! error maps, rank histograms and the anomaly correlation coefficient.
//!
//! Conventions, for `M` members `x_1..x_M`, the truth `y`, the ensemble mean `x̄` and the
//! climatology `c` at a point:
//! - rank histogram: the truth's rank among the members, `M + 1` bins. With `a` members below
//!   `y` and `e` equal to it, the point adds `1/(e + 1)` to each of bins `a..=a + e` (ties are
//!   shared evenly, so the counts stay deterministic and sum to the number of points). Points
//!   count unweighted; points missing in any member or the truth are left out;
//! - anomaly correlation (WeatherBench 2's uncentred form): with `f = x̄ − c` and `o = y − c`,
//!   `ACC = ⟨f·o⟩ / sqrt(⟨f²⟩·⟨o²⟩)`, `⟨·⟩` the area-weighted mean over the points finite in
//!   every member, the truth and the climatology;
//! - CRPS map: the fair CRPS of [`super::stats`] at each point; error map: `|x̄ − y|`, the
//!   root-mean-square error of the ensemble mean at a point of one initialisation.
//!
//! Sums run in f64 over fixed chunks added in chunk order, so results do not depend on the
//! number of threads.

use rayon::prelude::*;

use super::stats::{check_members, fair_crps, normalized_latitude_weights};
use crate::{Error, Result};

/// Points per parallel work item; fixed so that reductions do not depend on the thread count.
const CHUNK: usize = 4096;

/// Latitude weights of any uniformly spaced grid, global or regional, up to a constant factor:
/// the normalised weights of [`normalized_latitude_weights`] on a global grid; on a regional one
/// `cos(lat)`, with a pole row (±90°) given its polar cap relative to the bands,
/// `sin²(Δ/4)/sin(Δ/2)`. Area-weighted means divide by the sum of the weights, so a region
/// scores the same whether cut from a global file or written as a regional one.
pub fn region_latitude_weights(lat: &[f32]) -> Result<Vec<f64>> {
    if let Ok(w) = normalized_latitude_weights(lat) {
        return Ok(w);
    }
    if lat.iter().any(|x| !x.is_finite() || x.abs() > 90.0) {
        return Err(Error::Invalid(
            "latitudes must be finite and within [-90, 90]".into(),
        ));
    }
    let delta = match lat {
        [a, b, ..] => (f64::from(*b) - f64::from(*a)).abs(),
        _ => 0.0,
    };
    Ok(lat
        .iter()
        .map(|&x| {
            let x = f64::from(x);
            if (x.abs() - 90.0).abs() <= 1e-3 && delta > 0.0 {
                (delta / 4.0).to_radians().sin().powi(2) / (delta / 2.0).to_radians().sin()
            } else {
                x.to_radians().cos()
            }
        })
        .collect())
}

fn check_truth(truth: &[f32], points: usize, what: &str) -> Result<()> {
    if truth.len() != points {
        return Err(Error::Shape {
            what: format!("{what}: truth"),
            expected: vec![points],
            found: vec![truth.len()],
        });
    }
    Ok(())
}

/// Fair CRPS and absolute ensemble-mean error at every point, into `crps` and `error` (NaN where
/// a member or the truth is missing).
pub fn score_maps(
    members: &[&[f32]],
    truth: &[f32],
    crps: &mut [f32],
    error: &mut [f32],
) -> Result<()> {
    let points = truth.len();
    check_members(members, points, "score maps")?;
    if crps.len() != points || error.len() != points {
        return Err(Error::Shape {
            what: "score map outputs".into(),
            expected: vec![points, points],
            found: vec![crps.len(), error.len()],
        });
    }
    let m = members.len();
    crps.par_chunks_mut(CHUNK)
        .zip(error.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(c, (crps, error))| {
            let mut buf = Vec::with_capacity(m);
            for (i, (cr, er)) in crps.iter_mut().zip(error.iter_mut()).enumerate() {
                let p = c * CHUNK + i;
                buf.clear();
                buf.extend(members.iter().map(|x| f64::from(x[p])));
                let y = f64::from(truth[p]);
                if !y.is_finite() || buf.iter().any(|v| !v.is_finite()) {
                    *cr = f32::NAN;
                    *er = f32::NAN;
                    continue;
                }
                let mean = buf.iter().sum::<f64>() / m as f64;
                *er = (mean - y).abs() as f32;
                *cr = fair_crps(&mut buf, y) as f32;
            }
        });
    Ok(())
}

/// Rank histogram of the truth among the members over the given points: `M + 1` counts, ties
/// shared evenly (see the module documentation).
pub fn rank_histogram(members: &[&[f32]], truth: &[f32]) -> Result<Vec<f64>> {
    let points = truth.len();
    check_members(members, points, "rank histogram")?;
    let m = members.len();
    let partial: Vec<Vec<f64>> = (0..points.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut h = vec![0f64; m + 1];
            for p in c * CHUNK..((c + 1) * CHUNK).min(points) {
                let y = truth[p];
                if !y.is_finite() || members.iter().any(|x| !x[p].is_finite()) {
                    continue;
                }
                let below = members.iter().filter(|x| x[p] < y).count();
                let equal = members.iter().filter(|x| x[p] == y).count();
                let share = 1.0 / (equal + 1) as f64;
                for bin in &mut h[below..=below + equal] {
                    *bin += share;
                }
            }
            h
        })
        .collect();
    let mut h = vec![0f64; m + 1];
    for p in &partial {
        for (a, b) in h.iter_mut().zip(p) {
            *a += b;
        }
    }
    Ok(h)
}

/// Anomaly correlation coefficient of the ensemble mean against the truth, anomalies taken
/// from `climatology` (see the module documentation); NaN when no point is valid or an anomaly
/// is zero everywhere.
pub fn anomaly_correlation(
    members: &[&[f32]],
    truth: &[f32],
    climatology: &[f32],
    weights: &[f64],
) -> Result<f64> {
    let points = weights.len();
    check_members(members, points, "anomaly correlation")?;
    check_truth(truth, points, "anomaly correlation")?;
    if climatology.len() != points {
        return Err(Error::Shape {
            what: "anomaly correlation: climatology".into(),
            expected: vec![points],
            found: vec![climatology.len()],
        });
    }
    let m = members.len() as f64;
    let partial: Vec<[f64; 3]> = (0..points.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut s = [0f64; 3];
            for p in c * CHUNK..((c + 1) * CHUNK).min(points) {
                let (y, clim) = (f64::from(truth[p]), f64::from(climatology[p]));
                let mut sum = 0.0;
                for x in members {
                    sum += f64::from(x[p]);
                }
                if !(y.is_finite() && clim.is_finite() && sum.is_finite()) {
                    continue;
                }
                let (f, o) = (sum / m - clim, y - clim);
                let w = weights[p];
                s[0] += w * f * o;
                s[1] += w * f * f;
                s[2] += w * o * o;
            }
            s
        })
        .collect();
    let mut s = [0f64; 3];
    for p in &partial {
        for k in 0..3 {
            s[k] += p[k];
        }
    }
    Ok(s[0] / (s[1] * s[2]).sqrt())
}
