//! The crate's integration tests, one module per subject, built as one test binary (one
//! link instead of one per file). Run one subject with `cargo test -p CRATE --test
//! integration SUBJECT::`.

mod bench_cli;
mod check_cli;
mod forecast;
mod graphcast_cli;
mod graphcast_outputs;
mod grib2_output;
mod inspect;
mod isa;
mod layouts;
mod limits_and_messages;
mod map_text;
mod maps;
mod output_safety;
mod plot_cli;
mod prepare_cli;
mod requests_cli;
mod resume_nc;
mod selections;
mod signals;
mod sources_cli;
mod stats_cli;
mod summary_files;
mod support;
mod typed_options;
mod verify_cli;
mod zarr;
mod zarr_copy;
