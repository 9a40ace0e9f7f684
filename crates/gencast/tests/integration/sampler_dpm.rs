//! DPM-Solver++ 2S with churn: the churn variance in FMA form, the random-stream plan, and
//! convergence on an analytic denoiser.

use gencast::checkpoint::SamplerConfig;
use gencast::models::gencast::sampler::dpm::{
    churn_variance, member_key, step_keys, ChurnArithmetic, Denoise, DrawKind, Sampler, StateLayout,
};
use gencast::models::gencast::sampler::prng::{Key, PrngMode};
use gencast::models::gencast::sampler::schedule::Schedule;
use gencast::models::gencast::sampler::spherical::SphericalGrid;
use gencast::{Error, Result};

/// A 10° grid with poles (19 × 36), as in the fixtures.
fn grid() -> SphericalGrid {
    let lat: Vec<f32> = (0..19).map(|j| -90.0 + 10.0 * j as f32).collect();
    let lon: Vec<f32> = (0..36).map(|i| 10.0 * i as f32).collect();
    SphericalGrid::new(&lat, &lon).unwrap()
}

fn sampler(cfg: &SamplerConfig) -> Sampler {
    let layout = StateLayout::new(19 * 36, &[("b_levels", 3), ("a_surface", 1)]).unwrap();
    Sampler::new(
        Schedule::new(cfg).unwrap(),
        grid(),
        layout,
        PrngMode::Partitionable,
    )
    .unwrap()
}

#[test]
fn churn_variance_fma_form_and_clamp() {
    let s = Schedule::new(&SamplerConfig::default()).unwrap();
    // XLA on CPU evaluates ŝ² − s² as fma(ŝ, ŝ, −s·s). Where γ = 0 this is minus the rounding error
    // of s·s. Values printed by JAX 0.7.2 (CPU, jit) for `(s*(1+g))**2 - s**2` at these levels with
    // g = 0 (`apply_stochastic_churn` in
    // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/samplers_utils.py>; JAX
    // 0.5.3 gives the same values).
    let expected_at_gamma0: [(usize, f32); 6] = [
        (14, 1.157_974_7e-8),
        (15, 6.024_962e-9),
        (16, -6.661_849e-11),
        (17, -4.591_613_8e-10),
        (18, 1.156_486_16e-10),
        (19, -2.477_318e-11),
    ];
    let mut negatives = Vec::new();
    for i in 0..20 {
        let sigma = s.noise_levels[i];
        let s_hat = sigma * (1.0 + s.churn_rates[i]);
        let fused = s_hat.mul_add(s_hat, -(sigma * sigma));
        assert_eq!(
            fused,
            churn_variance(ChurnArithmetic::FusedXlaCpu, s_hat, sigma)
        );
        if fused < 0.0 {
            negatives.push(i);
            // Without the clamp the sqrt would poison the whole member with NaN.
            assert!(fused.sqrt().is_nan());
        }
        let std = fused.max(0.0).sqrt() * s.noise_level_inflation_factor;
        assert!(std.is_finite() && std >= 0.0, "step {i}: {std}");
        if let Some(&(_, want)) = expected_at_gamma0.iter().find(|(j, _)| *j == i) {
            assert_eq!(fused, want, "step {i}");
            assert_eq!(churn_variance(ChurnArithmetic::Separate, s_hat, sigma), 0.0);
        } else {
            // γ = 0.125 steps: the increment is ≈ 0.265 s², far from any rounding issue.
            let exact = (f64::from(s_hat).powi(2) - f64::from(sigma).powi(2)) as f32;
            assert!(
                (fused - exact).abs() <= 1e-6 * exact,
                "step {i}: {fused} vs {exact}"
            );
        }
    }
    assert_eq!(negatives, vec![16, 17, 19]);
    // The sampler's own churn helper (same schedule) is finite at every step.
    let smp = sampler(&SamplerConfig::default());
    for i in 0..20 {
        let (e, s_hat) = smp.churn(i);
        assert!(e.is_finite() && s_hat.is_finite(), "step {i}");
    }
    // Extra noise std at step 0 is 43.2926 and ŝ_0 = 90 (`apply_stochastic_churn` in
    // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/samplers_utils.py>).
    let (e0, s0) = smp.churn(0);
    assert_eq!(s0, 90.0);
    assert!((e0 - 43.2926).abs() < 1e-4, "{e0}");
}

