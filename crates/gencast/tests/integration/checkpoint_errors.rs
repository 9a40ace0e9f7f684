//! A catalogue of broken checkpoints: each error must name the file and the culprit.

use std::path::{Path, PathBuf};

use gencast::checkpoint::{GenCastCheckpoint, NpzArchive, NpzWriter, ParamLoader};
use gencast::Error;

const MHA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/tiny-mha/checkpoint.npz"
);
const EMBED: &str = "grid2mesh_gnn/~_networks_builder/encoder_nodes_grid_nodes_mlp/~/linear_0";

/// Copies the fixture checkpoint without the `skip` members, lets `extra` add members, and
/// writes the result to `dir/name`.
fn rebuild(
    dir: &Path,
    name: &str,
    skip: &[&str],
    extra: impl FnOnce(&mut NpzWriter<Vec<u8>>),
) -> PathBuf {
    let src = NpzArchive::open(MHA).unwrap();
    let mut w = NpzWriter::in_memory();
    for n in src.names() {
        if !skip.contains(&n) {
            w.add_array(n, &src.array(n).unwrap()).unwrap();
        }
    }
    extra(&mut w);
    let path = dir.join(name);
    std::fs::write(&path, w.finish().unwrap()).unwrap();
    path
}

fn open_err(path: &Path) -> String {
    let e = GenCastCheckpoint::open(path).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains(&path.display().to_string()),
        "error does not name the file: {text}"
    );
    text
}

fn assert_contains(text: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "`{n}` not in error: {text}");
    }
}

#[test]
fn truncated_archive() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(MHA).unwrap();
    for keep in [
        0,
        10,
        21,
        bytes.len() / 2,
        bytes.len() - 10,
        bytes.len() - 23,
    ] {
        let p = dir.path().join(format!("trunc{keep}.npz"));
        std::fs::write(&p, &bytes[..keep]).unwrap();
        let e = open_err(&p);
        assert!(
            e.contains("truncated") || e.contains("end of central directory"),
            "{keep}: {e}"
        );
    }
}

#[test]
fn not_a_zip_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("text.npz");
    std::fs::write(&p, "this is not a zip archive at all, just some text").unwrap();
    assert_contains(&open_err(&p), &["not a ZIP/.npz archive"]);
}

#[test]
fn corrupted_npy_header() {
    let dir = tempfile::tempdir().unwrap();
    let p = rebuild(dir.path(), "hdr.npz", &["sampler_config:rho"], |w| {
        let mut raw = b"\x93NUMPY\x01\x00\x20\x00{'descr': '<f8', 'fortran_or".to_vec();
        raw.extend_from_slice(&[0u8; 8]);
        w.add_raw("sampler_config:rho.npy", &raw).unwrap();
    });
    assert_contains(&open_err(&p), &["sampler_config:rho", "NPY header"]);

    let p = rebuild(dir.path(), "magic.npz", &["sampler_config:rho"], |w| {
        w.add_raw("sampler_config:rho.npy", b"NOTNUMPY0123456789")
            .unwrap();
    });
    assert_contains(&open_err(&p), &["sampler_config:rho", "bad magic"]);
}

#[test]
fn fortran_order_and_big_endian_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let p = rebuild(dir.path(), "fortran.npz", &["sampler_config:rho"], |w| {
        let dict = b"{'descr': '<f8', 'fortran_order': True, 'shape': (), }\n";
        let mut raw = b"\x93NUMPY\x01\x00".to_vec();
        raw.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        raw.extend_from_slice(dict);
        raw.extend_from_slice(&7.0f64.to_le_bytes());
        w.add_raw("sampler_config:rho.npy", &raw).unwrap();
    });
    assert_contains(
        &open_err(&p),
        &["sampler_config:rho", "fortran_order is True"],
    );

    let key = format!("params:{EMBED}:b");
    let p = rebuild(dir.path(), "be.npz", &[key.as_str()], |w| {
        w.add_npy_raw(&key, ">f4", &[32], &[0u8; 128]).unwrap();
    });
    assert_contains(&open_err(&p), &[&key, "big-endian", ">f4"]);
}

