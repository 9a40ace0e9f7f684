//! What a model benchmark reports: the figures every family shares, and its family's own.

use serde::Serialize;

use super::gencast::GenCastReport;
use super::graphcast::GraphCastReport;
use super::preset::{Family, PresetShape};

/// The timed unit on one thread count, timed in the same run as the others.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadRun {
    /// Worker threads.
    pub threads: usize,
    /// Median seconds per unit (denoiser call or model step).
    pub seconds: f64,
    /// The first thread count's median seconds over this one's (the speed-up).
    pub speedup_over_first: f64,
}

/// The timed unit on one kernel path, timed in the same run as the others.
#[derive(Debug, Clone, Serialize)]
pub struct IsaRun {
    /// The path (`avx512`, `avx2`, `neon`, `portable`).
    pub isa: String,
    /// Median seconds per unit (denoiser call or model step).
    pub seconds: f64,
    /// Median seconds of the unit's three stages (see the report's `stages`), where the unit
    /// is timed stage by stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stages_s: Option<[f64; 3]>,
    /// `seconds` over the first path's.
    pub ratio_to_first: f64,
}

/// Measured figures of a model preset. Times are seconds; per-unit and per-stage times are
/// medians. The figures of the timed unit itself are in the family part, under the unit's
/// name (`denoiser_call_s` for GenCast, `step_s` for GraphCast).
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Preset name.
    pub preset: String,
    /// The preset's family.
    pub family: Family,
    /// The timed unit (`denoiser call`, `6 h step`).
    pub unit: String,
    /// The unit's three stages, as named in the comparisons' `stages_s`.
    pub stages: [String; 3],
    /// The preset's sizes.
    pub shape: PresetShape,
    /// Worker threads of the main figures.
    pub threads: usize,
    /// The kernel path of the main figures.
    pub isa: String,
    /// Every timed path, alternating unit by unit (one entry when a single path ran).
    pub isa_comparison: Vec<IsaRun>,
    /// Whether every path returned the same bits for each timed unit.
    pub isa_outputs_identical: bool,
    /// Every timed thread count, alternating unit by unit (one entry when one count ran).
    pub thread_comparison: Vec<ThreadRun>,
    /// Whether every thread count returned the same bits for each timed unit.
    pub thread_outputs_identical: bool,
    /// Network parameters.
    pub num_params: usize,
    /// Grid nodes.
    pub n_grid: usize,
    /// Mesh nodes.
    pub n_mesh: usize,
    /// grid2mesh edges.
    pub grid2mesh_edges: usize,
    /// mesh2grid edges.
    pub mesh2grid_edges: usize,
    /// Building the mesh and graphs.
    pub graph_build_s: f64,
    /// Loading the network from the random-weight checkpoint (checks, static embeddings).
    pub network_load_s: f64,
    /// Start-up until the first unit can begin: graph build plus network load.
    pub startup_s: f64,
    /// Resident memory once the network is loaded and the checkpoint dropped, MiB.
    pub rss_after_load_mb: f64,
    /// Peak resident memory of the process, MiB.
    pub peak_rss_mb: f64,
    /// The family's own figures.
    #[serde(flatten)]
    pub details: FamilyReport,
}

/// The figures only one family has.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum FamilyReport {
    /// GenCast: denoiser calls, sampler steps and FLOP rates.
    GenCast(GenCastReport),
    /// GraphCast: 6 h steps, precision and the multi-mesh's sizes.
    GraphCast(GraphCastReport),
}

/// Median of a list (mean of the middle two for even lengths; NaN when empty).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

/// The comparison of `first` (median seconds on `threads` workers) with each of `others`
/// (thread count, per-unit seconds).
pub fn thread_comparison(
    threads: usize,
    first: f64,
    others: &[(usize, Vec<f64>)],
) -> Vec<ThreadRun> {
    std::iter::once(ThreadRun {
        threads,
        seconds: first,
        speedup_over_first: 1.0,
    })
    .chain(others.iter().map(|(n, times)| {
        let m = median(times);
        ThreadRun {
            threads: *n,
            seconds: m,
            speedup_over_first: first / m,
        }
    }))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_lists() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
