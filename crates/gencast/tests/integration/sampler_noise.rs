//! Spherical noise reproduced from the seed alone against the noise fields the reference
//! sampler drew (`tiny-mha/sampler_noise_member{M}_step{S}.nc`).

use gencast::checkpoint::GenCastCheckpoint;
use gencast::data::Dataset;
use gencast::models::gencast::sampler::dpm::{
    member_key, step_keys, DrawKind, Sampler, StateLayout,
};
use gencast::models::gencast::sampler::prng::PrngMode;
use gencast::models::gencast::sampler::schedule::Schedule;
use gencast::models::gencast::sampler::spherical::SphericalGrid;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-mha");

/// The twelve GenCast targets with their number of fields (13 pressure levels or 1).
const TARGETS: [(&str, usize); 12] = [
    ("10m_u_component_of_wind", 1),
    ("10m_v_component_of_wind", 1),
    ("2m_temperature", 1),
    ("geopotential", 13),
    ("mean_sea_level_pressure", 1),
    ("sea_surface_temperature", 1),
    ("specific_humidity", 13),
    ("temperature", 13),
    ("total_precipitation_12hr", 1),
    ("u_component_of_wind", 13),
    ("v_component_of_wind", 13),
    ("vertical_velocity", 13),
];

fn sampler(ds: &Dataset) -> Sampler {
    let grid = SphericalGrid::new(ds.lat(), ds.lon()).unwrap();
    sampler_on(grid, ds.lat().len() * ds.lon().len())
}

/// The fixture checkpoint's sampler on `grid` of `n_points` points, drawing partitionable noise.
fn sampler_on(grid: SphericalGrid, n_points: usize) -> Sampler {
    let ckpt = GenCastCheckpoint::open_configs(format!("{FIXTURES}/checkpoint.npz")).unwrap();
    let schedule = Schedule::new(&ckpt.sampler_config).unwrap();
    let layout = StateLayout::new(n_points, &TARGETS).unwrap();
    Sampler::new(schedule, grid, layout, PrngMode::Partitionable).unwrap()
}

#[test]
fn noise_fields_reproduced_from_seed() {
    let mut worst_rel = 0f64;
    let mut worst_abs = 0f64;
    for member in 0..2u32 {
        let keys = step_keys(PrngMode::Partitionable, member_key(0, member), 2);
        for (step, &step_key) in keys.iter().enumerate() {
            let path = format!("{FIXTURES}/sampler_noise_member{member}_step{step}.nc");
            let ds = Dataset::open(&path).unwrap();
            let s = sampler(&ds);
            let kinds = ds.read_strings("draw_kind").unwrap();
            let iters = ds.read_i64("draw_iteration").unwrap();
            assert_eq!(kinds.len(), 7);
            let ng = ds.lat().len() * ds.lon().len();
            let c = s.layout().channels();
            let mut noise = vec![0f32; c * ng];
            let arrays: Vec<_> = TARGETS
                .iter()
                .map(|(n, _)| ds.read(n, None).unwrap())
                .collect();
            for (d, (kind, &it)) in kinds.iter().zip(&iters).enumerate() {
                let kind = match kind.as_str() {
                    "init" | "initial" => DrawKind::Initial,
                    "churn" => DrawKind::Churn,
                    other => panic!("unknown draw kind {other}"),
                };
                let dk = s.draw_keys(step_key, it as usize, kind).unwrap();
                s.draw_noise(&dk, &mut noise).unwrap();
                let mut channel = 0;
                for ((name, fields), arr) in TARGETS.iter().zip(&arrays) {
                    // Dims (draw, time, [level,] lat, lon) after the batch index is selected.
                    let per_draw = fields * ng;
                    let want = &arr.data[d * per_draw..(d + 1) * per_draw];
                    let got = &noise[channel * ng..(channel + fields) * ng];
                    let (mut se, mut ss) = (0f64, 0f64);
                    for (g, w) in got.iter().zip(want) {
                        let e = f64::from(*g) - f64::from(*w);
                        se += e * e;
                        ss += f64::from(*w) * f64::from(*w);
                        worst_abs = worst_abs.max(e.abs());
                    }
                    let rel = (se / ss).sqrt();
                    worst_rel = worst_rel.max(rel);
                    // Tolerance: the coefficients are bit-identical; the synthesis differs from
                    // the reference's f32 einsums only in summation order (f32 rounding of sums
                    // of up to L = 18 and 2M − 1 = 35 O(1) terms), i.e. ~1e-7 relative.
                    assert!(
                        rel <= 1e-5,
                        "member {member} step {step} draw {d} {name}: rel RMS {rel}"
                    );
                    channel += fields;
                }
            }
        }
    }
    println!("noise fields: max relative RMS error {worst_rel:.3e}, max abs error {worst_abs:.3e}");
}

