//! Output writers (NetCDF, Zarr, GRIB2), their reader, ensemble statistics and verification
//! scores.

pub(crate) mod cf;
stage!(forecast_nc);
stage!(grib2);
pub mod guard;
pub mod netcdf;
pub mod read;
pub(crate) mod statics;
pub mod stats;
pub mod verify;
stage!(zarr);
