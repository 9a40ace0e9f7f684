//! The benchmark presets of both model families: their command-line names and sizes.

use serde::Serialize;

use crate::{Error, Result};

/// The model family a preset builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// GenCast: the diffusion denoiser, timed call by call.
    GenCast,
    /// GraphCast: the deterministic network, timed 6 h step by step.
    GraphCast,
}

impl Family {
    /// The family's name (`gencast`, `graphcast`).
    pub fn name(self) -> &'static str {
        match self {
            Family::GenCast => "gencast",
            Family::GraphCast => "graphcast",
        }
    }
}

/// A benchmark configuration of either family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// GenCast, 10° grid, mesh 2, latent 32, 2 layers: seconds, for tests.
    Tiny,
    /// GenCast 1p0deg Mini: 1° grid, mesh 4.
    Mini,
    /// GenCast 1p0deg: 1° grid, mesh 5.
    OneDeg,
    /// GenCast 0p25deg: 0.25° grid, mesh 6.
    QuarterDeg,
    /// GraphCast, 10° grid, mesh 2, latent 32, 4 message-passing steps, 13 levels: for tests.
    GraphCastTiny,
    /// GraphCast_small: 1° grid, mesh 5, latent 512, 16 steps, 13 levels (`TASK_13`).
    GraphCastOneDeg,
    /// GraphCast: 0.25° grid, mesh 6, latent 512, 16 steps, 37 levels (`TASK`).
    GraphCastQuarterDeg,
}

/// The sizes of a GenCast preset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GenCastShape {
    /// Grid spacing in degrees.
    pub resolution_deg: f64,
    /// Icosahedron refinements.
    pub mesh_size: usize,
    /// Latent width.
    pub latent: usize,
    /// Transformer blocks.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Attention radius in mesh hops.
    pub k_hop: usize,
    /// Feed-forward width.
    pub ffw: usize,
    /// Hidden layers per GNN MLP.
    pub hidden_layers: usize,
}

impl GenCastShape {
    /// The published GenCast architecture (latent 512, 16 layers, 4 heads, k-hop 16,
    /// feed-forward 2048, one hidden layer) on a grid and mesh.
    pub const fn published(resolution_deg: f64, mesh_size: usize) -> GenCastShape {
        GenCastShape {
            resolution_deg,
            mesh_size,
            latent: 512,
            layers: 16,
            heads: 4,
            k_hop: 16,
            ffw: 2048,
            hidden_layers: 1,
        }
    }
}

/// The sizes of a GraphCast preset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GraphCastShape {
    /// Grid spacing in degrees.
    pub resolution_deg: f64,
    /// Icosahedron refinements of the multi-mesh.
    pub mesh_size: usize,
    /// Latent width.
    pub latent: usize,
    /// Processor message-passing steps.
    pub gnn_msg_steps: usize,
    /// Pressure levels.
    pub levels: usize,
}

/// The sizes of a preset, in its family's terms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PresetShape {
    /// A GenCast preset's sizes.
    GenCast(GenCastShape),
    /// A GraphCast preset's sizes.
    GraphCast(GraphCastShape),
}

impl PresetShape {
    /// Grid spacing in degrees.
    pub fn resolution_deg(&self) -> f64 {
        match self {
            PresetShape::GenCast(s) => s.resolution_deg,
            PresetShape::GraphCast(s) => s.resolution_deg,
        }
    }

    /// Icosahedron refinements of the mesh.
    pub fn mesh_size(&self) -> usize {
        match self {
            PresetShape::GenCast(s) => s.mesh_size,
            PresetShape::GraphCast(s) => s.mesh_size,
        }
    }

    /// Latent width.
    pub fn latent(&self) -> usize {
        match self {
            PresetShape::GenCast(s) => s.latent,
            PresetShape::GraphCast(s) => s.latent,
        }
    }
}

impl Preset {
    /// Every preset, GenCast's first, in the order of their command-line listing.
    pub const ALL: [Preset; 7] = [
        Preset::Tiny,
        Preset::Mini,
        Preset::OneDeg,
        Preset::QuarterDeg,
        Preset::GraphCastTiny,
        Preset::GraphCastOneDeg,
        Preset::GraphCastQuarterDeg,
    ];

