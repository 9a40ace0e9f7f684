//! The sampler's noise schedule and per-step churn rates, computed in f64 exactly as the
//! reference does with numpy and then cast to the f32 values the sampler uses.

pub use crate::checkpoint::SamplerConfig;
use crate::{Error, Result};

/// Quantile `cdf` of the ρ-distribution on `[min_value, max_value]`:
/// `(min^(1/ρ) + cdf · (max^(1/ρ) − min^(1/ρ)))^ρ`, in the reference's operation order.
pub fn rho_inverse_cdf(min_value: f64, max_value: f64, rho: f64, cdf: f64) -> f64 {
    let lo = min_value.powf(1.0 / rho);
    let hi = max_value.powf(1.0 / rho);
    (lo + cdf * (hi - lo)).powf(rho)
}

/// `numpy.linspace(start, stop, num)` (endpoint included) with numpy's rounding:
/// `i · step + start` with `step = (stop − start) / (num − 1)`, last element set to `stop`.
pub fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    match num {
        0 => return Vec::new(),
        1 => return vec![start],
        _ => {}
    }
    let step = (stop - start) / (num - 1) as f64;
    let mut y: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    if let Some(last) = y.last_mut() {
        *last = stop;
    }
    y
}

/// The complete sampling schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// σ_0 > … > σ_{N−1} followed by a final 0, as computed in f64 (length N + 1).
    pub noise_levels_f64: Vec<f64>,
    /// The same cast to f32: the values the sampler uses.
    pub noise_levels: Vec<f32>,
    /// γ_i for i = 0..N−1 in f64.
    pub churn_rates_f64: Vec<f64>,
    /// γ_i cast to f32.
    pub churn_rates: Vec<f32>,
    /// Whether the churn block runs (S_churn > 0); when it does it runs at every step.
    pub stochastic_churn: bool,
    /// S_noise as the f32 the sampler multiplies by.
    pub noise_level_inflation_factor: f32,
}

impl Schedule {
    /// Builds the schedule from a checkpoint's sampler settings, rejecting invalid values.
    pub fn new(cfg: &SamplerConfig) -> Result<Schedule> {
        validate(cfg)?;
        let n = cfg.num_noise_levels;
        let mut noise_levels_f64: Vec<f64> = linspace(1.0, 0.0, n)
            .into_iter()
            .map(|q| rho_inverse_cdf(cfg.min_noise_level, cfg.max_noise_level, cfg.rho, q))
            .collect();
        noise_levels_f64.push(0.0);
        let per_step = (cfg.stochastic_churn_rate / n as f64).min(std::f64::consts::SQRT_2 - 1.0);
        let churn_rates_f64: Vec<f64> = noise_levels_f64[..n]
            .iter()
            .map(|&s| {
                let on = cfg.churn_min_noise_level <= s && s <= cfg.churn_max_noise_level;
                if on {
                    per_step
                } else {
                    0.0
                }
            })
            .collect();
        Ok(Schedule {
            noise_levels: noise_levels_f64.iter().map(|&v| v as f32).collect(),
            churn_rates: churn_rates_f64.iter().map(|&v| v as f32).collect(),
            noise_levels_f64,
            churn_rates_f64,
            stochastic_churn: cfg.stochastic_churn_rate > 0.0,
            noise_level_inflation_factor: cfg.noise_level_inflation_factor as f32,
        })
    }

    /// Number of solver iterations N (non-zero noise levels).
    pub fn num_steps(&self) -> usize {
        self.churn_rates.len()
    }

    /// Number of useful denoiser evaluations per forecast step: 2·N − 1 (the second call of
    /// the last iteration, at σ = 0, is skipped because its result is discarded).
    pub fn num_denoiser_calls(&self) -> usize {
        2 * self.num_steps() - 1
    }
}

/// Rejects sampler settings the schedule cannot be built from.
fn validate(cfg: &SamplerConfig) -> Result<()> {
    let bad = |key: &str, detail: String| {
        Err(Error::Config {
            key: format!("sampler_config.{key}"),
            detail,
        })
    };
    if cfg.num_noise_levels < 1 {
        return bad("num_noise_levels", "must be at least 1, found 0".into());
    }
    if !(cfg.min_noise_level.is_finite() && cfg.min_noise_level > 0.0) {
        return bad(
            "min_noise_level",
            format!("must be finite and > 0, found {}", cfg.min_noise_level),
        );
    }
    if !(cfg.max_noise_level.is_finite() && cfg.max_noise_level >= cfg.min_noise_level) {
        return bad(
            "max_noise_level",
            format!(
                "must be finite and >= min_noise_level {}, found {}",
                cfg.min_noise_level, cfg.max_noise_level
            ),
        );
    }
    if !(cfg.rho.is_finite() && cfg.rho > 0.0) {
        return bad("rho", format!("must be finite and > 0, found {}", cfg.rho));
    }
    if !(cfg.stochastic_churn_rate.is_finite() && cfg.stochastic_churn_rate >= 0.0) {
        return bad(
            "stochastic_churn_rate",
            format!(
                "must be finite and >= 0, found {}",
                cfg.stochastic_churn_rate
            ),
        );
    }
    if cfg.churn_min_noise_level.is_nan() || cfg.churn_max_noise_level.is_nan() {
        return bad(
            "churn_min_noise_level",
            "churn bounds must not be NaN".into(),
        );
    }
    if !(cfg.noise_level_inflation_factor.is_finite() && cfg.noise_level_inflation_factor >= 0.0) {
        return bad(
            "noise_level_inflation_factor",
            format!(
                "must be finite and >= 0, found {}",
                cfg.noise_level_inflation_factor
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_matches_spec_table() {
        let s = Schedule::new(&SamplerConfig::default()).unwrap();
        assert_eq!(s.noise_levels.len(), 21);
        assert_eq!(s.noise_levels[20], 0.0);
        assert_eq!(s.noise_levels[0], 80.0);
        // Exact f32 bit values of the reference's `noise_schedule`
        // (<https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/samplers_utils.py>).
        assert_eq!(s.noise_levels[16] as f64, 0.22014613449573517);
        assert_eq!(s.noise_levels[17] as f64, 0.12040464580059052);
        assert_eq!(s.noise_levels[19] as f64, 0.029999999329447746);
        for i in 0..20 {
            let want = if i <= 13 { 0.125f32 } else { 0.0 };
            assert_eq!(s.churn_rates[i], want, "step {i}");
        }
        assert_eq!(s.num_denoiser_calls(), 39);
        assert!(s.stochastic_churn);
    }

    #[test]
    fn linspace_like_numpy() {
        assert_eq!(linspace(1.0, 0.0, 5), vec![1.0, 0.75, 0.5, 0.25, 0.0]);
        assert_eq!(linspace(1.0, 0.0, 1), vec![1.0]);
        assert!(linspace(1.0, 0.0, 0).is_empty());
    }

    #[test]
    fn invalid_configs_rejected() {
        let d = SamplerConfig::default;
        assert!(Schedule::new(&SamplerConfig {
            num_noise_levels: 0,
            ..d()
        })
        .is_err());
        assert!(Schedule::new(&SamplerConfig {
            min_noise_level: 0.0,
            ..d()
        })
        .is_err());
        assert!(Schedule::new(&SamplerConfig {
            max_noise_level: 0.01,
            ..d()
        })
        .is_err());
        assert!(Schedule::new(&SamplerConfig {
            rho: f64::NAN,
            ..d()
        })
        .is_err());
    }
}
