//! Output writers (NetCDF, Zarr) and ensemble statistics.

pub mod netcdf;
pub mod forecast_nc;
pub mod stats;
pub mod zarr;
