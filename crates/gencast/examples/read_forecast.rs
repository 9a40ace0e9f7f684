//! Reading a forecast file back: the ensemble- and area-mean of one variable at each lead time.
//!
//! ```text
//! cargo run -p gencast --example ensemble_to_netcdf -- forecast.nc
//! cargo run -p gencast --example read_forecast -- forecast.nc 2m_temperature
//! ```
//!
//! [`ForecastOutput`] opens NetCDF files and Zarr stores in the reference's or
//! WeatherBench-2's names alike.

use std::path::Path;

use gencast::output::read::ForecastOutput;

/// For each lead time of the forecast at `path`: the lead time in hours and the mean of
/// `variable` over members, levels and grid points (NaNs left out), in f64.
pub(crate) fn lead_means(path: &Path, variable: &str) -> gencast::Result<Vec<(i64, f64)>> {
    let forecast = ForecastOutput::open(path)?;
    let mut out = Vec::new();
    for (lead, &ns) in forecast.lead_times().iter().enumerate() {
        let values = forecast.read(variable, lead)?;
        let (sum, n) = values
            .iter()
            .filter(|v| !v.is_nan())
            .fold((0f64, 0usize), |(s, n), &v| (s + f64::from(v), n + 1));
        out.push((ns / 3_600_000_000_000, sum / n as f64));
    }
    Ok(out)
}

fn main() -> gencast::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "forecast.nc".into());
    let variable = args.next().unwrap_or_else(|| "2m_temperature".into());
    for (hours, mean) in lead_means(Path::new(&path), &variable)? {
        println!("{variable} at +{hours} h: mean {mean:.3}");
    }
    Ok(())
}
