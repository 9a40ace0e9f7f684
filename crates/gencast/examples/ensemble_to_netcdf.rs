//! A GenCast ensemble forecast written to a NetCDF file, on the bundled demo model.
//!
//! ```text
//! cargo run -p gencast --example ensemble_to_netcdf -- forecast.nc
//! ```
//!
//! The file is what `gencast forecast --members 2 --lead-time 1d --init-time 2019-03-29T12:00`
//! writes for the demo (members are `fold_in(PRNGKey(seed), m)` whatever the sink or thread
//! count). Options a user types as text parse with `str::parse` into the library's types.

use std::path::Path;

use gencast::forecast::WriteMode;
use gencast::{Forecast, Model, NetCdfSink, Progress, Summary};

/// The bundled demo: a tiny GenCast checkpoint, its statistics and a 10° dataset.
pub(crate) fn demo_dir() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tiny-mha"
    ))
}

/// Writes a 2-member, 24 h (2-step) forecast of the demo (seed 0) from its second frame to
/// `output`, refusing to replace an existing file.
pub(crate) fn run(output: &Path) -> gencast::Result<Summary> {
    let demo = demo_dir();
    let model = Model::load(demo.join("checkpoint.npz"), demo)?;
    let mut sink = NetCdfSink::new(output, WriteMode::default());
    Forecast::new(demo.join("source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"))
        .members(2)
        .lead_time("1d".parse()?)
        .init_time("2019-03-29T12:00".parse()?)
        .seed(0)
        .progress(|p| {
            if let Progress::StepDone { member, step, .. } = p {
                eprintln!("member {member}, step {step} done");
            }
        })
        .run(&model, &mut sink)
}

fn main() -> gencast::Result<()> {
    let output = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "forecast.nc".into());
    let summary = run(Path::new(&output))?;
    println!(
        "{output}: {} members, {} steps, {} denoiser calls in {:.1} s",
        summary.members.len(),
        summary.steps,
        summary.denoiser_calls,
        summary.seconds
    );
    Ok(())
}
