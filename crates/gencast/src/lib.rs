//! GenCast inference on CPUs, and its deterministic sibling GraphCast.
//!
//! Most callers need only the front door, [`forecast`] (its main types are re-exported here):
//! load a [`Model`], describe a [`Forecast`], and run it into a [`ForecastSink`] — a
//! [`NetCdfSink`], [`ZarrSink`] or [`GribSink`](forecast::GribSink) file, a [`MemorySink`], or
//! a [`SummarySink`](forecast::SummarySink) that turns members into ensemble statistics. The
//! `gencast forecast` command is this call, so a library forecast is bitwise the command's.
//!
//! ```
//! use gencast::forecast::{EnsembleSummary, SummarySink};
//! use gencast::{Forecast, MemorySink, Model};
//!
//! let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-mha");
//! let model = Model::load(format!("{demo}/checkpoint.npz"), demo)?;
//! assert_eq!(model.step_hours(), 12);
//! // Ensemble mean and 90th percentile of 3 members instead of the members themselves.
//! let spill = std::env::temp_dir();
//! let summary = EnsembleSummary::parse(&["mean", "q90"])?;
//! let mut sink = SummarySink::new(MemorySink::new(), summary, spill);
//! Forecast::new(format!(
//!     "{demo}/source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"
//! ))
//! .members(3)
//! .seed(7)
//! .run(&model, &mut sink)?;
//! let forecast = sink.into_inner().into_forecast()?;
//! // A statistic has no member dimension.
//! let mean = forecast.variable("mean__2m_temperature").unwrap();
//! assert_eq!(mean.dims, ["batch", "time", "lat", "lon"]);
//! assert!(forecast.variable("q90__2m_temperature").is_some());
//! # Ok::<(), gencast::Error>(())
//! ```
//!
//! # Model
//!
//! [`Model::load`] reads a GenCast or GraphCast checkpoint (`.npz`, the kind is told by its
//! contents, [`ModelKind`]) and the normalisation statistics from a folder
//! ([`Model::stats_files`] names the files); [`Model::load_with_stats`] takes [`Stats`]
//! instead, e.g. built in memory from xarray Datasets with
//! [`NormStats::from_entries`](data::NormStats::from_entries). A model tells its
//! [`kind`](Model::kind), [`step_hours`](Model::step_hours) (12 for GenCast, 6 for GraphCast),
//! [`task`](Model::task) (input, target and forcing variables, pressure levels, input
//! duration), [`sampler_config`](Model::sampler_config) (GenCast) and
//! [`num_params`](Model::num_params). It keeps the networks it prepares for a grid, so a second
//! forecast on the same grid builds no graph and packs no weight.
//!
//! # Datasets
//!
//! A forecast reads its initial conditions from a dataset file
//! ([`Forecast::new`]) or from a [`data::Dataset`] ([`Forecast::with_dataset`]): opened from a
//! file, or built in memory with [`data::Dataset::from_arrays`]. Variables keep their xarray
//! dims (e.g. `batch, time, level, lat, lon`; batch index 0 is used) and the coordinates are
//! validated as a file's are, so a forecast from memory equals the file's bit for bit.
//!
//! ```no_run
//! use gencast::data::{Array, Dataset, MemoryCoords};
//! # let (lat, lon, t2m): (Vec<f32>, Vec<f32>, Vec<f32>) = Default::default();
//! let hour = 3_600_000_000_000_i64; // ns
//! let coords = MemoryCoords {
//!     lat, // ascending from -90
//!     lon, // ascending from 0
//!     level: vec![500, 850],
//!     time: vec![0, 12 * hour],
//!     datetime: vec![1_553_817_600 * 1_000_000_000, 1_553_817_600 * 1_000_000_000 + 12 * hour],
//! };
//! let t2m = Array {
//!     dims: ["batch", "time", "lat", "lon"].map(String::from).to_vec(),
//!     shape: vec![1, 2, 181, 360],
//!     data: t2m,
//! };
//! let dataset = Dataset::from_arrays(
//!     "ERA5 (memory)", // stands for the dataset in messages
//!     coords,
//!     [("2m_temperature".to_string(), t2m, Some("K".to_string()))],
//! )?;
//! # Ok::<(), gencast::Error>(())
//! ```
//!
//! # Forecast
//!
//! The [`Forecast`] builder sets the initialisation time (the newest input frame, an
//! [`InitTime`](forecast::InitTime)), the number of members and the first member's number, the
//! steps or the lead time (a [`LeadTime`](forecast::LeadTime) in whole hours), the seed (member
//! `m` draws from `fold_in(PRNGKey(seed), m)`, whatever the sink or thread count), sampler
//! overrides ([`SamplerOverrides`](forecast::SamplerOverrides), fields named as the reference's
//! `SamplerConfig`), a thread count, GraphCast's precision, and what is written: variables,
//! levels, a [`Region`](forecast::Region), an output interval (a `LeadTime`) and the
//! [`Naming`](forecast::Naming) of dimensions (the reference's or WeatherBench-2's).
//! [`Forecast::run`] blocks until the forecast is written and returns a [`Summary`].
//!
//! The options are typed values; text a user typed (`"15d"`, `"2019-03-29T12:00"`,
//! `"num_noise_levels=20"`) parses into them with `str::parse`, whose errors name the option
//! (`Forecast::init_time`, `Forecast::sampler`, `lead time`). Whether a lead time is a
//! multiple of the model's step, or an init time a time of the dataset, is checked by the run.
//!
//! ```
//! use gencast::forecast::{LeadTime, SamplerOverrides};
//! use gencast::{Forecast, MemorySink, Model};
//!
//! let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-mha");
//! let model = Model::load(format!("{demo}/checkpoint.npz"), demo)?;
//! let dataset = format!("{demo}/source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc");
//! let mut sink = MemorySink::new();
//! let summary = Forecast::new(&dataset)
//!     .init_time("2019-03-29T12:00".parse()?)
//!     .lead_time(LeadTime::hours(24)) // or "1d".parse()?
//!     .output_every("1d".parse()?)
//!     .sampler(SamplerOverrides {
//!         num_noise_levels: Some(4),
//!         ..SamplerOverrides::default()
//!     })
//!     .run(&model, &mut sink)?;
//! // Two 12 h steps computed, the 24 h one written.
//! assert_eq!((summary.steps, summary.steps_computed), (2, 2));
//! assert_eq!(sink.into_forecast()?.variable("2m_temperature").unwrap().shape[2], 1);
//!
//! let err = "15x".parse::<LeadTime>().unwrap_err();
//! assert_eq!(err.to_string(), "lead time `15x`: expected e.g. 360h or 15d");
//! # Ok::<(), gencast::Error>(())
//! ```
//!
//! Progress arrives as [`Progress`] events through [`Forecast::progress`], on the thread that
//! called `run` (never on a worker), so a Python callback may take the GIL while the caller
//! releases it around `run`. A set [`Forecast::cancel_flag`] is checked before every denoiser
//! call and every step and ends the run with [`Error::Cancelled`]; an interrupted NetCDF, Zarr
//! or GRIB2 output can be resumed with [`WriteMode::resume`](forecast::WriteMode::resume).
//!
//! # Sinks and the forecast data model
//!
//! A [`ForecastSink`] receives a [`ForecastLayout`](forecast::ForecastLayout) (variables,
//! levels, grid, members, lead times, names) and then each member's steps as
//! [`Field`](forecast::Field)s, member after member. Statistic `s` of variable `v` is the layout
//! variable `s__v`, without the member dimension. [`MemorySink::into_forecast`] gives a
//! [`MemoryForecast`]: exactly the NetCDF file's dimensions, global attributes, coordinate and
//! data variables, with raw values ([`CoordValues`](forecast::CoordValues)) and attributes
//! ([`AttrValue`](forecast::AttrValue)), so that `xarray.decode_cf` of a Dataset built from them
//! equals `xarray.open_dataset` of the file. [`output::read::ForecastOutput`] reads a forecast
//! file or store back.
//!
//! File sinks take a [`WriteMode`](forecast::WriteMode): nothing existing is replaced unless it
//! says `overwrite`, and an unfinished output is continued only when it says `resume`.
//! [`forecast::output::sink_for`] picks the sink by the output's extension.
//!
//! # Errors
//!
//! Every fallible call returns [`Result`], whose [`Error`] message names the file, variable,
//! tensor or option at fault and what was expected.
//!
//! # Examples
//!
//! `crates/gencast/examples/` holds runnable programs (`cargo run -p gencast --example NAME`):
//! `ensemble_to_netcdf` (a GenCast ensemble to a NetCDF file), `graphcast_in_memory` (a
//! GraphCast forecast into memory) and `read_forecast` (a forecast file read back).
//!
//! # Inside
//!
//! The crate follows the reference pipeline stage by stage: [`checkpoint`] reads the official
//! `.npz` checkpoints of both families, [`data`] reads the example datasets and normalisation
//! statistics, and [`output`] holds the writers and their reader. The stages between are
//! private: `models` holds the two families as peers, `models::gencast` (configs, denoiser
//! network, diffusion sampler and its random streams, one member's rollout) and
//! `models::graphcast` (configs, graphs, network, normalisation, one-step prediction), which
//! the one run loop of [`forecast`] reaches through a single internal trait; `nn` holds the
//! MLP and interaction-network layers they share, `graph` builds the icosahedral mesh and the
//! grid↔mesh graphs, and `kernels` holds the numeric kernels ([`isa`] chooses their
//! instruction set). The crate's own tests, which check each stage against the reference,
//! see them public through the `testing` feature.

