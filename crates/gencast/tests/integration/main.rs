//! The crate's integration tests, one module per subject, built as one test binary (one
//! link instead of one per file). Run one subject with `cargo test -p CRATE --test
//! integration SUBJECT::`.

mod checkpoint;
mod checkpoint_errors;
mod checkpoint_fuzz;
mod checkpoint_npz;
mod data_bad_inputs;
mod data_classic;
mod data_reader;
mod data_support;
mod denoiser_load;
mod denoiser_parity;
mod examples;
mod facade;
mod graph_build;
mod graph_connectivity;
mod graph_features;
mod graph_mesh;
mod graphcast_bad_inputs;
mod graphcast_bf16;
mod graphcast_checkpoint;
mod graphcast_graph;
mod graphcast_parity;
mod graphcast_tisr;
mod grib_corpus;
mod output_read;
mod prepare_conflicts;
mod prepare_graphcast;
mod prepare_grib;
mod prepare_sources;
mod prepare_zarr;
mod reader_fuzz;
mod sampler_dpm;
mod sampler_noise;
mod sampler_schedule;
mod stats_metrics;
mod support;
mod task_fixture;
