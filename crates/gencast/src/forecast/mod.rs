//! The library's front door: load a [`Model`], describe a [`Forecast`], run it into a
//! [`ForecastSink`] (a NetCDF, Zarr or GRIB2 output, or memory). The forecast data model a
//! sink receives is here too: the [`ForecastLayout`] of the output (its [`OutputVariable`]s,
//! levels, grid, members, lead times and [`Naming`]), each step's [`Field`]s, and the raw
//! coordinate values ([`CoordValues`]) and attributes ([`AttrValue`]) of a [`MemoryForecast`].
//! The crate documentation describes the options, progress, cancellation and sinks.
//!
//! ```
//! use gencast::{Forecast, MemorySink, Model};
//!
//! let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-mha");
//! let model = Model::load(format!("{demo}/checkpoint.npz"), demo)?;
//! let mut sink = MemorySink::new();
//! let summary = Forecast::new(format!(
//!     "{demo}/source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"
//! ))
//! .members(2)
//! .steps(1)
//! .seed(0)
//! .run(&model, &mut sink)?;
//! assert_eq!(summary.steps_computed, 2);
//!
//! let forecast = sink.into_forecast()?;
//! let t2m = forecast.variable("2m_temperature").unwrap();
//! // (sample, batch, time, lat, lon) on the demo's 10° grid.
//! assert_eq!(t2m.dims, ["sample", "batch", "time", "lat", "lon"]);
//! assert_eq!(t2m.shape, [2, 1, 1, 19, 36]);
//! let gencast::forecast::CoordValues::Float(values) = &t2m.values else {
//!     panic!("forecast values are float32")
//! };
//! assert!(values.iter().all(|v| v.is_finite()));
//! # Ok::<(), gencast::Error>(())
//! ```

mod builder;
mod driver;
pub(crate) mod family;
mod field;
mod grib_sink;
mod layout;
mod memory;
pub(crate) mod model;
mod options;
pub mod output;
pub(crate) mod prepared;
pub(crate) mod request;
mod select;
mod sink;
pub mod spill;
mod summary;
mod timing;

pub use crate::models::gencast::rollout::CallProgress;
/// The arithmetic of a GraphCast forecast ([`Forecast::precision`]).
pub use crate::models::graphcast::Precision;
pub use builder::Forecast;
pub use field::Field;
pub use grib_sink::{is_grib, GribSink};
pub use layout::{
    AttrValue, CoordValues, ForecastLayout, Names, Naming, OutputVariable, StaticField,
};
pub use memory::{MemoryForecast, MemorySink, MemoryVariable};
pub use model::{Model, ModelKind, Stats, GENCAST_STEP_HOURS};
pub use options::{InitTime, LeadTime, SamplerOverrides, MAX_NOISE_LEVELS};
pub use output::WriteMode;
pub use prepared::MAX_PREPARED_GRIDS;
pub use request::{DatasetInput, Progress, Summary, MAX_MEMBER_STEPS};
pub use select::{Region, RegionPoints};
pub use sink::{ForecastSink, NetCdfSink, ZarrSink, MAX_ENSEMBLE};
pub use summary::{EnsembleSummary, Statistic, SummarySink, SUMMARY_STD_DDOF};
