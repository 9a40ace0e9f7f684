//! A checkpoint's description: text, license, configs, derived sizes, parameter check and
//! parameter table, as `gencast inspect` shows it and `gencast_rs.inspect` returns it.
//!
//! Config sections use the reference field names; non-finite floats (e.g.
//! `churn_max_noise_level`) appear as the strings `"inf"`, `"-inf"` or `"nan"`, and absent
//! optional fields as `null`. Parameter paths are `<module>:<name>`, the archive key without its
//! `params:` prefix.

use std::path::Path;

use serde::Serialize;

use super::config::GENCAST_TIMESTEP_HOURS;
use super::{CheckpointKind, GenCastCheckpoint, GraphCastCheckpoint, NpzArchive, Params};
use crate::models::gencast::checkpoint::GRID_NODE_EMBEDDING_MODULE;
use crate::models::graphcast::checkpoint::GRAPHCAST_TIMESTEP_HOURS;
use crate::{Error, Result};

/// One row of the parameter table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParamRow {
    /// `<module>:<name>`.
    pub path: String,
    /// Array shape.
    pub shape: Vec<usize>,
    /// NumPy dtype descriptor, e.g. `<f4`.
    pub dtype: String,
    /// Number of elements.
    #[serde(skip)]
    pub elements: usize,
    /// Size of the data in bytes.
    pub bytes: usize,
}

/// A checkpoint's description. Sections are kept as JSON texts, in declaration order.
#[derive(Clone, Debug)]
pub struct Description {
    /// The checkpoint's path as given.
    pub path: String,
    /// Free-text description stored in the checkpoint.
    pub description: String,
    /// License text stored in the checkpoint.
    pub license: String,
    /// The config sections: `(name, JSON text)`.
    pub configs: Vec<(String, String)>,
    /// Sizes derived from the configs: `(name, JSON text)`.
    pub derived: Vec<(String, String)>,
    /// Title of the derived section in text output.
    pub derived_title: &'static str,
    /// `None` when every parameter has the shape the configs imply, else the report.
    pub problems: Option<String>,
    /// Every parameter, in archive order.
    pub params: Vec<ParamRow>,
}

/// JSON text of a value (the config types serialise without failure).
fn json<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Invalid(format!("describing a checkpoint: {e}")))
}

/// Reads every `params:` member's header (dtype and shape) in archive order.
fn param_rows(archive: &NpzArchive) -> Result<Vec<ParamRow>> {
    let names: Vec<String> = archive
        .names()
        .filter(|n| n.starts_with("params:"))
        .map(str::to_string)
        .collect();
    let mut rows = Vec::with_capacity(names.len());
    for name in names {
        let h = archive.header(&name)?;
        let elements = h.count().unwrap_or(0);
        rows.push(ParamRow {
            path: name["params:".len()..].to_string(),
            bytes: elements * h.dtype.item_size(),
            shape: h.shape,
            dtype: h.dtype.descr(),
            elements,
        });
    }
    Ok(rows)
}

/// Checks the parameters against the configuration: `None` when they match, else the report.
fn validation(ckpt: &GenCastCheckpoint, archive: &NpzArchive) -> Option<String> {
    let mut ckpt = ckpt.clone();
    match Params::from_archive(archive) {
        Ok(p) => ckpt.params = p,
        Err(e) => return Some(e.to_string()),
    }
    ckpt.validate().err().map(|e| e.to_string())
}