#[test]
fn missing_required_config_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = "denoiser_architecture_config:sparse_transformer_config:num_heads";
    let p = rebuild(dir.path(), "missing.npz", &[key], |_| {});
    let e = GenCastCheckpoint::open(&p).unwrap_err();
    match &e {
        Error::Missing { path, key: k, .. } => {
            assert_eq!(path, &p);
            assert_eq!(k, key);
        }
        other => panic!("expected Error::Missing, got {other}"),
    }
    for key in [
        "description",
        "sampler_config:rho",
        "noise_encoder_config:apply_log_first",
    ] {
        let p = rebuild(dir.path(), "missing2.npz", &[key], |_| {});
        assert_contains(&open_err(&p), &[&format!("missing config key `{key}`")]);
    }
}

#[test]
fn gap_in_a_list_names_the_missing_index() {
    let dir = tempfile::tempdir().unwrap();
    let p = rebuild(
        dir.path(),
        "gap.npz",
        &["task_config:input_variables:3"],
        |_| {},
    );
    assert_contains(
        &open_err(&p),
        &["missing config key `task_config:input_variables:3`"],
    );
}

#[test]
fn wrong_config_dtypes() {
    let dir = tempfile::tempdir().unwrap();
    let key = "sampler_config:num_noise_levels";
    let p = rebuild(dir.path(), "intstr.npz", &[key], |w| {
        w.add_str(key, "6").unwrap()
    });
    assert_contains(
        &open_err(&p),
        &[key, "expected an integer", "found dtype <U1"],
    );

    let key = "noise_encoder_config:apply_log_first";
    let p = rebuild(dir.path(), "boolint.npz", &[key], |w| {
        w.add_scalar_i64(key, 1).unwrap()
    });
    assert_contains(
        &open_err(&p),
        &[key, "expected a boolean", "found dtype <i8"],
    );

    let key = "task_config:input_duration";
    let p = rebuild(dir.path(), "strf.npz", &[key], |w| {
        w.add_scalar_f64(key, 24.0).unwrap()
    });
    assert_contains(
        &open_err(&p),
        &[key, "expected a string", "found dtype <f8"],
    );

    let key = "sampler_config:rho";
    let p = rebuild(dir.path(), "fstr.npz", &[key], |w| {
        w.add_str(key, "7").unwrap()
    });
    assert_contains(&open_err(&p), &[key, "expected a float", "found dtype <U1"]);

    let key = "denoiser_architecture_config:latent_size";
    let p = rebuild(dir.path(), "arr.npz", &[key], |w| {
        w.add_i64(key, &[2], &[32, 32]).unwrap()
    });
    assert_contains(&open_err(&p), &[key, "expected a single value", "[2]"]);

    let p = rebuild(dir.path(), "neg.npz", &[key], |w| {
        w.add_scalar_i64(key, -32).unwrap()
    });
    assert_contains(
        &GenCastCheckpoint::open(&p).unwrap_err().to_string(),
        &[key, "non-negative", "-32"],
    );
}

#[test]
fn float64_parameter_is_rejected_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let key = format!("params:{EMBED}:b");
    let p = rebuild(dir.path(), "f64.npz", &[key.as_str()], |w| {
        w.add_f64(&key, &[32], &[0.5; 32]).unwrap();
    });
    assert_contains(&open_err(&p), &[&key, "expected dtype <f4", "found <f8"]);
}

#[test]
fn mis_shaped_parameter_names_tensor_and_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let key = format!("params:{EMBED}:w");
    let p = rebuild(dir.path(), "shape.npz", &[key.as_str()], |w| {
        w.add_f32(&key, &[266, 32], &vec![0.0; 266 * 32]).unwrap();
    });
    let c = GenCastCheckpoint::open(&p).unwrap();
    let e = c.validate().unwrap_err();
    assert!(matches!(e, Error::Params { .. }), "{e}");
    let text = e.to_string();
    assert_contains(
        &text,
        &[
            &p.display().to_string(),
            &format!("{EMBED}:w"),
            "expected [267, 32], found [266, 32]",
        ],
    );
}

