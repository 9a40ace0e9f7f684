//! The `.npz` container reader and writer against the reference fixtures.

use gencast::checkpoint::npz::{Dtype, NpyData, NpzArchive, NpzWriter};

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn open(rel: &str) -> NpzArchive {
    NpzArchive::open(format!("{FIX}/{rel}")).unwrap()
}

#[test]
fn reads_every_member_of_every_fixture_npz() {
    let mut total = 0;
    for set in ["tiny-mha", "tiny-triblockdiag", "mesh2grid-ties"] {
        for entry in std::fs::read_dir(format!("{FIX}/{set}")).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().and_then(|e| e.to_str()) != Some("npz") {
                continue;
            }
            let a = NpzArchive::open(&p).unwrap();
            assert!(!a.is_empty(), "{}", p.display());
            for name in a.names() {
                let arr = a.array(name).unwrap();
                let count: usize = arr.shape.iter().product();
                assert_eq!(arr.len(), count, "{}:{name}", p.display());
                total += 1;
            }
        }
    }
    assert!(total > 208 * 2, "read {total} arrays");
}

#[test]
fn checkpoint_members_and_scalars() {
    let a = open("tiny-mha/checkpoint.npz");
    assert_eq!(a.len(), 208);
    let d = a.array("description").unwrap();
    assert_eq!(d.shape, Vec::<usize>::new());
    assert_eq!(d.dtype, Dtype::Str(137));
    assert_eq!(d.as_strings().unwrap()[0].chars().count(), 137);
    let k = a
        .array("denoiser_architecture_config:sparse_transformer_config:attention_k_hop")
        .unwrap();
    assert_eq!(k.data, NpyData::I64(vec![2]));
    let churn = a.array("sampler_config:churn_max_noise_level").unwrap();
    assert_eq!(churn.data, NpyData::F64(vec![f64::INFINITY]));
    let b = a.array("noise_encoder_config:apply_log_first").unwrap();
    assert_eq!(b.data, NpyData::Bool(vec![true]));
    let w = a
        .array("params:grid2mesh_gnn/~_networks_builder/encoder_nodes_grid_nodes_mlp/~/linear_0:w")
        .unwrap();
    assert_eq!(w.shape, vec![267, 32]);
    assert_eq!(w.dtype, Dtype::F32);
    let levels: Vec<i64> = (0..13)
        .map(|i| {
            a.array(&format!("task_config:pressure_levels:{i}"))
                .unwrap()
                .to_i64_vec()
                .unwrap()[0]
        })
        .collect();
    assert_eq!(
        levels,
        [50, 100, 150, 200, 250, 300, 400, 500, 600, 700, 850, 925, 1000]
    );
}

#[test]
fn stacked_rngs_and_schedule() {
    let s = open("tiny-mha/denoiser_call0_stacked.npz");
    let g = s.array("grid_node_features").unwrap();
    assert_eq!(g.shape, vec![684, 1, 264]);
    assert_eq!(g.to_f32_vec().unwrap().len(), 684 * 264);
    let names = s.array("channel_names").unwrap();
    assert_eq!(names.shape, vec![264]);
    let names = names.as_strings().unwrap();
    assert!(names.iter().all(|n| !n.is_empty()));
    assert_eq!(
        s.array("global_norm_conditioning").unwrap().shape,
        vec![1, 16]
    );
    // Call 0 uses sigma = 8 (fixture README, item b).
    assert_eq!(
        s.array("noise_level").unwrap().to_f64_vec().unwrap(),
        vec![8.0]
    );

    let r = open("tiny-mha/rngs.npz");
    let k = r.array("member0_fold_in_key").unwrap();
    assert_eq!(k.dtype, Dtype::U32);
    assert_eq!(k.shape, vec![2]);
    // fold_in(PRNGKey(0), 0) is the same key for every member-0 fold-in; only check it decodes.
    assert_eq!(k.to_i64_vec().unwrap().len(), 2);

    let sch = open("tiny-mha/sampler_schedule.npz");
    let nl = sch.array("noise_levels").unwrap().to_f64_vec().unwrap();
    // README values are printed with 6 significant digits.
    let expect = [80.0, 28.9412, 8.80485, 2.09755, 0.344529, 0.03, 0.0];
    assert_eq!(nl.len(), 7);
    for (a, b) in nl.iter().zip(expect) {
        assert!((a - b).abs() <= 1e-5 * b.max(1.0), "{a} vs {b}");
    }
    let c = sch.array("per_step_churn_rates_f32").unwrap();
    assert_eq!(c.dtype, Dtype::F32);
    assert_eq!(c.shape, vec![6]);
}

