//! What a [`super::Model`] builds once per grid and keeps: the graphs, the packed weights and
//! the cached static embeddings of its network, so that later forecasts on the same grid (and
//! precision) start computing at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::checkpoint::{GenCastCheckpoint, GraphCastCheckpoint};
use crate::models::gencast::rollout::Forecaster;
use crate::models::graphcast::{GraphCastGraphs, GraphCastModel, Precision};
use crate::Result;

/// How many grids a model keeps prepared at once; preparing another drops the one used least
/// recently (a 0.25° network holds several GiB).
pub const MAX_PREPARED_GRIDS: usize = 2;

/// A network ready for one grid.
pub(crate) enum Network {
    /// GenCast's denoiser, graphs and channel layout.
    GenCast(Forecaster),
    /// GraphCast's network in one precision.
    GraphCast(GraphCastModel),
}

/// A network prepared for one grid and precision, with what its preparation cost.
pub(crate) struct Prepared {
    /// Latitudes (bit patterns) the graphs were built for.
    lat: Vec<u32>,
    /// Longitudes (bit patterns) the graphs were built for.
    lon: Vec<u32>,
    /// The arithmetic the network was loaded for.
    precision: Precision,
    /// The network.
    pub(crate) network: Network,
    /// Seconds spent building the graphs.
    pub(crate) graph_build_s: f64,
    /// Seconds spent loading the weights (packing, static embeddings).
    pub(crate) load_s: f64,
}

impl Prepared {
    /// Builds GenCast's graphs and network for the grid `lat` × `lon`.
    pub(crate) fn gencast(ckpt: &GenCastCheckpoint, lat: &[f32], lon: &[f32]) -> Result<Prepared> {
        let forecaster = Forecaster::new(ckpt, lat, lon)?;
        let (graph_build_s, load_s) = forecaster.setup_times();
        Ok(Prepared {
            lat: bits(lat),
            lon: bits(lon),
            precision: Precision::F32,
            network: Network::GenCast(forecaster),
            graph_build_s,
            load_s,
        })
    }

    /// Builds GraphCast's graphs and network for the grid `lat` × `lon` in `precision`.
    pub(crate) fn graphcast(
        ckpt: &GraphCastCheckpoint,
        lat: &[f32],
        lon: &[f32],
        precision: Precision,
    ) -> Result<Prepared> {
        let t0 = Instant::now();
        let graphs = GraphCastGraphs::build(&ckpt.model_config, lat, lon)?;
        let graph_build_s = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let net = GraphCastModel::load(ckpt, Arc::new(graphs), precision)?;
        Ok(Prepared {
            lat: bits(lat),
            lon: bits(lon),
            precision,
            network: Network::GraphCast(net),
            graph_build_s,
            load_s: t1.elapsed().as_secs_f64(),
        })
    }

    /// Whether this was prepared for exactly this grid and precision.
    fn is_for(&self, lat: &[f32], lon: &[f32], precision: Precision) -> bool {
        self.precision == precision && same_bits(&self.lat, lat) && same_bits(&self.lon, lon)
    }
}

/// The bit patterns of coordinates (so that a grid matches only itself, NaN included).
fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Whether `values` have exactly the bit patterns `stored`.
fn same_bits(stored: &[u32], values: &[f32]) -> bool {
    stored.len() == values.len() && stored.iter().zip(values).all(|(&b, v)| b == v.to_bits())
}

/// The networks a model has prepared, most recently used last.
#[derive(Default)]
pub(crate) struct PreparedCache {
    entries: Mutex<Vec<Arc<Prepared>>>,
    builds: AtomicUsize,
}

impl PreparedCache {
    /// The entries; a panic of another thread while it held the lock left them consistent
    /// (entries are only pushed or removed whole), so a poisoned lock is taken over.
    fn lock(&self) -> MutexGuard<'_, Vec<Arc<Prepared>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The network prepared for this grid and precision, built with `build` when there is
    /// none; the flag says whether it was reused. The lock is held while building, so two
    /// forecasts on one grid never build it twice.
    pub(crate) fn get_or_build(
        &self,
        lat: &[f32],
        lon: &[f32],
        precision: Precision,
        build: impl FnOnce() -> Result<Prepared>,
    ) -> Result<(Arc<Prepared>, bool)> {
        let mut entries = self.lock();
        if let Some(i) = entries.iter().position(|p| p.is_for(lat, lon, precision)) {
            let p = entries.remove(i);
            entries.push(p.clone());
            return Ok((p, true));
        }
        let p = Arc::new(build()?);
        self.builds.fetch_add(1, Ordering::Relaxed);
        if entries.len() >= MAX_PREPARED_GRIDS {
            entries.remove(0);
        }
        entries.push(p.clone());
        Ok((p, false))
    }

    /// Number of grids prepared now.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Drops every prepared network (a run still using one keeps it until it ends).
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    /// How many times a network was built (graphs and weights), over the model's life.
    #[cfg(test)]
    pub(crate) fn builds(&self) -> usize {
        self.builds.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Forecast, MemorySink, Model, Progress};
    use crate::forecast::CoordValues;
    use crate::models::graphcast::Precision;

    /// A fixture folder of this crate.
    fn fixture(set: &str) -> String {
        format!("{}/tests/fixtures/{set}", env!("CARGO_MANIFEST_DIR"))
    }

    /// GenCast's tiny model and its two-step dataset.
    fn gencast() -> (Model, String) {
        let dir = fixture("tiny-mha");
        let model = Model::load(format!("{dir}/checkpoint.npz"), &dir).unwrap();
        let ds = format!("{dir}/source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc");
        (model, ds)
    }

