//! Ensemble statistics and scores (`gencast::output::stats`): hand-computed values, f64 naive
//! cross-checks, statistical invariants, latitude weights and missing values.

use gencast::output::stats::{
    ensemble_mean_std, ensemble_quantiles, field_scores, grid_weights, normalized_latitude_weights,
};

/// A small deterministic generator (splitmix64) with Box–Muller normals.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn refs(members: &[Vec<f32>]) -> Vec<&[f32]> {
    members.iter().map(|m| m.as_slice()).collect()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

/// Equiangular latitudes from -90 to 90 with step `d`, or offset by half a step when `!poles`.
fn lats(d: f32, poles: bool) -> Vec<f32> {
    let n = (180.0 / d) as usize;
    if poles {
        (0..=n).map(|i| -90.0 + d * i as f32).collect()
    } else {
        (0..n).map(|i| -90.0 + d / 2.0 + d * i as f32).collect()
    }
}

#[test]
fn latitude_weights_hand_values() {
    // Poles at ±90, Δ = 90: equator cos(0)·sin(45°) = 0.7071068, poles sin²(22.5°) = 0.1464466;
    // their sum 0.7071068 + 2·0.1464466 = 1 (the bands tile the sphere: Σ = (sin 90 − sin −90)/2),
    // so the mean is 1/3 and the normalised weights are [0.4393398, 2.1213203, 0.4393398].
    let w = normalized_latitude_weights(&[-90.0, 0.0, 90.0]).unwrap();
    let expect = [
        0.439_339_828_220_179,
        2.121_320_343_559_643,
        0.439_339_828_220_179,
    ];
    for (a, b) in w.iter().zip(expect) {
        assert!(close(*a, b, 1e-12), "{w:?}"); // f64 trig round-off only
    }
    // No poles, Δ = 60: cos(-60), cos(0), cos(60) = 0.5, 1, 0.5; mean 2/3 -> 0.75, 1.5, 0.75.
    let w = normalized_latitude_weights(&[-60.0, 0.0, 60.0]).unwrap();
    for (a, b) in w.iter().zip([0.75, 1.5, 0.75]) {
        assert!(close(*a, b, 1e-12), "{w:?}");
    }
    // Descending order gives the same weights reversed (symmetric here).
    let w = normalized_latitude_weights(&[60.0, 0.0, -60.0]).unwrap();
    assert!(close(w[1], 1.5, 1e-12));
}

#[test]
fn latitude_weights_have_unit_mean_and_area_proportions() {
    for (d, poles) in [
        (10.0, true),
        (1.0, true),
        (0.25, true),
        (1.0, false),
        (0.25, false),
        (5.625, false),
    ] {
        let lat = lats(d, poles);
        let w = normalized_latitude_weights(&lat).unwrap();
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        assert!(close(mean, 1.0, 1e-12), "d {d} poles {poles}: mean {mean}"); // summation round-off
                                                                              // Each weight is proportional to its band's area sin(φ+Δ/2) − sin(φ−Δ/2) (pole caps
                                                                              // 1 − sin(90 − Δ/2)): check against the exact areas, scaled to unit mean. The areas sum to 2.
        let area: Vec<f64> = lat
            .iter()
            .map(|&l| {
                let (l, h) = (f64::from(l), f64::from(d) / 2.0);
                let top = (l + h).min(90.0).to_radians().sin();
                let bottom = (l - h).max(-90.0).to_radians().sin();
                top - bottom
            })
            .collect();
        let total: f64 = area.iter().sum();
        assert!(close(total, 2.0, 1e-12));
        for (a, b) in w.iter().zip(&area) {
            assert!(close(*a, b / (total / lat.len() as f64), 1e-9), "d {d}"); // trig identities in f64
        }
        if poles && d <= 1.0 {
            // Small-angle regime: a pole cell has 1/8 of its neighbour's weight.
            assert!(close(w[0] / w[1], 0.125, 1e-4), "{}", w[0] / w[1]); // O(Δ²) correction
        }
    }
    // Per-point weights repeat each row's weight over the longitudes and sum to the point count.
    let g = grid_weights(&lats(10.0, true), 36).unwrap();
    assert_eq!(g.len(), 19 * 36);
    assert!(close(g.iter().sum::<f64>(), (19 * 36) as f64, 1e-12));
    assert_eq!(g[36], g[71]);
}

