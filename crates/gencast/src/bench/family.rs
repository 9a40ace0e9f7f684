//! The hooks in which the benchmarked model families differ: building a random-weight model on
//! synthetic inputs, the timed unit (a GenCast denoiser call, a GraphCast 6 h step) and the
//! family's own figures.

use super::report::{median, FamilyReport};
use super::BenchOptions;
use crate::Result;

/// What a family's timed unit is called and how it is split (each family's `UNIT`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unit {
    /// The unit in progress lines and messages (`call`, `step`).
    pub(crate) noun: &'static str,
    /// The unit in reports (`denoiser call`, `6 h step`).
    pub(crate) name: &'static str,
    /// The three stages whose seconds a unit may return.
    pub(crate) stages: [&'static str; 3],
    /// Whether the warm-up unit may be reported alone, when no unit is timed after it (not
    /// when it does work the later units skip, such as allocating their buffers).
    pub(crate) warm_up_may_stand_alone: bool,
}

/// The figures every family gives once its network is loaded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Setup {
    /// Network parameters.
    pub(crate) num_params: usize,
    /// Grid nodes.
    pub(crate) n_grid: usize,
    /// Mesh nodes.
    pub(crate) n_mesh: usize,
    /// grid2mesh edges.
    pub(crate) grid2mesh_edges: usize,
    /// mesh2grid edges.
    pub(crate) mesh2grid_edges: usize,
    /// Seconds to build the graphs.
    pub(crate) graph_build_s: f64,
    /// Seconds to load the network from its checkpoint.
    pub(crate) network_load_s: f64,
    /// Resident memory once loaded and the checkpoint dropped, MiB.
    pub(crate) rss_after_load_mb: f64,
}

/// The units of the main figures (first kernel path, first thread count).
#[derive(Debug, Clone)]
pub(crate) struct UnitTimes {
    /// The warm-up unit's seconds.
    pub(crate) first_s: f64,
    /// Seconds of each unit reported (the timed ones, or the warm-up one alone).
    pub(crate) seconds: Vec<f64>,
    /// Each reported unit's stage seconds, where the family times them.
    pub(crate) stages: Vec<Option<[f64; 3]>>,
    /// Resident memory after the timed units, MiB.
    pub(crate) rss_after_mb: f64,
}

impl UnitTimes {
    /// Median seconds per unit.
    pub(crate) fn median(&self) -> f64 {
        median(&self.seconds)
    }

    /// Fastest unit.
    pub(crate) fn min(&self) -> f64 {
        self.seconds.iter().copied().fold(f64::INFINITY, f64::min)
    }

    /// Slowest unit.
    pub(crate) fn max(&self) -> f64 {
        self.seconds.iter().copied().fold(0.0, f64::max)
    }

    /// Median seconds of each stage, when every reported unit was timed stage by stage.
    pub(crate) fn stage_medians(&self) -> Option<[f64; 3]> {
        stage_medians(&self.stages)
    }
}

/// Median seconds of each stage over `units`, when every one has its stages.
pub(crate) fn stage_medians(units: &[Option<[f64; 3]>]) -> Option<[f64; 3]> {
    let all: Option<Vec<[f64; 3]>> = units.iter().copied().collect();
    let all = all.filter(|v| !v.is_empty())?;
    Some(std::array::from_fn(|j| {
        median(&all.iter().map(|s| s[j]).collect::<Vec<_>>())
    }))
}

/// A random-weight model of one family, built for a preset, with its synthetic inputs.
pub(crate) trait BenchFamily: Send {
    /// Sizes, start-up times and memory once loaded.
    fn setup(&self) -> Setup;

    /// Runs unit `index` (the warm-up one is 0, as is the first timed one; every kernel path
    /// and thread count runs the same index on the same inputs), writing its output into
    /// `out`; returns the seconds of its stages where the family times them.
    fn run_unit(&mut self, index: usize, out: &mut Vec<f32>) -> Result<Option<[f64; 3]>>;

    /// The family's own figures, from the main units' times and whatever further work the
    /// family measures on the first kernel path and thread count.
    fn report(
        &mut self,
        opts: &BenchOptions,
        timed: &UnitTimes,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<FamilyReport>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_medians_need_every_unit_split() {
        let s = |a: f64| Some([a, 2.0 * a, 3.0 * a]);
        assert_eq!(
            stage_medians(&[s(1.0), s(3.0), s(2.0)]),
            Some([2.0, 4.0, 6.0])
        );
        assert_eq!(stage_medians(&[s(1.0), None]), None);
        assert_eq!(stage_medians(&[]), None);
    }
}