    /// GraphCast's tiny model and its three-step dataset.
    fn graphcast() -> (Model, String) {
        let dir = fixture("graphcast-tiny");
        let model = Model::load(format!("{dir}/checkpoint.npz"), &dir).unwrap();
        let ds = format!("{dir}/source-era5_date-2019-03-29_res-10.0_levels-13_steps-03.nc");
        (model, ds)
    }

    /// Every data variable of a forecast: name, shape and the bit pattern of each value.
    type Bits = Vec<(String, Vec<usize>, Vec<u32>)>;

    /// Runs `request` with `model` in memory; returns the values' bits and the info messages.
    fn run(model: &Model, request: Forecast<'_>) -> (Bits, Vec<String>) {
        let mut infos = Vec::new();
        let mut sink = MemorySink::new();
        request
            .progress(|p| {
                if let Progress::Info(m) = p {
                    infos.push(m.clone())
                }
            })
            .run(model, &mut sink)
            .unwrap();
        let bits = sink
            .into_forecast()
            .unwrap()
            .data_vars
            .into_iter()
            .map(|v| {
                let CoordValues::Float(values) = v.values else {
                    panic!("{}: forecast values are float32", v.name)
                };
                let b = values.iter().map(|x| x.to_bits()).collect();
                (v.name, v.shape, b)
            })
            .collect();
        (bits, infos)
    }

    /// Whether one of the messages says the network was reused.
    fn says_reused(infos: &[String]) -> bool {
        infos.iter().any(|m| m.contains("reused"))
    }

    #[test]
    fn a_second_gencast_forecast_reuses_the_network_and_gives_the_same_bits() {
        let (model, ds) = gencast();
        let request = || Forecast::new(&ds).members(2).steps(2).seed(3);
        let (first, infos1) = run(&model, request());
        assert_eq!(model.network_builds(), 1);
        assert!(!says_reused(&infos1), "{infos1:?}");
        let (second, infos2) = run(&model, request());
        assert_eq!(model.network_builds(), 1, "the second run built nothing");
        assert!(says_reused(&infos2), "{infos2:?}");
        assert_eq!(model.prepared_grids(), 1);
        let (fresh, _) = run(&gencast().0, request());
        assert!(!first.is_empty());
        assert!(first == fresh, "first run differs from a fresh model's");
        assert!(second == fresh, "second run differs from a fresh model's");
    }

    #[test]
    fn graphcast_networks_are_kept_per_precision_and_released_on_demand() {
        let (model, ds) = graphcast();
        let request = |p| Forecast::new(&ds).steps(3).precision(p);
        let (f32_first, _) = run(&model, request(Precision::F32));
        let (bf16_first, _) = run(&model, request(Precision::Bf16Cast));
        assert_eq!(model.network_builds(), 2, "one network per precision");
        let (f32_second, infos) = run(&model, request(Precision::F32));
        let (bf16_second, _) = run(&model, request(Precision::Bf16Cast));
        assert_eq!(model.network_builds(), 2, "both kept: nothing rebuilt");
        assert!(says_reused(&infos), "{infos:?}");
        let fresh = graphcast().0;
        assert!(f32_first == f32_second && f32_second == run(&fresh, request(Precision::F32)).0);
        assert!(
            bf16_first == bf16_second && bf16_second == run(&fresh, request(Precision::Bf16Cast)).0
        );
        assert!(f32_first != bf16_first, "the precisions differ");

        model.release_prepared();
        assert_eq!(model.prepared_grids(), 0);
        run(&model, request(Precision::F32));
        assert_eq!(
            model.network_builds(),
            3,
            "released networks are built again"
        );
    }

    #[test]
    fn prepare_builds_ahead_and_refuses_bf16_for_gencast() {
        let (model, ds) = gencast();
        let data = crate::data::Dataset::open(&ds).unwrap();
        model
            .prepare(data.lat(), data.lon(), Precision::F32)
            .unwrap();
        assert_eq!(model.network_builds(), 1);
        let (_, infos) = run(&model, Forecast::new(&ds));
        assert!(says_reused(&infos), "{infos:?}");
        assert_eq!(model.network_builds(), 1);
        let err = model
            .prepare(data.lat(), data.lon(), Precision::Bf16Cast)
            .unwrap_err()
            .to_string();
        assert!(err.contains("GenCast") && err.contains("float32"), "{err}");
    }

    #[test]
    fn the_least_recently_used_grid_is_dropped() {
        let (model, ds) = gencast();
        let data = crate::data::Dataset::open(&ds).unwrap();
        let (lat, lon) = (data.lat().to_vec(), data.lon().to_vec());
        // Three grids: the data's, and the same shifted by 1° and 2° of longitude.
        let shifted = |d: f32| lon.iter().map(|x| x + d).collect::<Vec<f32>>();
        let grids = [lon.clone(), shifted(1.0), shifted(2.0)];
        for g in &grids {
            model.prepare(&lat, g, Precision::F32).unwrap();
        }
        assert_eq!(model.prepared_grids(), super::MAX_PREPARED_GRIDS);
        assert_eq!(model.network_builds(), 3);
        // The last two are kept; the first was dropped and is built again.
        model.prepare(&lat, &grids[2], Precision::F32).unwrap();
        model.prepare(&lat, &grids[1], Precision::F32).unwrap();
        assert_eq!(model.network_builds(), 3);
        model.prepare(&lat, &grids[0], Precision::F32).unwrap();
        assert_eq!(model.network_builds(), 4);
    }
}