#[test]
fn deflated_members_parse() {
    let a = open("mesh2grid-ties/mesh2_res10deg.npz");
    assert_eq!(a.array("mesh_size").unwrap().to_i64_vec().unwrap(), vec![2]);
    assert_eq!(a.array("n_lat").unwrap().to_i64_vec().unwrap(), vec![19]);
    assert_eq!(a.array("n_lon").unwrap().to_i64_vec().unwrap(), vec![36]);
    let kind = a.array("table_kind").unwrap();
    assert_eq!(kind.dtype, Dtype::I8);
    let tie = a.array("table_is_exact_tie").unwrap();
    assert!(matches!(tie.data, NpyData::Bool(_)));
    let sha = a.array("sha256_face_index").unwrap();
    assert_eq!(sha.as_strings().unwrap()[0].len(), 64);
    let lat = a.array("lat").unwrap().to_f32_vec().unwrap();
    assert_eq!(lat.first(), Some(&-90.0));
    assert_eq!(lat.last(), Some(&90.0));
    assert_eq!(
        a.array("full_vertices_permuted").unwrap().shape,
        vec![684, 3]
    );
}

fn sample_archive(force_zip64: bool) -> Vec<u8> {
    let mut w = NpzWriter::in_memory().force_zip64(force_zip64);
    w.add_f32("a:b/~/c:w", &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, f32::NAN])
        .unwrap();
    w.add_f64("f", &[], &[f64::INFINITY]).unwrap();
    w.add_i64("i", &[3], &[-1, 0, i64::MAX]).unwrap();
    w.add_i32("j", &[1, 1], &[7]).unwrap();
    w.add_bool("b", &[2], &[true, false]).unwrap();
    w.add_str("s", "héllo ✓").unwrap();
    w.add_strings("names", &[2, 2], &["a", "bcd", "", "é"])
        .unwrap();
    w.add_strings("empty", &[0], &[] as &[&str]).unwrap();
    w.finish().unwrap()
}