#[test]
fn latitude_weights_reject_bad_grids() {
    let err = normalized_latitude_weights(&[-90.0, 0.0, 45.0, 90.0])
        .unwrap_err()
        .to_string();
    assert!(err.contains("uniformly"), "{err}");
    let err = normalized_latitude_weights(&[-80.0, 0.0, 80.0])
        .unwrap_err()
        .to_string();
    assert!(err.contains("-80") && err.contains("80"), "{err}");
    let err = normalized_latitude_weights(&[-90.0, 0.0])
        .unwrap_err()
        .to_string();
    assert!(err.contains("-90"), "{err}");
    assert!(normalized_latitude_weights(&[0.0]).is_err());
    assert!(normalized_latitude_weights(&[0.0, f32::NAN]).is_err());
}

#[test]
fn mean_std_hand_values_and_missing_points() {
    // Point 0: members 1, 2, 3, 4: mean 2.5; Σ(x − x̄)² = 2.25 + 0.25 + 0.25 + 2.25 = 5,
    // std ddof 1 = sqrt(5/3) = 1.2909944, ddof 0 = sqrt(5/4) = 1.1180340.
    // Point 1: NaN in one member -> NaN. Point 2: identical members -> std 0.
    let members = vec![
        vec![1.0, 0.0, 7.0],
        vec![2.0, f32::NAN, 7.0],
        vec![3.0, 1.0, 7.0],
        vec![4.0, 2.0, 7.0],
    ];
    let (mut mean, mut std) = (vec![0f32; 3], vec![0f32; 3]);
    ensemble_mean_std(&refs(&members), 1, &mut mean, &mut std).unwrap();
    assert_eq!(mean[0], 2.5);
    assert_eq!(std[0], (5.0f64 / 3.0).sqrt() as f32);
    assert!(mean[1].is_nan() && std[1].is_nan());
    assert_eq!((mean[2], std[2]), (7.0, 0.0));
    ensemble_mean_std(&refs(&members), 0, &mut mean, &mut std).unwrap();
    assert_eq!(std[0], 1.25f64.sqrt() as f32);
    // One member with ddof 1: the standard deviation is undefined.
    ensemble_mean_std(&refs(&members[..1]), 1, &mut mean, &mut std).unwrap();
    assert_eq!(mean[0], 1.0);
    assert!(std.iter().all(|s| s.is_nan()));
    // Mismatched lengths are errors, not panics.
    assert!(ensemble_mean_std(&refs(&members), 1, &mut [0.0; 2], &mut [0.0; 2]).is_err());
    assert!(ensemble_mean_std(&[], 1, &mut mean, &mut std).is_err());
}

#[test]
fn quantiles_match_numpy_linear() {
    // np.quantile([1, 2, 3, 4], [0, 0.1, 0.5, 0.9, 1]) = [1, 1.3, 2.5, 3.7, 4]:
    // virtual index q·3 = 0, 0.3, 1.5, 2.7, 3 interpolated between order statistics.
    // Second point: members 5, 5, 5, 9 -> [5, 5, 5, 7.8, 9] (index 2.7: 5 + 0.7·4).
    let members = vec![
        vec![4.0, 5.0, 0.0],
        vec![1.0, 9.0, f32::NAN],
        vec![3.0, 5.0, 0.0],
        vec![2.0, 5.0, 0.0],
    ];
    let q = [0.0, 0.1, 0.5, 0.9, 1.0];
    let mut out = vec![0f32; q.len() * 3];
    ensemble_quantiles(&refs(&members), &q, &mut out).unwrap();
    let at = |k: usize, p: usize| out[k * 3 + p];
    let expect0 = [1.0, 1.3, 2.5, 3.7, 4.0];
    let expect1 = [5.0, 5.0, 5.0, 7.8, 9.0];
    for k in 0..q.len() {
        assert!((at(k, 0) - expect0[k]).abs() <= 1e-6, "{k}: {}", at(k, 0)); // f32 rounding of the result
        assert!((at(k, 1) - expect1[k]).abs() <= 1e-6, "{k}: {}", at(k, 1));
        assert!(at(k, 2).is_nan());
    }
    assert!(ensemble_quantiles(&refs(&members), &[1.5], &mut out[..3]).is_err());
    assert!(ensemble_quantiles(&refs(&members), &q, &mut out[..4]).is_err());
}

