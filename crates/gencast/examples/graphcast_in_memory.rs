//! A GraphCast forecast into memory, on the bundled GraphCast test model.
//!
//! ```text
//! cargo run -p gencast --example graphcast_in_memory
//! ```
//!
//! A [`MemorySink`] keeps exactly the variables, coordinates and attributes a NetCDF file
//! would hold, as plain vectors.

use std::path::Path;

use gencast::forecast::{CoordValues, LeadTime};
use gencast::{Forecast, MemoryForecast, MemorySink, Model};

/// The bundled GraphCast test model: a tiny checkpoint, its statistics and a 10° dataset with
/// two input frames and three targets.
pub(crate) fn fixture_dir() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/graphcast-tiny"
    ))
}

/// A 3-step (18 h) GraphCast forecast of the fixture dataset, in memory.
pub(crate) fn run() -> gencast::Result<MemoryForecast> {
    let dir = fixture_dir();
    let model = Model::load(dir.join("checkpoint.npz"), dir)?;
    let mut sink = MemorySink::new();
    Forecast::new(dir.join("source-era5_date-2019-03-29_res-10.0_levels-13_steps-03.nc"))
        .lead_time(LeadTime::hours(18))
        .run(&model, &mut sink)?;
    sink.into_forecast()
}

fn main() -> gencast::Result<()> {
    let forecast = run()?;
    for v in &forecast.data_vars {
        let CoordValues::Float(values) = &v.values else {
            continue;
        };
        let mean = values.iter().map(|&x| f64::from(x)).sum::<f64>() / values.len() as f64;
        println!("{:<28} {:?} {:?} mean {mean:.3}", v.name, v.dims, v.shape);
    }
    Ok(())
}