#[test]
fn writer_round_trip_plain_and_zip64() {
    for force in [false, true] {
        let bytes = sample_archive(force);
        let a = NpzArchive::from_bytes("sample.npz", bytes).unwrap();
        let names: Vec<&str> = a.names().collect();
        assert_eq!(
            names,
            ["a:b/~/c:w", "f", "i", "j", "b", "s", "names", "empty"]
        );
        let w = a.array("a:b/~/c:w").unwrap();
        assert_eq!(w.shape, vec![2, 3]);
        let v = w.to_f32_vec().unwrap();
        assert_eq!(&v[..5], &[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!(v[5].is_nan());
        assert_eq!(
            a.array("f").unwrap().data,
            NpyData::F64(vec![f64::INFINITY])
        );
        assert_eq!(
            a.array("i").unwrap().data,
            NpyData::I64(vec![-1, 0, i64::MAX])
        );
        assert_eq!(a.array("j").unwrap().data, NpyData::I32(vec![7]));
        assert_eq!(a.array("b").unwrap().data, NpyData::Bool(vec![true, false]));
        assert_eq!(a.array("s").unwrap().as_strings().unwrap(), ["héllo ✓"]);
        let n = a.array("names").unwrap();
        assert_eq!(n.shape, vec![2, 2]);
        assert_eq!(n.dtype, Dtype::Str(3));
        assert_eq!(n.as_strings().unwrap(), ["a", "bcd", "", "é"]);
        assert!(a.array("empty").unwrap().is_empty());
    }
}

#[test]
fn writer_copies_fixture_checkpoint_exactly() {
    let src = open("tiny-mha/checkpoint.npz");
    let mut w = NpzWriter::in_memory();
    for name in src.names() {
        w.add_array(name, &src.array(name).unwrap()).unwrap();
    }
    let copy = NpzArchive::from_bytes("copy.npz", w.finish().unwrap()).unwrap();
    assert_eq!(copy.len(), src.len());
    for name in src.names() {
        let (a, b) = (src.array(name).unwrap(), copy.array(name).unwrap());
        assert_eq!(a.shape, b.shape, "{name}");
        assert_eq!(a.dtype, b.dtype, "{name}");
        assert_eq!(a.data, b.data, "{name}");
    }
}

/// Python's `zipfile` (what `numpy.load` uses underneath) must accept the written archives:
/// structure, CRCs, ZIP64 records, and NPY headers that `ast.literal_eval` parses. Skipped
/// when no `python3` is installed.
#[test]
fn python_zipfile_reads_written_archives() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
import ast, struct, sys, zipfile
for path in sys.argv[1:]:
    z = zipfile.ZipFile(path)
    assert z.testzip() is None, path
    for info in z.infolist():
        data = z.read(info.filename)
        assert data[:6] == b'\x93NUMPY' and data[6] == 1, info.filename
        (hlen,) = struct.unpack('<H', data[8:10])
        assert (10 + hlen) % 64 == 0, info.filename
        header = ast.literal_eval(data[10:10 + hlen].decode('latin1'))
        assert set(header) == {'descr', 'fortran_order', 'shape'}, header
    try:
        import numpy as np
    except ImportError:
        np = None
    if np is not None:
        with np.load(path) as f:
            assert f['a:b/~/c:w'].dtype == np.float32 and f['a:b/~/c:w'].shape == (2, 3)
            assert f['a:b/~/c:w'][1, 1] == 5.0 and np.isnan(f['a:b/~/c:w'][1, 2])
            assert f['f'] == np.inf and f['i'][2] == 2**63 - 1 and f['j'].shape == (1, 1)
            assert f['b'].tolist() == [True, False] and str(f['s']) == 'h\u00e9llo \u2713'
            assert f['names'].tolist() == [['a', 'bcd'], ['', '\u00e9']]
            assert f['empty'].shape == (0,)
    print(path, len(z.infolist()))
"#;
    let mut paths = Vec::new();
    for force in [false, true] {
        let p = dir.path().join(format!("w{force}.npz"));
        std::fs::write(&p, sample_archive(force)).unwrap();
        paths.push(p);
    }
    let out = match std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(&paths)
        .output()
    {
        Ok(o) => o,
        Err(_) => return,
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
}

#[test]
fn numpy_written_archives_stored_and_deflated() {
    for file in ["savez.npz", "savez_compressed.npz"] {
        let a = open(&format!("npz-formats/{file}"));
        let f4 = a.array("f4").unwrap();
        assert_eq!((f4.dtype, f4.shape.clone()), (Dtype::F32, vec![2, 3]));
        assert_eq!(f4.data, NpyData::F32(vec![0.0, 0.25, 0.5, 0.75, 1.0, 1.25]));
        let f8 = a.array("f8").unwrap().to_f64_vec().unwrap();
        assert_eq!(&f8[..2], &[1.5, f64::NEG_INFINITY]);
        assert!(f8[2].is_nan());
        let i8 = a.array("i8").unwrap();
        assert_eq!(
            (i8.shape.len(), i8.data.clone()),
            (0, NpyData::I64(vec![-7]))
        );
        assert_eq!(a.array("i4").unwrap().data, NpyData::I32(vec![0, 1, 2, 3]));
        assert_eq!(a.array("i1").unwrap().data, NpyData::I8(vec![-128, 127]));
        assert_eq!(
            a.array("u4").unwrap().to_i64_vec().unwrap(),
            vec![0, 4_294_967_295]
        );
        assert_eq!(
            a.array("b1").unwrap().data,
            NpyData::Bool(vec![true, false, false, true])
        );
        let s = a.array("u0d").unwrap();
        assert_eq!(s.dtype, Dtype::Str(7));
        assert_eq!(s.as_strings().unwrap(), ["grüße 😀"]);
        let s2 = a.array("u2d").unwrap();
        assert_eq!(s2.shape, vec![2, 2]);
        assert_eq!(s2.as_strings().unwrap(), ["ab", "c", "", "déf"]);
        let e = a.array("empty").unwrap();
        assert_eq!((e.shape.clone(), e.len()), (vec![0, 3], 0));
    }
}

#[test]
fn numpy_special_headers() {
    let a = open("npz-formats/special.npz");
    assert_eq!(
        a.array("v2").unwrap().data,
        NpyData::F32(vec![0.0, 1.0, 2.0])
    );
    assert_eq!(a.array("v3").unwrap().as_strings().unwrap(), ["été"]);
    for (name, needle) in [
        ("fortran", "fortran_order is True"),
        ("big_endian", "big-endian dtype `>f4`"),
        ("complex", "unsupported dtype `<c8`"),
    ] {
        let e = a.array(name).unwrap_err().to_string();
        assert!(
            e.contains("special.npz") && e.contains(&format!("`{name}`")) && e.contains(needle),
            "{e}"
        );
    }
}