#[test]
fn scores_hand_values_with_missing_points() {
    // Point A: members 1, 2, 4, truth 2, weight 0.5. Mean 7/3; skill (1 + 0 + 2)/3 = 1; pairs
    //   |1−2| + |1−4| + |2−4| = 6, spread term 6/(3·2) = 1: CRPS 0; (x̄ − y)² = 1/9;
    //   s² = (16/9 + 1/9 + 25/9)/2 = 7/3.
    // Point B: members 0, 0, 3, truth −1, weight 1.5. Mean 1; skill (1 + 1 + 4)/3 = 2; pairs
    //   0 + 3 + 3 = 6 -> 1: CRPS 1; (x̄ − y)² = 4; s² = (1 + 1 + 4)/2 = 3.
    // Point C: truth NaN (weight 100) and point D: one member NaN (weight 100) are dropped.
    // Weighted over W = 2: mean (0.5·7/3 + 1.5·1)/2 = 4/3; CRPS 1.5/2 = 0.75;
    //   MSE (0.5/9 + 6)/2 = 109/36; ⟨s²⟩ = (7/6 + 9/2)/2 = 17/6;
    //   unbiased MSE 109/36 − 17/18 = 25/12; SSR sqrt(4/3)·sqrt(17/6)/sqrt(109/36) = sqrt(2448/1962).
    let members = vec![
        vec![1.0, 0.0, 5.0, 1.0],
        vec![2.0, 0.0, 5.0, f32::NAN],
        vec![4.0, 3.0, 5.0, 1.0],
    ];
    let truth = [2.0, -1.0, f32::NAN, 1.0];
    let w = [0.5, 1.5, 100.0, 100.0];
    let s = field_scores(&refs(&members), Some(&truth), &w).unwrap();
    assert_eq!((s.members, s.valid_points), (3, 2));
    let tol = 1e-14; // f64 round-off of a handful of operations
    assert!(close(s.mean, 4.0 / 3.0, tol), "{s:?}");
    assert!(close(s.crps, 0.75, tol), "{s:?}");
    assert!(close(s.mse, 109.0 / 36.0, tol), "{s:?}");
    assert!(close(s.rmse, (109.0f64 / 36.0).sqrt(), tol));
    assert!(close(s.spread, (17.0f64 / 6.0).sqrt(), tol));
    assert!(close(s.mse_unbiased, 25.0 / 12.0, tol));
    assert!(close(s.rmse_unbiased, (25.0f64 / 12.0).sqrt(), tol));
    assert!(close(s.spread_skill, (2448.0f64 / 1962.0).sqrt(), tol));

    // Without truth only the mean and spread are defined.
    let s = field_scores(&refs(&members), None, &w).unwrap();
    assert_eq!(s.valid_points, 3); // point C counts now: its members are all finite
    assert!(
        s.crps.is_nan() && s.rmse.is_nan() && s.spread_skill.is_nan() && s.rmse_unbiased.is_nan()
    );
    // (0.5·7/3 + 1.5·1 + 100·5)/102
    assert!(close(s.mean, (7.0 / 6.0 + 1.5 + 500.0) / 102.0, tol));

    // All points missing: every score is NaN, nothing panics.
    let s = field_scores(&refs(&members), Some(&[f32::NAN; 4]), &w).unwrap();
    assert_eq!(s.valid_points, 0);
    assert!(s.mean.is_nan() && s.crps.is_nan() && s.spread.is_nan());
    // Shape errors.
    assert!(field_scores(&refs(&members), Some(&truth[..3]), &w).is_err());
    assert!(field_scores(&refs(&members), None, &w[..3]).is_err());
}

