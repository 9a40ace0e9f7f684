//! Output writers (NetCDF, Zarr) and ensemble statistics.

pub mod cf;
pub mod forecast_nc;
pub mod guard;
pub mod netcdf;
pub mod read;
pub mod stats;
pub mod verify;
pub mod zarr;