/// `D(x; σ) = x / (1 + σ²)`: the exact posterior mean for unit-variance Gaussian data.
/// Records every call.
#[derive(Default)]
struct Gaussian {
    sigmas: Vec<f32>,
    inputs: Vec<Vec<f32>>,
}

impl Denoise for Gaussian {
    fn denoise(&mut self, x: &[f32], sigma: f32, out: &mut [f32]) -> Result<()> {
        self.sigmas.push(sigma);
        if self.inputs.is_empty() {
            self.inputs.push(x.to_vec());
        }
        let c = 1.0 / (1.0 + sigma * sigma);
        for (o, v) in out.iter_mut().zip(x) {
            *o = v * c;
        }
        Ok(())
    }
}

fn key() -> Key {
    step_keys(PrngMode::Partitionable, member_key(0, 0), 1)[0]
}

#[test]
fn call_sequence_and_first_state() {
    let cfg = SamplerConfig::default();
    let smp = sampler(&cfg);
    let mut d = Gaussian::default();
    smp.sample(&mut d, key()).unwrap();
    let s = smp.schedule();
    // 2·N − 1 calls: (ŝ_i, sqrt(ŝ_i σ_{i+1})) for i < N − 1, then only ŝ_{N−1}.
    assert_eq!(d.sigmas.len(), 39);
    for i in 0..20 {
        let (_, s_hat) = smp.churn(i);
        assert_eq!(d.sigmas[2 * i], s_hat, "call {}", 2 * i);
        if i < 19 {
            assert_eq!(d.sigmas[2 * i + 1], (s_hat * s.noise_levels[i + 1]).sqrt());
        }
    }
    // The first denoiser input is σ_0·W_a(0) + e_0·W_b(0) with the draws of the key plan.
    let ng = 19 * 36;
    let c = 4;
    let mut wa = vec![0f32; c * ng];
    let mut wb = vec![0f32; c * ng];
    smp.draw_noise(
        &smp.draw_keys(key(), 0, DrawKind::Initial).unwrap(),
        &mut wa,
    )
    .unwrap();
    smp.draw_noise(&smp.draw_keys(key(), 0, DrawKind::Churn).unwrap(), &mut wb)
        .unwrap();
    let (e0, _) = smp.churn(0);
    let x = &d.inputs[0];
    for g in 0..ng {
        for ch in 0..c {
            let want = wb[ch * ng + g].mul_add(e0, 80.0 * wa[ch * ng + g]);
            assert_eq!(x[g * c + ch], want, "node {g} channel {ch}");
        }
    }
}

/// Sample of the deterministic sampler (no churn) with N levels and the exact answer.
fn deterministic_error(n: usize) -> f64 {
    let cfg = SamplerConfig {
        num_noise_levels: n,
        stochastic_churn_rate: 0.0,
        ..SamplerConfig::default()
    };
    let smp = sampler(&cfg);
    let mut d = Gaussian::default();
    let out = smp.sample(&mut d, key()).unwrap();
    assert_eq!(d.sigmas.len(), 2 * n - 1);
    let s = smp.schedule();
    let (s0, sl) = (
        f64::from(s.noise_levels[0]),
        f64::from(s.noise_levels[n - 1]),
    );
    // Probability-flow ODE dx/dσ = (x − D)/σ = xσ/(1 + σ²): x(σ) ∝ sqrt(1 + σ²), followed by
    // the final Euler step to 0, which returns D(x; σ_min) = x/(1 + σ_min²).
    let ratio = ((1.0 + sl * sl) / (1.0 + s0 * s0)).sqrt() / (1.0 + sl * sl);
    let x0 = &d.inputs[0];
    let mut max_err = 0f64;
    let mut max_val = 0f64;
    for (o, xi) in out.iter().zip(x0) {
        let want = f64::from(*xi) * ratio;
        max_err = max_err.max((f64::from(*o) - want).abs());
        max_val = max_val.max(want.abs());
    }
    max_err / max_val
}

