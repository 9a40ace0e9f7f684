//! GRIB2 forecast output: one message per member, step, variable and level, with WMO parameter
//! codes (`params.tsv`), ensemble or deterministic product templates, the regular
//! latitude/longitude grid of the forecast and lossless IEEE packing.
//!
//! The project encodes the messages itself, in a few hundred lines that cover just what forecasts
//! need (grid template 3.0, product templates 4.0/4.1/4.8/4.11, data template 5.4, a bitmap):
//! the ecCodes bindings need the C library at build time, and `grib-writer` 0.7 (the writer of
//! the `grib-reader` family, which decodes what a resumed run replays here) writes grid template
//! 3.0 with resolution flags 0 while filling in the increments and a fixed shape of the earth;
//! ecCodes then reports the increments as missing and the message as invalid
//! (`iDirectionIncrementGiven=0 but iDirectionIncrement!=missing`).
//!
//! Values are stored as IEEE float32, the forecast's own values, so a field decodes to exactly
//! the NetCDF output's value; a field with a units factor (precipitation in kg m-2 from metres)
//! is stored as float64 so that dividing by the factor gives the float32 value back exactly.

pub mod file;
pub mod message;
pub mod params;

pub use file::GribWriter;

#[cfg(test)]
mod tests;
