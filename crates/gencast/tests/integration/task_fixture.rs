//! Data preparation against the `tiny-mha` reference fixtures: progress features, NaN cleaning,
//! normalisation, stacking, un-normalisation and the autoregressive update.
//!
//! The reference computes the normalised inputs as `(x − f32(μ)) · f32(1/f32(s))`, the
//! progress features with numpy's float32 sin/cos, and stacks by plain copies, so every
//! comparison below is exact (0 ulp) unless a tolerance with its reason is given.

use gencast::checkpoint::{NpzArchive, TaskConfig};
use gencast::data::forcings::ProgressFeature;
use gencast::data::stacking::{Role, StackLayout};
use gencast::data::{Dataset, StatsSet};
use gencast::models::gencast::inputs::{PreparedStep, NAN_CLEANED_VAR};
use gencast::Error;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-mha");

fn path(name: &str) -> String {
    format!("{DIR}/{name}")
}

fn source() -> Dataset {
    Dataset::open(path(
        "source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc",
    ))
    .unwrap()
}

fn stats() -> StatsSet {
    StatsSet::open_dir(DIR).unwrap()
}

fn layout() -> StackLayout {
    StackLayout::for_task(&TaskConfig::gencast_default()).unwrap()
}

/// The denoiser-call fixtures use the training split: inputs are frames 1 and 2, the target and
/// forcings frame 3 (fixture README, "Reference outputs").
fn training_step() -> PreparedStep {
    PreparedStep::new(&source(), &stats(), &layout(), 1).unwrap()
}

/// Column `col` of a node-major `[n, c]` buffer.
fn column(buf: &[f32], c: usize, col: usize) -> Vec<f32> {
    buf.chunks_exact(c).map(|row| row[col]).collect()
}

/// Broadcasts a reference channel over the grid: a full field (`n_grid` values) as is, a
/// day-progress feature (`n_lon` values) over latitude, a year-progress feature (1 value)
/// everywhere.
fn broadcast(values: &[f32], n_grid: usize, n_lon: usize) -> Vec<f32> {
    match values.len() {
        n if n == n_grid => values.to_vec(),
        1 => vec![values[0]; n_grid],
        n => {
            assert_eq!(n, n_lon);
            (0..n_grid).map(|g| values[g % n_lon]).collect()
        }
    }
}

fn assert_bits_eq(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            a.to_bits() == b.to_bits(),
            "{what}[{i}]: got {a:e}, reference {b:e}"
        );
    }
}

#[test]
fn progress_features_match_the_generator() {
    let ds = source();
    for name in [
        "year_progress_sin",
        "year_progress_cos",
        "day_progress_sin",
        "day_progress_cos",
    ] {
        let feature = ProgressFeature::from_name(name).unwrap();
        let stored = ds.read(name, None).unwrap();
        let per_time = stored.data.len() / ds.num_frames();
        for (t, &dt) in ds.datetime().iter().enumerate() {
            let got = feature.values(dt, ds.lon());
            assert_bits_eq(
                &format!("{name} frame {t}"),
                &got,
                &stored.data[t * per_time..(t + 1) * per_time],
            );
        }
    }
}

