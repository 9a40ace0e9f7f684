//! Output writers (NetCDF, Zarr), their reader, ensemble statistics and verification scores.

pub mod cf;
pub mod forecast_nc;
pub mod guard;
pub mod netcdf;
pub mod read;
pub mod statics;
pub mod stats;
pub mod verify;
pub mod zarr;