/// Naive f64 scores: O(M²) pairs and direct weighted sums.
fn naive(members: &[Vec<f32>], truth: &[f32], w: &[f64]) -> (f64, f64, f64, f64) {
    let m = members.len() as f64;
    let (mut sw, mut crps, mut se, mut var, mut mean) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for p in 0..truth.len() {
        let x: Vec<f64> = members.iter().map(|v| f64::from(v[p])).collect();
        let y = f64::from(truth[p]);
        let xm = x.iter().sum::<f64>() / m;
        let mut pairs = 0.0;
        for a in &x {
            for b in &x {
                pairs += (a - b).abs();
            }
        }
        let skill = x.iter().map(|a| (a - y).abs()).sum::<f64>() / m;
        sw += w[p];
        crps += w[p] * (skill - pairs / (2.0 * m * (m - 1.0)));
        se += w[p] * (xm - y) * (xm - y);
        var += w[p] * x.iter().map(|a| (a - xm) * (a - xm)).sum::<f64>() / (m - 1.0);
        mean += w[p] * xm;
    }
    (crps / sw, se / sw, var / sw, mean / sw)
}

fn random_ensemble(
    rng: &mut Rng,
    m: usize,
    points: usize,
    spread: f64,
) -> (Vec<Vec<f32>>, Vec<f32>) {
    let centre: Vec<f64> = (0..points).map(|_| 3.0 * rng.normal()).collect();
    let truth = centre.iter().map(|c| (c + rng.normal()) as f32).collect();
    let members = (0..m)
        .map(|_| {
            centre
                .iter()
                .map(|c| (c + spread * rng.normal()) as f32)
                .collect()
        })
        .collect();
    (members, truth)
}

#[test]
fn scores_match_naive_f64_and_do_not_depend_on_threads() {
    let mut rng = Rng(7);
    // 19 × 36 × 20 points > several chunks of 4096.
    let w = grid_weights(&lats(10.0, true), 36 * 20).unwrap();
    for m in [2, 3, 7] {
        let (members, truth) = random_ensemble(&mut rng, m, w.len(), 0.7);
        let s = field_scores(&refs(&members), Some(&truth), &w).unwrap();
        let (crps, mse, var, mean) = naive(&members, &truth, &w);
        let tol = 1e-12; // different summation order of ~14k f64 terms
        assert!(close(s.crps, crps, tol), "M {m}: {} vs {crps}", s.crps);
        assert!(close(s.mse, mse, tol), "M {m}");
        assert!(close(s.spread * s.spread, var, tol), "M {m}");
        assert!(close(s.mean, mean, tol), "M {m}");

        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let s = field_scores(&refs(&members), Some(&truth), &w).unwrap();
                let (mut mean, mut std) = (vec![0f32; w.len()], vec![0f32; w.len()]);
                ensemble_mean_std(&refs(&members), 1, &mut mean, &mut std).unwrap();
                (s, mean, std)
            })
        };
        let (a, b) = (run(1), run(2));
        assert_eq!(a.0.crps.to_bits(), b.0.crps.to_bits());
        assert_eq!(a.0.mse.to_bits(), b.0.mse.to_bits());
        assert_eq!(a.0.spread.to_bits(), b.0.spread.to_bits());
        assert!(a.1 == b.1 && a.2 == b.2);
    }
}

#[test]
fn single_member_and_identical_member_invariants() {
    let mut rng = Rng(11);
    let w = grid_weights(&lats(10.0, true), 36).unwrap();
    let (members, truth) = random_ensemble(&mut rng, 1, w.len(), 1.0);
    let mae: f64 = w
        .iter()
        .zip(&members[0])
        .zip(&truth)
        .map(|((w, x), y)| w * (f64::from(*x) - f64::from(*y)).abs())
        .sum::<f64>()
        / w.iter().sum::<f64>();
    // A single member: the CRPS is the (weighted) mean absolute error; spread-based scores are
    // undefined.
    let s = field_scores(&refs(&members), Some(&truth), &w).unwrap();
    assert!(close(s.crps, mae, 1e-12), "{} vs {mae}", s.crps); // summation order only
    assert!(s.spread.is_nan() && s.spread_skill.is_nan() && s.mse_unbiased.is_nan());

    // Identical members: fair CRPS = |mean − truth|, zero spread, unbiased MSE = MSE.
    let same = vec![members[0].clone(); 4];
    let s = field_scores(&refs(&same), Some(&truth), &w).unwrap();
    assert!(close(s.crps, mae, 1e-12), "{} vs {mae}", s.crps);
    assert_eq!(s.spread, 0.0);
    assert_eq!(s.mse_unbiased, s.mse);
    assert_eq!(s.spread_skill, 0.0);
}