#[test]
fn normalised_inputs_and_forcings_match_reference() {
    let step = training_step();
    let l = step.layout().clone();
    let (ng, cin) = (step.n_grid(), l.cin());
    let n_lon = step.lon().len();
    let inputs = Dataset::open(path("denoiser_norm_inputs.nc")).unwrap();
    let forcings = Dataset::open_lenient(path("denoiser_norm_forcings.nc")).unwrap();
    assert_eq!(inputs.level(), l.levels());
    let mut checked = 0;
    for b in l.blocks() {
        let reference = match b.role {
            Role::Input => &inputs,
            Role::Forcing => &forcings,
            Role::Target => continue,
        };
        let want = reference.read(&b.name, None).unwrap().data;
        let per_channel = want.len() / b.len();
        for t in 0..b.n_times() {
            for lev in 0..b.n_levels() {
                let k = t * b.n_levels() + lev;
                let w = broadcast(&want[k * per_channel..(k + 1) * per_channel], ng, n_lon);
                let got = column(step.grid_features(), cin, b.column(t, lev));
                assert_bits_eq(&format!("{} t={t} l={lev}", b.name), &got, &w);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 176 + 4);
}

#[test]
fn stacked_features_match_reference_call() {
    let step = training_step();
    let l = step.layout();
    let cin = l.cin();
    for k in 0..2 {
        let npz = NpzArchive::open(path(&format!("denoiser_call{k}_stacked.npz"))).unwrap();
        let names = npz.array("channel_names").unwrap();
        assert_eq!(
            names.as_strings().unwrap(),
            l.input_channel_names().as_slice()
        );
        let reference = npz.array("grid_node_features").unwrap();
        assert_eq!(reference.shape, [step.n_grid(), 1, cin]);
        let reference = reference.to_f32_vec().unwrap();
        let sigma = npz.array("noise_level").unwrap().to_f32_vec().unwrap()[0];
        let c_in = 1.0f32 / (sigma * sigma + 1.0).sqrt();

        // Noisy targets multiplied by c_in go into the target columns.
        let noisy = Dataset::open(path(&format!("denoiser_call{k}_noisy_targets.nc"))).unwrap();
        let mut features = step.grid_features().to_vec();
        for o in l.outputs() {
            let x = noisy.read(&o.name, None).unwrap().data;
            for lev in 0..o.len() {
                let col = l.target_columns()[o.offset + lev];
                for g in 0..step.n_grid() {
                    assert_eq!(features[g * cin + col], 0.0, "target column not zero");
                    features[g * cin + col] = c_in * x[lev * step.n_grid() + g];
                }
            }
        }
        assert_bits_eq(
            &format!("call {k} grid_node_features"),
            &features,
            &reference,
        );
    }
}

#[test]
fn to_physical_inverts_target_normalisation() {
    let ds = source();
    let step = training_step();
    let targets = step.read_targets(&ds, 3).unwrap();
    let x = step.normalize_targets(&targets).unwrap();
    assert!(x.iter().all(|v| v.is_finite()));
    let back = step.to_physical(&x).unwrap();
    let mask = step.sst_nan_mask();
    assert!(mask.iter().any(|&m| m) && !mask.iter().all(|&m| m));
    for (t, b) in targets.iter().zip(&back) {
        assert_eq!(t.name, b.name);
        assert_eq!(t.levels, b.levels);
        let scale = t
            .data
            .iter()
            .filter(|v| v.is_finite())
            .fold(0.0f32, |m, v| m.max(v.abs()));
        for (i, (&want, &got)) in t.data.iter().zip(&b.data).enumerate() {
            if t.name == NAN_CLEANED_VAR && mask[i % step.n_grid()] {
                assert!(want.is_nan() && got.is_nan(), "{} [{i}]", t.name);
                continue;
            }
            // Normalise then un-normalise: a few f32 roundings of values up to the field's
            // magnitude (residual path: subtraction, scaling, inverse scaling, addition).
            assert!(
                (want - got).abs() <= 4.0 * f32::EPSILON * scale,
                "{} [{i}]: {want} vs {got}",
                t.name
            );
        }
    }
}

#[test]
fn advance_reproduces_the_next_frame_pair() {
    // Feeding the true frame 2 back into the step prepared from frames 0 and 1 must give
    // exactly the step prepared from frames 1 and 2.
    let ds = source();
    let mut step = PreparedStep::new(&ds, &stats(), &layout(), 0).unwrap();
    let truth = step.read_targets(&ds, 2).unwrap();
    step.advance(&truth).unwrap();
    let expected = training_step();
    assert_eq!(step.input_datetimes(), expected.input_datetimes());
    assert_eq!(step.target_datetime(), expected.target_datetime());
    assert_eq!(step.target_datetime(), ds.datetime()[3]);
    assert_bits_eq("features", step.grid_features(), expected.grid_features());
    assert_bits_eq("last input", step.last_input(), expected.last_input());
    assert_eq!(step.sst_nan_mask(), expected.sst_nan_mask());
}

#[test]
fn target_datetime_and_warnings() {
    let step = training_step();
    assert_eq!(step.input_datetimes(), &source().datetime()[1..3]);
    assert!(step.warnings().is_empty(), "{:?}", step.warnings());
}

fn error_text(e: Error) -> String {
    e.to_string()
}

#[test]
fn missing_variables_are_listed_together() {
    let l = StackLayout::from_variables(
        &["2m_temperature", "foo", "bar", "land_sea_mask"],
        &["2m_temperature"],
        &["year_progress_sin"],
        &[500],
        2,
        12,
    )
    .unwrap();
    let e = error_text(PreparedStep::new(&source(), &stats(), &l, 0).unwrap_err());
    assert!(e.contains("bar") && e.contains("foo"), "{e}");
    assert!(e.contains("source-era5"), "{e}");
}

#[test]
fn missing_levels_and_frames_are_reported() {
    let l =
        StackLayout::from_variables(&["temperature"], &["temperature"], &[], &[500, 123], 2, 12)
            .unwrap();
    let e = error_text(PreparedStep::new(&source(), &stats(), &l, 0).unwrap_err());
    assert!(e.contains("123"), "{e}");

    for first in [3, 7] {
        let e = error_text(PreparedStep::new(&source(), &stats(), &layout(), first).unwrap_err());
        assert!(e.contains("input frames") && e.contains("4 frame"), "{e}");
    }
}