#[test]
fn deterministic_sampler_converges_second_order() {
    let errs: Vec<f64> = [5, 10, 20, 40]
        .iter()
        .map(|&n| deterministic_error(n))
        .collect();
    println!("relative max errors for N = 5, 10, 20, 40: {errs:?}");
    for w in errs.windows(2) {
        // Doubling N should divide a second-order method's error by about 4.
        assert!(w[0] / w[1] > 3.0, "errors {errs:?}");
    }
    // Measured 1.28e-2 with the default 20 levels (80 → 0.03, ρ = 7): the discretisation error
    // of the method itself, which the reference shares.
    assert!(errs[2] < 0.015, "{errs:?}");
}

/// Area-weighted (cos latitude) mean square of a state on the 10° grid.
fn weighted_mean_square(x: &[f32], c: usize) -> f64 {
    let (mut a, mut w) = (0f64, 0f64);
    for (g, row) in x.chunks_exact(c).enumerate() {
        // Pole rows get a small positive weight standing in for their polar-cap area.
        let wt = (-90.0 + 10.0 * (g / 36) as f64)
            .to_radians()
            .cos()
            .max(0.01);
        for v in row {
            a += wt * f64::from(*v).powi(2);
            w += wt;
        }
    }
    a / w
}

#[test]
fn stochastic_sampler_keeps_unit_variance() {
    // With S_noise = 1 churn keeps x at the marginal noise level of the data, so the final
    // samples of this Gaussian model have variance ≈ 1 (the data variance).
    let cfg = SamplerConfig {
        noise_level_inflation_factor: 1.0,
        ..SamplerConfig::default()
    };
    let smp = sampler(&cfg);
    let var: Vec<f64> = (0..12)
        .map(|m| {
            let k = step_keys(PrngMode::Partitionable, member_key(0, m), 1)[0];
            weighted_mean_square(&smp.sample(&mut Gaussian::default(), k).unwrap(), 4)
        })
        .collect();
    let mean = var.iter().sum::<f64>() / var.len() as f64;
    println!("final sample variances {var:.4?}, mean {mean:.4}");
    // Each member has 4 fields × 18² coefficients; the area-weighted variance of one member
    // scatters by ≈ 5 % (measured on the initial noise), so the mean of 12 by ≈ 1.5 %; the ODE
    // discretisation of 20 levels lowers the amplitude by ≈ 1.3 % (variance ≈ 2.6 %).
    assert!((mean - 0.974).abs() < 0.05, "{var:?}");
    // The same key gives the same sample (the sampler is deterministic given its key).
    let k = key();
    let a = smp.sample(&mut Gaussian::default(), k).unwrap();
    let b = smp.sample(&mut Gaussian::default(), k).unwrap();
    assert_eq!(a, b);
}

/// A denoiser that breaks at its third call.
struct Broken(usize);

impl Denoise for Broken {
    fn denoise(&mut self, x: &[f32], _sigma: f32, out: &mut [f32]) -> Result<()> {
        self.0 += 1;
        out.copy_from_slice(x);
        if self.0 == 3 {
            out[5] = f32::NAN;
        }
        Ok(())
    }
}

#[test]
fn non_finite_denoiser_output_is_reported() {
    let smp = sampler(&SamplerConfig::default());
    match smp.sample(&mut Broken(0), key()) {
        Err(Error::NonFinite { stage, detail }) => {
            assert_eq!(stage, "sampler iteration 1");
            assert!(detail.contains("grid node 1, channel 1"), "{detail}");
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
}