#[test]
fn all_problems_are_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let gone1 = "params:mesh_transformer/~/transformer/block_02/mha_proj_k:w";
    let gone2 = "params:fourier_features_mlp/~/mlp/~/linear_1:b";
    let bent = "params:mesh2grid_gnn/~_networks_builder/decoder_nodes_grid_nodes_mlp/~/linear_1:w";
    let p = rebuild(dir.path(), "many.npz", &[gone1, gone2, bent], |w| {
        w.add_f32(bent, &[32, 83], &vec![0.0; 32 * 83]).unwrap();
        w.add_f32("params:stray_module/~/linear:w", &[2, 2], &[0.0; 4])
            .unwrap();
    });
    let c = GenCastCheckpoint::open(&p).unwrap();
    let text = c.validate().unwrap_err().to_string();
    assert_contains(
        &text,
        &[
            "4 problem(s)",
            "missing mesh_transformer/~/transformer/block_02/mha_proj_k:w (expected shape [32, 32])",
            "missing fourier_features_mlp/~/mlp/~/linear_1:b (expected shape [16])",
            "decoder_nodes_grid_nodes_mlp/~/linear_1:w: expected [32, 84], found [32, 83]",
            "unexpected stray_module/~/linear:w with shape [2, 2]",
        ],
    );

    // The same through the loader used by the model: zeros are handed out, then one report.
    let mut loader = ParamLoader::new(&c.params, &p);
    for (m, n, s) in c.expected_params().unwrap() {
        let v = loader.take(&m, &n, &s);
        assert_eq!(v.len(), s.iter().product::<usize>());
    }
    assert_eq!(loader.num_problems(), 3);
    let text = loader.finish().unwrap_err().to_string();
    assert_contains(
        &text,
        &["4 problem(s)", "stray_module", "block_02/mha_proj_k:w"],
    );
}

#[test]
fn corrupted_data_fails_the_crc_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(MHA).unwrap();
    // Flip one byte in the middle of the largest member's data region.
    let needle = b"encoder_nodes_grid_nodes_mlp/~/linear_0:w.npy";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    bytes[at + needle.len() + 20 + 64 + 1000] ^= 0x40;
    let p = dir.path().join("flip.npz");
    std::fs::write(&p, &bytes).unwrap();
    assert_contains(
        &open_err(&p),
        &[
            "CRC-32 mismatch",
            "encoder_nodes_grid_nodes_mlp/~/linear_0:w",
        ],
    );
}

#[test]
fn optional_keys_absent_and_unknown_keys_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let p = rebuild(
        dir.path(),
        "optional.npz",
        &["denoiser_architecture_config:node_output_size"],
        |w| {
            w.add_scalar_f64(
                "denoiser_architecture_config:grid2mesh_aggregate_normalization",
                4.0,
            )
            .unwrap();
            w.add_str(
                "denoiser_architecture_config:sparse_transformer_config:name",
                "transformer",
            )
            .unwrap();
            w.add_str("some_future_config:field", "ignored").unwrap();
            w.add_scalar_i64("sampler_config:a_new_field", 3).unwrap();
        },
    );
    let c = GenCastCheckpoint::open(&p).unwrap();
    let d = &c.denoiser_architecture_config;
    assert_eq!(d.node_output_size, None);
    assert_eq!(d.grid2mesh_aggregate_normalization, Some(4.0));
    assert_eq!(
        d.sparse_transformer_config.name.as_deref(),
        Some("transformer")
    );
    // The output width comes from the task, as the reference's constructor computes it.
    assert_eq!(c.cout(), 84);
    c.validate().unwrap();
}

#[test]
fn inconsistent_transformer_width_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let key = "denoiser_architecture_config:sparse_transformer_config:d_model";
    let p = rebuild(dir.path(), "dmodel.npz", &[key], |w| {
        w.add_scalar_i64(key, 64).unwrap()
    });
    let text = GenCastCheckpoint::open(&p)
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert_contains(&text, &[key, "latent_size 32", "64"]);
}

#[test]
fn unknown_enum_config_values_are_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = "denoiser_architecture_config:sparse_transformer_config";
    for (field, value, allowed) in [
        (
            "attention_type",
            "flash_mha",
            "splash_mha, triblockdiag_mha, mha",
        ),
        ("mask_type", "sparse", "lazy, full"),
    ] {
        let key = format!("{prefix}:{field}");
        let p = rebuild(dir.path(), "enum.npz", &[key.as_str()], |w| {
            w.add_str(&key, value).unwrap()
        });
        assert_contains(
            &GenCastCheckpoint::open(&p).unwrap_err().to_string(),
            &[&key, &format!("unknown value `{value}`"), allowed],
        );
    }
}