#[test]
fn calibrated_ensemble_scores_match_theory() {
    // Truth and members are i.i.d. N(c_p, 1) at each point: the ensemble is perfectly
    // calibrated, so E[SSR] ≈ 1, the unbiased ensemble-mean MSE estimates σ² = 1 and the fair
    // CRPS estimates the CRPS of N(0, 1) against its own draws, E|X−Y| − ½E|X−X'| = 1/√π.
    let mut rng = Rng(2024);
    let m = 5;
    let w = grid_weights(&lats(2.0, true), 180).unwrap();
    let (members, truth) = random_ensemble(&mut rng, m, w.len(), 1.0);
    let s = field_scores(&refs(&members), Some(&truth), &w).unwrap();

    // Effective sample size of the weighted mean: (Σw)²/Σw².
    let n_eff = w.iter().sum::<f64>().powi(2) / w.iter().map(|x| x * x).sum::<f64>();
    // SSR = sqrt((M+1)/M)·sqrt(V/S) with V = ⟨s²⟩ (relative variance 2/((M−1)·n_eff)) and
    // S = ⟨(x̄−y)²⟩ (a scaled χ²₁ mean, relative variance 2/n_eff), independent for normal data;
    // by the delta method sd(SSR) ≈ ½·sqrt(2/n_eff·(1/(M−1) + 1)). Allow 4 sd (p ≈ 6e-5).
    let sd_ssr = 0.5 * (2.0 / n_eff * (1.0 / (m - 1) as f64 + 1.0)).sqrt();
    assert!(
        (s.spread_skill - 1.0).abs() < 4.0 * sd_ssr,
        "SSR {} (sd {sd_ssr})",
        s.spread_skill
    );

    // For the CRPS and the unbiased MSE, bound the error by 4 standard errors of the weighted
    // mean, from the per-point sample variance of each quantity.
    let (mut crps_p, mut mse_p) = (Vec::new(), Vec::new());
    for p in 0..w.len() {
        let one: Vec<Vec<f32>> = members.iter().map(|x| vec![x[p]]).collect();
        let q = field_scores(&refs(&one), Some(&truth[p..=p]), &[1.0]).unwrap();
        crps_p.push(q.crps);
        mse_p.push(q.mse_unbiased);
    }
    let sd = |v: &[f64]| {
        let mu = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - mu) * (x - mu)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
    };
    let inv_sqrt_pi = 1.0 / std::f64::consts::PI.sqrt();
    let se_crps = sd(&crps_p) / n_eff.sqrt();
    assert!(
        (s.crps - inv_sqrt_pi).abs() < 4.0 * se_crps,
        "CRPS {} (se {se_crps})",
        s.crps
    );
    let se_mse = sd(&mse_p) / n_eff.sqrt();
    assert!(
        (s.mse_unbiased - 1.0).abs() < 4.0 * se_mse,
        "MSE {} (se {se_mse})",
        s.mse_unbiased
    );
    eprintln!(
        "calibrated M={m}, n_eff {n_eff:.0}: SSR {:.5} (sd {sd_ssr:.5}), CRPS {:.5} vs {inv_sqrt_pi:.5} \
         (se {se_crps:.5}), unbiased MSE {:.5} (se {se_mse:.5}), biased MSE {:.5}",
        s.spread_skill, s.crps, s.mse_unbiased, s.mse
    );

    // An under-dispersed ensemble (members with sd 0.5) gives SSR well below 1.
    let (members, truth) = random_ensemble(&mut rng, m, w.len(), 0.5);
    let s = field_scores(&refs(&members), Some(&truth), &w).unwrap();
    // Expected sqrt(6/5)·0.5/sqrt(1 + 0.25/5) = 0.5345.
    assert!((s.spread_skill - 0.5345).abs() < 0.03, "{}", s.spread_skill);
}
