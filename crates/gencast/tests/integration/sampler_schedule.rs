//! Sampler schedule and key derivation against the `tiny-mha` reference fixtures.

use gencast::checkpoint::{GenCastCheckpoint, NpzArchive};
use gencast::models::gencast::sampler::dpm::{member_key, step_keys};
use gencast::models::gencast::sampler::prng::{Key, PrngMode};
use gencast::models::gencast::sampler::schedule::Schedule;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-mha");

fn schedule() -> Schedule {
    let ckpt = GenCastCheckpoint::open_configs(format!("{FIXTURES}/checkpoint.npz")).unwrap();
    assert_eq!(ckpt.sampler_config.num_noise_levels, 6);
    Schedule::new(&ckpt.sampler_config).unwrap()
}

#[test]
fn schedule_matches_reference() {
    let s = schedule();
    let npz = NpzArchive::open(format!("{FIXTURES}/sampler_schedule.npz")).unwrap();
    let f64_levels = npz.array("noise_levels").unwrap().to_f64_vec().unwrap();
    let f32_levels = npz.array("noise_levels_f32").unwrap().to_f32_vec().unwrap();
    let f64_churn = npz
        .array("per_step_churn_rates")
        .unwrap()
        .to_f64_vec()
        .unwrap();
    let f32_churn = npz
        .array("per_step_churn_rates_f32")
        .unwrap()
        .to_f32_vec()
        .unwrap();
    // numpy and Rust both call the platform's correctly rounded-in-practice `pow`, so the f64
    // values are expected to agree bit for bit (e.g. σ_0 = 79.99999999999993, not 80).
    assert_eq!(s.noise_levels_f64, f64_levels);
    assert_eq!(s.noise_levels, f32_levels);
    assert_eq!(s.churn_rates_f64, f64_churn);
    assert_eq!(s.churn_rates, f32_churn);
    assert!(s.stochastic_churn);
    // 6 iterations, the last one makes a single useful denoiser call.
    assert_eq!(s.num_denoiser_calls(), 11);
}

fn key(npz: &NpzArchive, name: &str) -> Key {
    let v = npz.array(name).unwrap().to_i64_vec().unwrap();
    assert_eq!(v.len(), 2, "{name}");
    Key([v[0] as u32, v[1] as u32])
}

#[test]
fn member_and_step_keys_match_reference() {
    let npz = NpzArchive::open(format!("{FIXTURES}/rngs.npz")).unwrap();
    for m in 0..2u32 {
        let km = member_key(0, m);
        assert_eq!(
            km,
            key(&npz, &format!("member{m}_fold_in_key")),
            "member {m}"
        );
        let steps = step_keys(PrngMode::Partitionable, km, 2);
        for (t, k) in steps.iter().enumerate() {
            assert_eq!(
                *k,
                key(&npz, &format!("member{m}_step{t}_apply_rng")),
                "member {m} step {t}"
            );
        }
    }
}
