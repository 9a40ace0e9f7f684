//! Output writers (NetCDF, Zarr) and ensemble statistics.