/// Wall time of one full noise draw (the 84 GenCast fields) at a given resolution.
fn time_draw(res: f64) {
    let n_lat = (180.0 / res) as usize + 1;
    let n_lon = 2 * (n_lat - 1);
    let lat: Vec<f32> = (0..n_lat)
        .map(|j| (-90.0 + res * j as f64) as f32)
        .collect();
    let lon: Vec<f32> = (0..n_lon).map(|i| (res * i as f64) as f32).collect();
    let t = std::time::Instant::now();
    let grid = SphericalGrid::new(&lat, &lon).unwrap();
    let setup = t.elapsed();
    let s = sampler_on(grid, n_lat * n_lon);
    let keys = s
        .draw_keys(
            step_keys(PrngMode::Partitionable, member_key(0, 0), 1)[0],
            0,
            DrawKind::Initial,
        )
        .unwrap();
    let mut out = vec![0f32; 84 * n_lat * n_lon];
    let t = std::time::Instant::now();
    s.draw_noise(&keys, &mut out).unwrap();
    println!(
        "{res}° ({n_lat}x{n_lon}), 84 fields, {} threads: setup {:.3}s, one draw {:.3}s",
        rayon::current_num_threads(),
        setup.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    let t = std::time::Instant::now();
    s.grid()
        .synthesize_with(84, |f, l, k| (f + l + k) as f32 * 1e-3, &mut out)
        .unwrap();
    println!(
        "  synthesis alone (no random draws) {:.3}s",
        t.elapsed().as_secs_f64()
    );
    let t = std::time::Instant::now();
    let n = gencast::models::gencast::sampler::prng::normal(
        PrngMode::Partitionable,
        keys[0],
        84 * n_lat * n_lat,
    );
    println!(
        "  {} normals alone {:.3}s",
        n.len(),
        t.elapsed().as_secs_f64()
    );
}

#[test]
#[ignore = "timing only; run with: cargo test --release -p gencast --test integration sampler_noise:: -- --ignored --nocapture"]
fn time_noise_draw() {
    time_draw(1.0);
    time_draw(0.25);
}

#[test]
fn noise_is_independent_of_thread_count() {
    let (n_lat, n_lon) = (91usize, 180usize);
    let lat: Vec<f32> = (0..n_lat).map(|j| -90.0 + 2.0 * j as f32).collect();
    let lon: Vec<f32> = (0..n_lon).map(|i| 2.0 * i as f32).collect();
    let grid = SphericalGrid::new(&lat, &lon).unwrap();
    let s = sampler_on(grid, n_lat * n_lon);
    let keys = s
        .draw_keys(
            step_keys(PrngMode::Partitionable, member_key(0, 1), 1)[0],
            2,
            DrawKind::Churn,
        )
        .unwrap();
    let draw = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut out = vec![0f32; 84 * n_lat * n_lon];
        pool.install(|| s.draw_noise(&keys, &mut out)).unwrap();
        out
    };
    let one = draw(1);
    let three = draw(3);
    assert!(one
        .iter()
        .zip(&three)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
}
