//! Reading the typed configs from a checkpoint's `:`-joined scalar and list entries, with
//! errors that name the file and the full key.

use super::config::TaskConfig;
use super::npy::Dtype;
use super::npz::{NpyArray, NpzArchive};
use crate::models::gencast::config::{
    DenoiserArchitectureConfig, NoiseConfig, NoiseEncoderConfig, SamplerConfig,
    SparseTransformerConfig,
};
use crate::{Error, Result};

/// Typed access to the scalar and list entries of an archive, with errors naming the key.
pub(crate) struct ConfigReader<'a> {
    pub archive: &'a NpzArchive,
}

impl ConfigReader<'_> {
    fn missing(&self, key: &str) -> Error {
        Error::Missing {
            path: self.archive.path().to_path_buf(),
            what: "config key",
            key: key.to_string(),
        }
    }

    fn wrong(&self, key: &str, detail: String) -> Error {
        Error::format(self.archive.path(), format!("config key `{key}`"), detail)
    }

    fn scalar(
        &self,
        key: &str,
        expected: &str,
        ok: impl Fn(&NpyArray) -> bool,
    ) -> Result<Option<NpyArray>> {
        if !self.archive.contains(key) {
            return Ok(None);
        }
        let a = self.archive.array(key)?;
        if !ok(&a) {
            return Err(self.wrong(key, format!("expected {expected}, found dtype {}", a.dtype)));
        }
        if a.len() != 1 {
            return Err(self.wrong(
                key,
                format!(
                    "expected a single value, found an array of shape {:?}",
                    a.shape
                ),
            ));
        }
        Ok(Some(a))
    }

    /// An optional string.
    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<String>> {
        let a = self.scalar(key, "a string (<U)", |a| matches!(a.dtype, Dtype::Str(_)))?;
        a.map(|a| Ok(a.as_strings()?.first().cloned().unwrap_or_default()))
            .transpose()
    }

    /// A required string.
    pub(crate) fn str(&self, key: &str) -> Result<String> {
        self.opt_str(key)?.ok_or_else(|| self.missing(key))
    }

    /// A string that must be one of `allowed`; another value is refused naming the key.
    pub(crate) fn one_of(&self, key: &str, allowed: &[&str]) -> Result<String> {
        let v = self.str(key)?;
        if allowed.contains(&v.as_str()) {
            return Ok(v);
        }
        Err(Error::Config {
            key: key.to_string(),
            detail: format!(
                "unknown value `{v}`; expected one of {}",
                allowed.join(", ")
            ),
        })
    }

    /// An optional integer.
    pub(crate) fn opt_i64(&self, key: &str) -> Result<Option<i64>> {
        let a = self.scalar(key, "an integer (<i8)", |a| a.dtype.is_integer())?;
        a.map(|a| Ok(a.to_i64_vec()?.first().copied().unwrap_or_default()))
            .transpose()
    }

    /// An optional non-negative integer.
    pub(crate) fn opt_usize(&self, key: &str) -> Result<Option<usize>> {
        self.opt_i64(key)?
            .map(|v| {
                usize::try_from(v).map_err(|_| Error::Config {
                    key: key.to_string(),
                    detail: format!("expected a non-negative integer, found {v}"),
                })
            })
            .transpose()
    }

    /// A required non-negative integer.
    pub(crate) fn usize(&self, key: &str) -> Result<usize> {
        self.opt_usize(key)?.ok_or_else(|| self.missing(key))
    }

    /// An optional float (integers are accepted and converted, as `float(x)` would).
    pub(crate) fn opt_f64(&self, key: &str) -> Result<Option<f64>> {
        let a = self.scalar(key, "a float (<f8)", |a| {
            a.dtype.is_float() || a.dtype.is_integer()
        })?;
        a.map(|a| Ok(a.to_f64_vec()?.first().copied().unwrap_or_default()))
            .transpose()
    }

    /// A required float.
    pub(crate) fn f64(&self, key: &str) -> Result<f64> {
        self.opt_f64(key)?.ok_or_else(|| self.missing(key))
    }

    /// A required boolean.
    pub(crate) fn bool(&self, key: &str) -> Result<bool> {
        let a = self
            .scalar(key, "a boolean (|b1)", |a| a.dtype == Dtype::Bool)?
            .ok_or_else(|| self.missing(key))?;
        Ok(a.to_i64_vec()?.first().copied().unwrap_or_default() != 0)
    }

    /// Number of entries `key:0`, `key:1`, … of a list; an empty list has no entries.
    /// A gap in the indices is reported as the first missing key.
    fn list_len(&self, key: &str) -> Result<usize> {
        let prefix = format!("{key}:");
        let mut idx: Vec<usize> = self
            .archive
            .names()
            .filter_map(|n| n.strip_prefix(&prefix))
            .filter_map(|rest| rest.parse::<usize>().ok())
            .collect();
        idx.sort_unstable();
        for (i, &v) in idx.iter().enumerate() {
            if v != i {
                return Err(self.missing(&format!("{key}:{i}")));
            }
        }
        Ok(idx.len())
    }

    /// A list of strings (empty when absent).
    pub(crate) fn str_list(&self, key: &str) -> Result<Vec<String>> {
        (0..self.list_len(key)?)
            .map(|i| self.str(&format!("{key}:{i}")))
            .collect()
    }

    /// A list of strings that must have at least one entry.
    pub(crate) fn nonempty_str_list(&self, key: &str) -> Result<Vec<String>> {
        let v = self.str_list(key)?;
        if v.is_empty() {
            return Err(self.missing(&format!("{key}:0")));
        }
        Ok(v)
    }

    /// A list of integers (empty when absent).
    pub(crate) fn i64_list(&self, key: &str) -> Result<Vec<i64>> {
        (0..self.list_len(key)?)
            .map(|i| {
                let k = format!("{key}:{i}");
                self.opt_i64(&k)?.ok_or_else(|| self.missing(&k))
            })
            .collect()
    }

    /// A list of non-negative integers (empty when absent).
    pub(crate) fn usize_list(&self, key: &str) -> Result<Vec<usize>> {
        (0..self.list_len(key)?)
            .map(|i| self.usize(&format!("{key}:{i}")))
            .collect()
    }
}

