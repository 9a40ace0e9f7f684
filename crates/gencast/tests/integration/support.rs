//! Helpers shared by several test modules: the fixtures' regular grids, the GraphCast tiny
//! fixture's files, and SHA-256 digests.

#![allow(dead_code)]

use std::path::PathBuf;

use gencast::data::netcdf_time::parse_datetime;
use gencast::data::sources::convert::Regrid;
use gencast::data::sources::{tables, PrepareRequest};
use gencast::forecast::OutputVariable;
use sha2::{Digest, Sha256};

/// The regular grid of the fixtures and published datasets: `-90 + res*i` and `res*j` in
/// float64, cast to float32.
pub(crate) fn grid(res: f64) -> (Vec<f32>, Vec<f32>) {
    let n_lat = (180.0 / res).round() as usize + 1;
    let n_lon = (360.0 / res).round() as usize;
    let lat = (0..n_lat)
        .map(|i| (-90.0 + res * i as f64) as f32)
        .collect();
    let lon = (0..n_lon).map(|j| (res * j as f64) as f32).collect();
    (lat, lon)
}

/// A file of the GraphCast tiny fixture.
pub(crate) fn graphcast_fixture(file: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/graphcast-tiny"
    ))
    .join(file)
}

/// The GraphCast tiny fixture's dataset.
pub(crate) const GRAPHCAST_DATASET: &str =
    "source-era5_date-2019-03-29_res-10.0_levels-13_steps-03.nc";

/// SHA-256 (hex) of a byte string.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Two output variables: `2m_temperature` (surface, in K) and `geopotential` (on levels, no
/// units).
pub(crate) fn surface_and_levelled() -> Vec<OutputVariable> {
    vec![
        OutputVariable {
            name: "2m_temperature".into(),
            levelled: false,
            units: Some("K".into()),
            statistic: None,
        },
        OutputVariable {
            name: "geopotential".into(),
            levelled: true,
            units: None,
            statistic: None,
        },
    ]
}

/// A `prepare` request for `gencast-1p0` initialised 2019-03-29T12:00, on the fixtures' 10°
/// grid, subsampling finer sources.
pub(crate) fn gencast_request_10deg() -> PrepareRequest {
    let mut model = tables::model("gencast-1p0").unwrap();
    // The fixtures are on a 10° grid.
    model.grid_step = 10.0;
    PrepareRequest {
        model,
        init_time: parse_datetime("2019-03-29T12:00").unwrap(),
        regrid: Regrid::Subsample,
        member: None,
    }
}
