//! Reading example datasets (NetCDF written by xarray) and normalisation statistics.
pub mod forcings;
pub mod dataset;
mod netcdf_io;
pub mod netcdf_time;
pub mod stats;
pub use dataset::{Array, Dataset, VarInfo};
pub use netcdf_io::AttrValue;
pub use stats::{NormStats, StatsSet};
pub mod stacking;
pub mod normalization;
pub mod task;
pub mod checks;