    /// Parses a command-line name (`tiny`, `mini`, `1p0`, `0p25`, `graphcast-tiny`,
    /// `graphcast-1p0`, `graphcast-0p25`); an unknown name is refused with every preset listed.
    pub fn parse(text: &str) -> Result<Preset> {
        if let Some(p) = Preset::ALL.into_iter().find(|p| p.name() == text) {
            return Ok(p);
        }
        let names = |family| {
            Preset::ALL
                .iter()
                .filter(|p| p.family() == family)
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        Err(Error::Invalid(format!(
            "unknown bench preset `{text}`: expected GenCast {} or GraphCast {}",
            names(Family::GenCast),
            names(Family::GraphCast)
        )))
    }

    /// The preset's command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Tiny => "tiny",
            Preset::Mini => "mini",
            Preset::OneDeg => "1p0",
            Preset::QuarterDeg => "0p25",
            Preset::GraphCastTiny => "graphcast-tiny",
            Preset::GraphCastOneDeg => "graphcast-1p0",
            Preset::GraphCastQuarterDeg => "graphcast-0p25",
        }
    }

    /// The family the preset builds.
    pub fn family(self) -> Family {
        match self {
            Preset::Tiny | Preset::Mini | Preset::OneDeg | Preset::QuarterDeg => Family::GenCast,
            Preset::GraphCastTiny | Preset::GraphCastOneDeg | Preset::GraphCastQuarterDeg => {
                Family::GraphCast
            }
        }
    }

    /// The preset's sizes (the published architectures, except for the tiny ones).
    pub fn shape(self) -> PresetShape {
        let gencast = GenCastShape::published;
        let graphcast = |resolution_deg, mesh_size, latent, gnn_msg_steps, levels| {
            PresetShape::GraphCast(GraphCastShape {
                resolution_deg,
                mesh_size,
                latent,
                gnn_msg_steps,
                levels,
            })
        };
        match self {
            Preset::Tiny => PresetShape::GenCast(GenCastShape {
                resolution_deg: 10.0,
                mesh_size: 2,
                latent: 32,
                layers: 2,
                heads: 4,
                k_hop: 4,
                ffw: 64,
                hidden_layers: 1,
            }),
            Preset::Mini => PresetShape::GenCast(gencast(1.0, 4)),
            Preset::OneDeg => PresetShape::GenCast(gencast(1.0, 5)),
            Preset::QuarterDeg => PresetShape::GenCast(gencast(0.25, 6)),
            Preset::GraphCastTiny => graphcast(10.0, 2, 32, 4, 13),
            Preset::GraphCastOneDeg => graphcast(1.0, 5, 512, 16, 13),
            Preset::GraphCastQuarterDeg => graphcast(0.25, 6, 512, 16, 37),
        }
    }

    /// The sizes of a GenCast preset; a GraphCast preset is refused.
    pub fn gencast_shape(self) -> Result<GenCastShape> {
        match self.shape() {
            PresetShape::GenCast(s) => Ok(s),
            PresetShape::GraphCast(_) => Err(self.wrong_family(Family::GenCast)),
        }
    }

    /// The sizes of a GraphCast preset; a GenCast preset is refused.
    pub fn graphcast_shape(self) -> Result<GraphCastShape> {
        match self.shape() {
            PresetShape::GraphCast(s) => Ok(s),
            PresetShape::GenCast(_) => Err(self.wrong_family(Family::GraphCast)),
        }
    }

    /// The error of asking this preset for another family's sizes.
    fn wrong_family(self, want: Family) -> Error {
        Error::Invalid(format!(
            "bench preset `{}` is a {} preset, not a {} one",
            self.name(),
            self.family().name(),
            want.name()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_by_name() {
        for p in Preset::ALL {
            assert_eq!(Preset::parse(p.name()).unwrap(), p);
        }
        assert!(Preset::parse("2p0")
            .unwrap_err()
            .to_string()
            .contains("2p0"));
    }

    #[test]
    fn an_unknown_preset_lists_both_families() {
        let err = Preset::parse("graphcast-2p0").unwrap_err().to_string();
        assert!(err.contains("`graphcast-2p0`"), "{err}");
        for p in Preset::ALL {
            // Each name appears as a whole word of the list (`1p0` not only inside
            // `graphcast-1p0`).
            let listed = err
                .split(|c: char| c == ',' || c.is_whitespace())
                .any(|w| w == p.name());
            assert!(listed, "{} missing from: {err}", p.name());
        }
    }

    #[test]
    fn each_preset_knows_its_family_and_sizes() {
        for p in Preset::ALL {
            let graphcast = p.name().starts_with("graphcast-");
            let family = if graphcast {
                Family::GraphCast
            } else {
                Family::GenCast
            };
            assert_eq!(p.family(), family, "{}", p.name());
            assert_eq!(p.gencast_shape().is_ok(), !graphcast, "{}", p.name());
            assert_eq!(p.graphcast_shape().is_ok(), graphcast, "{}", p.name());
        }
        let s = Preset::GraphCastQuarterDeg.shape();
        assert_eq!(
            (s.resolution_deg(), s.mesh_size(), s.latent()),
            (0.25, 6, 512)
        );
        assert_eq!(
            Preset::GraphCastQuarterDeg
                .graphcast_shape()
                .unwrap()
                .levels,
            37
        );
        assert_eq!(Preset::Mini.gencast_shape().unwrap().layers, 16);
        let err = Preset::Tiny.graphcast_shape().unwrap_err().to_string();
        assert!(err.contains("`tiny` is a gencast preset"), "{err}");
    }
}