/// Declares an internal stage of the pipeline: public to the crate's own tests (feature
/// `testing`), which check it against the reference stage by stage, and private to the crate
/// otherwise.
macro_rules! stage {
    ($name:ident) => {
        #[cfg(feature = "testing")]
        pub mod $name;
        // What only the tests call is not dead.
        #[cfg(not(feature = "testing"))]
        #[allow(unreachable_pub, dead_code, unused_imports)]
        pub(crate) mod $name;
    };
}
/// Returns an [`crate::Error::Invalid`] built from a format string.
macro_rules! bail {
    ($($t:tt)*) => {
        return Err($crate::Error::Invalid(format!($($t)*)))
    };
}

/// Benchmarks of random-weight models of the published configurations (`gencast bench`).
#[cfg(feature = "bench")]
pub mod bench;
pub mod checkpoint;
pub mod data;
pub mod error;
pub mod forecast;
pub(crate) mod npmath;
pub mod output;
pub mod process;
#[cfg(any(test, feature = "bench"))]
mod synthetic;
pub mod time;
pub mod variables;

stage!(graph);
stage!(kernels);
stage!(models);
stage!(nn);

pub use kernels::isa;

pub use error::{Error, Result};
pub use forecast::{
    Forecast, ForecastSink, MemoryForecast, MemorySink, Model, ModelKind, NetCdfSink, Progress,
    Stats, Summary, ZarrSink,
};
