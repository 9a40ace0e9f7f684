//! Output writers (NetCDF, Zarr) and ensemble statistics.

pub mod forecast_nc;
pub mod guard;
pub mod netcdf;
pub mod stats;
pub mod zarr;
