//! Reading example datasets (NetCDF written by xarray) and normalisation statistics.
pub(crate) mod dataset;
stage!(forcings);
pub(crate) mod grid;
pub(crate) mod netcdf_io;
pub mod netcdf_time;
pub mod solar_radiation;
pub mod stats;
pub use dataset::{Array, Dataset, MemoryCoords, VarInfo};
pub use netcdf_io::AttrValue;
pub use stats::{NormStats, StatsSet};
stage!(bounds);
pub mod checks;
pub(crate) mod normalization;
pub mod requests;
pub mod sources;
stage!(stacking);
