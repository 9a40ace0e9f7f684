//! Output writers (NetCDF, Zarr, GRIB2), their reader, ensemble statistics and verification
//! scores.
//!
//! For programs that write files of their own: output safety ([`check_output_location`]
//! before any work, [`refuse_inputs_as_output`], [`StagedOutput`] written aside and renamed
//! when complete) and the classic NetCDF writer of the forecast files ([`NcWriter`]: declare
//! dimensions and variables in an [`NcHeader`], then write them slab by slab).

pub(crate) mod cf;
stage!(forecast_nc);
stage!(grib2);
stage!(guard);
stage!(netcdf);
pub mod read;
pub(crate) mod statics;
pub mod stats;
pub mod verify;
stage!(zarr);

pub use guard::{
    check_output_location, check_replaceable, refuse_inputs_as_output, same_location, OutputKind,
    StagedOutput,
};
pub use netcdf::{NcHeader, NcType, NcWriter};