impl TaskConfig {
    /// Reads `task_config:*`.
    pub(crate) fn read(r: &ConfigReader<'_>) -> Result<TaskConfig> {
        let k = |f: &str| format!("task_config:{f}");
        Ok(TaskConfig {
            input_variables: r.nonempty_str_list(&k("input_variables"))?,
            target_variables: r.nonempty_str_list(&k("target_variables"))?,
            forcing_variables: r.str_list(&k("forcing_variables"))?,
            pressure_levels: r.i64_list(&k("pressure_levels"))?,
            input_duration: r.str(&k("input_duration"))?,
        })
    }
}

impl SparseTransformerConfig {
    /// Reads `<prefix>:*`.
    pub(crate) fn read(r: &ConfigReader<'_>, prefix: &str) -> Result<SparseTransformerConfig> {
        let k = |f: &str| format!("{prefix}:{f}");
        Ok(SparseTransformerConfig {
            attention_k_hop: r.usize(&k("attention_k_hop"))?,
            d_model: r.usize(&k("d_model"))?,
            num_layers: r.usize(&k("num_layers"))?,
            num_heads: r.usize(&k("num_heads"))?,
            attention_type: r.one_of(
                &k("attention_type"),
                &["splash_mha", "triblockdiag_mha", "mha"],
            )?,
            mask_type: r.one_of(&k("mask_type"), &["lazy", "full"])?,
            block_q: r.usize(&k("block_q"))?,
            block_kv: r.usize(&k("block_kv"))?,
            block_kv_compute: r.usize(&k("block_kv_compute"))?,
            block_q_dkv: r.usize(&k("block_q_dkv"))?,
            block_kv_dkv: r.usize(&k("block_kv_dkv"))?,
            block_kv_dkv_compute: r.usize(&k("block_kv_dkv_compute"))?,
            ffw_winit_final_mult: r.f64(&k("ffw_winit_final_mult"))?,
            attn_winit_final_mult: r.f64(&k("attn_winit_final_mult"))?,
            ffw_hidden: r.usize(&k("ffw_hidden"))?,
            name: r.opt_str(&k("name"))?,
        })
    }
}