impl Description {
    /// Describes the GenCast or GraphCast checkpoint at `path` (parameter headers only; no
    /// parameter data is read beyond what the shape check needs).
    pub fn of(path: &Path) -> Result<Description> {
        let archive = NpzArchive::open(path)?;
        let params = param_rows(&archive)?;
        let configs_err =
            |e: Error| Error::Invalid(format!("reading the configs of {}: {e}", path.display()));
        let (description, license, configs, derived, problems, derived_title) =
            match CheckpointKind::of(&archive) {
                CheckpointKind::GenCast => {
                    let ckpt =
                        GenCastCheckpoint::from_archive_configs(&archive).map_err(configs_err)?;
                    let problems = validation(&ckpt, &archive);
                    let embed = format!("{GRID_NODE_EMBEDDING_MODULE}:w");
                    let cin_from_params = params
                        .iter()
                        .find(|r| r.path == embed)
                        .and_then(|r| r.shape.first()?.checked_sub(3));
                    let configs = vec![
                        ("task_config".to_string(), json(&ckpt.task_config)?),
                        (
                            "denoiser_architecture_config".to_string(),
                            json(&ckpt.denoiser_architecture_config)?,
                        ),
                        ("sampler_config".to_string(), json(&ckpt.sampler_config)?),
                        ("noise_config".to_string(), json(&ckpt.noise_config)?),
                        (
                            "noise_encoder_config".to_string(),
                            json(&ckpt.noise_encoder_config)?,
                        ),
                    ];
                    let frames = ckpt
                        .task_config
                        .num_input_frames(GENCAST_TIMESTEP_HOURS)
                        .ok();
                    let derived = vec![
                        ("input_channels".to_string(), json(&ckpt.cin().ok())?),
                        (
                            "input_channels_from_params".to_string(),
                            json(&cin_from_params)?,
                        ),
                        ("output_channels".to_string(), json(&ckpt.cout())?),
                        ("input_frames".to_string(), json(&frames)?),
                    ];
                    (
                        ckpt.description,
                        ckpt.license,
                        configs,
                        derived,
                        problems,
                        "derived (GenCast 12h time step)",
                    )
                }
                CheckpointKind::GraphCast => {
                    let ckpt = GraphCastCheckpoint::from_archive(&archive).map_err(configs_err)?;
                    let problems = ckpt.validate().err().map(|e| e.to_string());
                    let configs = vec![
                        ("model_config".to_string(), json(&ckpt.model_config)?),
                        ("task_config".to_string(), json(&ckpt.task_config)?),
                    ];
                    let frames = ckpt
                        .task_config
                        .num_input_frames(GRAPHCAST_TIMESTEP_HOURS)
                        .ok();
                    let derived = vec![
                        ("model".to_string(), json("graphcast")?),
                        ("input_channels".to_string(), json(&ckpt.cin().ok())?),
                        ("output_channels".to_string(), json(&ckpt.cout())?),
                        ("input_frames".to_string(), json(&frames)?),
                    ];
                    (
                        ckpt.description,
                        ckpt.license,
                        configs,
                        derived,
                        problems,
                        "derived (GraphCast 6h time step)",
                    )
                }
            };
        Ok(Description {
            path: path.display().to_string(),
            description,
            license,
            configs,
            derived,
            derived_title,
            problems,
            params,
        })
    }

    /// Total number of parameters.
    pub fn num_params(&self) -> usize {
        self.params.iter().map(|r| r.elements).sum()
    }

    /// Total size of the parameter data in bytes.
    pub fn param_bytes(&self) -> usize {
        self.params.iter().map(|r| r.bytes).sum()
    }

    /// One compact JSON object, keys in the order `gencast inspect --json` prints them.
    pub fn to_json(&self) -> Result<String> {
        let object = |items: &[(String, String)]| -> Result<String> {
            let parts: Vec<String> = items
                .iter()
                .map(|(k, v)| Ok(format!("{}:{v}", json(k)?)))
                .collect::<Result<_>>()?;
            Ok(format!("{{{}}}", parts.join(",")))
        };
        let mut items = vec![
            ("path".to_string(), json(&self.path)?),
            ("description".to_string(), json(&self.description)?),
            ("license".to_string(), json(&self.license)?),
            ("num_params".to_string(), json(&self.num_params())?),
            ("num_tensors".to_string(), json(&self.params.len())?),
            ("param_bytes".to_string(), json(&self.param_bytes())?),
        ];
        items.extend(self.configs.iter().cloned());
        items.push(("derived".to_string(), object(&self.derived)?));
        let validation = [
            ("ok".to_string(), json(&self.problems.is_none())?),
            ("problems".to_string(), json(&self.problems)?),
        ];
        items.push(("validation".to_string(), object(&validation)?));
        items.push(("params".to_string(), json(&self.params)?));
        object(&items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_checkpoint_is_described_with_its_parameter_count() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-mha/checkpoint.npz");
        let d = Description::of(&path).unwrap();
        // The fixture's README states the parameter count of the reference's initialisation.
        assert_eq!(d.num_params(), 117_540);
        assert!(d.problems.is_none(), "{:?}", d.problems);
        let v: serde_json::Value = serde_json::from_str(&d.to_json().unwrap()).unwrap();
        assert_eq!(v["num_params"], 117_540);
        assert_eq!(v["num_tensors"].as_u64().unwrap() as usize, d.params.len());
        let bytes: u64 = v["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["bytes"].as_u64().unwrap())
            .sum();
        assert_eq!(bytes as usize, d.param_bytes());
        assert_eq!(v["validation"]["ok"], true);
        assert_eq!(v["derived"]["output_channels"], 84);
    }
}
