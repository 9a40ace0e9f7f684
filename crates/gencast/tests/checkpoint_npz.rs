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
    let k = a.array("denoiser_architecture_config:sparse_transformer_config:attention_k_hop").unwrap();
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
        .map(|i| a.array(&format!("task_config:pressure_levels:{i}")).unwrap().to_i64_vec().unwrap()[0])
        .collect();
    assert_eq!(levels, [50, 100, 150, 200, 250, 300, 400, 500, 600, 700, 850, 925, 1000]);
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
    assert_eq!(s.array("global_norm_conditioning").unwrap().shape, vec![1, 16]);
    // Call 0 uses sigma = 8 (fixture README, item b).
    assert_eq!(s.array("noise_level").unwrap().to_f64_vec().unwrap(), vec![8.0]);

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
    assert_eq!(a.array("full_vertices_permuted").unwrap().shape, vec![684, 3]);
}

fn sample_archive(force_zip64: bool) -> Vec<u8> {
    let mut w = NpzWriter::in_memory().force_zip64(force_zip64);
    w.add_f32("a:b/~/c:w", &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, f32::NAN]).unwrap();
    w.add_f64("f", &[], &[f64::INFINITY]).unwrap();
    w.add_i64("i", &[3], &[-1, 0, i64::MAX]).unwrap();
    w.add_i32("j", &[1, 1], &[7]).unwrap();
    w.add_bool("b", &[2], &[true, false]).unwrap();
    w.add_str("s", "héllo ✓").unwrap();
    w.add_strings("names", &[2, 2], &["a", "bcd", "", "é"]).unwrap();
    w.add_strings("empty", &[0], &[] as &[&str]).unwrap();
    w.finish().unwrap()
}

#[test]
fn writer_round_trip_plain_and_zip64() {
    for force in [false, true] {
        let bytes = sample_archive(force);
        let a = NpzArchive::from_bytes("sample.npz", bytes).unwrap();
        let names: Vec<&str> = a.names().collect();
        assert_eq!(names, ["a:b/~/c:w", "f", "i", "j", "b", "s", "names", "empty"]);
        let w = a.array("a:b/~/c:w").unwrap();
        assert_eq!(w.shape, vec![2, 3]);
        let v = w.to_f32_vec().unwrap();
        assert_eq!(&v[..5], &[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!(v[5].is_nan());
        assert_eq!(a.array("f").unwrap().data, NpyData::F64(vec![f64::INFINITY]));
        assert_eq!(a.array("i").unwrap().data, NpyData::I64(vec![-1, 0, i64::MAX]));
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