impl DenoiserArchitectureConfig {
    /// Reads `denoiser_architecture_config:*`.
    pub(crate) fn read(r: &ConfigReader<'_>) -> Result<DenoiserArchitectureConfig> {
        let p = "denoiser_architecture_config";
        let k = |f: &str| format!("{p}:{f}");
        Ok(DenoiserArchitectureConfig {
            sparse_transformer_config: SparseTransformerConfig::read(
                r,
                &k("sparse_transformer_config"),
            )?,
            mesh_size: r.usize(&k("mesh_size"))?,
            latent_size: r.usize(&k("latent_size"))?,
            hidden_layers: r.usize(&k("hidden_layers"))?,
            radius_query_fraction_edge_length: r.f64(&k("radius_query_fraction_edge_length"))?,
            norm_conditioning_features: r.str_list(&k("norm_conditioning_features"))?,
            grid2mesh_aggregate_normalization: r
                .opt_f64(&k("grid2mesh_aggregate_normalization"))?,
            node_output_size: r.opt_usize(&k("node_output_size"))?,
        })
    }
}

impl SamplerConfig {
    /// Reads `sampler_config:*`.
    pub(crate) fn read(r: &ConfigReader<'_>) -> Result<SamplerConfig> {
        let k = |f: &str| format!("sampler_config:{f}");
        Ok(SamplerConfig {
            max_noise_level: r.f64(&k("max_noise_level"))?,
            min_noise_level: r.f64(&k("min_noise_level"))?,
            num_noise_levels: r.usize(&k("num_noise_levels"))?,
            rho: r.f64(&k("rho"))?,
            stochastic_churn_rate: r.f64(&k("stochastic_churn_rate"))?,
            churn_min_noise_level: r.f64(&k("churn_min_noise_level"))?,
            churn_max_noise_level: r.f64(&k("churn_max_noise_level"))?,
            noise_level_inflation_factor: r.f64(&k("noise_level_inflation_factor"))?,
        })
    }
}

impl NoiseConfig {
    /// Reads `noise_config:*`.
    pub(crate) fn read(r: &ConfigReader<'_>) -> Result<NoiseConfig> {
        let k = |f: &str| format!("noise_config:{f}");
        Ok(NoiseConfig {
            training_noise_level_rho: r.f64(&k("training_noise_level_rho"))?,
            training_max_noise_level: r.f64(&k("training_max_noise_level"))?,
            training_min_noise_level: r.f64(&k("training_min_noise_level"))?,
        })
    }
}

impl NoiseEncoderConfig {
    /// Reads `noise_encoder_config:*`.
    pub(crate) fn read(r: &ConfigReader<'_>) -> Result<NoiseEncoderConfig> {
        let k = |f: &str| format!("noise_encoder_config:{f}");
        let output_sizes = r.usize_list(&k("output_sizes"))?;
        if output_sizes.is_empty() {
            return Err(Error::Missing {
                path: r.archive.path().to_path_buf(),
                what: "config key",
                key: k("output_sizes:0"),
            });
        }
        Ok(NoiseEncoderConfig {
            apply_log_first: r.bool(&k("apply_log_first"))?,
            base_period: r.f64(&k("base_period"))?,
            num_frequencies: r.usize(&k("num_frequencies"))?,
            output_sizes,
        })
    }
}
