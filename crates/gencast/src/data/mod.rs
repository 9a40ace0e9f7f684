//! Reading example datasets (NetCDF written by xarray) and normalisation statistics.
