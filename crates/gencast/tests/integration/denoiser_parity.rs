//! Parity of the denoiser network with the reference on the `tiny-mha` and `tiny-triblockdiag`
//! fixtures: noise encoding, raw network output and the preconditioned denoiser output.

use gencast::checkpoint::{GenCastCheckpoint, NpzArchive};
use gencast::data::Dataset;
use gencast::graph::Graphs;
use gencast::models::gencast::{ChunkSizes, Denoiser, Network};
use std::path::PathBuf;
use std::sync::Arc;

fn fixture(set: &str, file: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
        .join(set)
        .join(file)
}

struct Setup {
    ckpt: GenCastCheckpoint,
    graphs: Arc<Graphs>,
}

fn setup(set: &str) -> Setup {
    let ckpt = GenCastCheckpoint::open(fixture(set, "checkpoint.npz")).unwrap();
    let ds = Dataset::open(fixture(set, "denoiser_call0_raw_network_output.nc")).unwrap();
    let cfg = &ckpt.denoiser_architecture_config;
    let graphs = Graphs::build(
        cfg.mesh_size,
        ds.lat(),
        ds.lon(),
        cfg.radius_query_fraction_edge_length,
        cfg.sparse_transformer_config.attention_k_hop,
    )
    .unwrap();
    Setup {
        ckpt,
        graphs: Arc::new(graphs),
    }
}

/// The stacked inputs of call `k`: features `[Ng, Cin]`, conditioning, σ, channel names.
struct Stacked {
    features: Vec<f32>,
    cond: Vec<f32>,
    sigma: f32,
    names: Vec<String>,
}

fn stacked(set: &str, k: usize) -> Stacked {
    let z = NpzArchive::open(fixture(set, &format!("denoiser_call{k}_stacked.npz"))).unwrap();
    let f = z.array("grid_node_features").unwrap();
    assert_eq!(f.shape.len(), 3);
    assert_eq!(f.shape[1], 1, "batch of one");
    Stacked {
        features: f.to_f32_vec().unwrap(),
        cond: z
            .array("global_norm_conditioning")
            .unwrap()
            .to_f32_vec()
            .unwrap(),
        sigma: z.array("noise_level").unwrap().to_f32_vec().unwrap()[0],
        names: z
            .array("channel_names")
            .unwrap()
            .as_strings()
            .unwrap()
            .to_vec(),
    }
}

/// Sorted target variables with their channel counts, as in the output stacking.
fn target_blocks(ckpt: &GenCastCheckpoint, ds: &Dataset) -> Vec<(String, usize)> {
    let mut vars = ckpt.task_config.target_variables.clone();
    vars.sort();
    vars.into_iter()
        .map(|v| {
            let a = ds.read(&v, None).unwrap();
            let n = a.dim_index("level").map_or(1, |i| a.shape[i]);
            (v, n)
        })
        .collect()
}

/// Reads the target variables of a dataset into the stacked `[Ng, Cout]` layout.
fn read_stacked_targets(ds: &Dataset, blocks: &[(String, usize)], ng: usize) -> Vec<f32> {
    let cout: usize = blocks.iter().map(|b| b.1).sum();
    let mut out = vec![f32::NAN; ng * cout];
    let mut c0 = 0;
    for (v, nl) in blocks {
        let a = ds.read(v, None).unwrap();
        // dims (time=1, [level,] lat, lon)
        assert_eq!(a.shape[0], 1);
        assert_eq!(a.data.len(), nl * ng);
        for l in 0..*nl {
            for g in 0..ng {
                out[g * cout + c0 + l] = a.data[l * ng + g];
            }
        }
        c0 += nl;
    }
    out
}

/// Per-variable relative RMS and max abs error of `got` against `want` (both `[Ng, Cout]`).
fn report(label: &str, blocks: &[(String, usize)], got: &[f32], want: &[f32], ng: usize) -> f64 {
    let cout: usize = blocks.iter().map(|b| b.1).sum();
    let mut worst = 0.0f64;
    let mut c0 = 0;
    for (v, nl) in blocks {
        let (mut se, mut sw, mut mx) = (0.0f64, 0.0f64, 0.0f64);
        for g in 0..ng {
            for c in c0..c0 + nl {
                let (a, b) = (got[g * cout + c] as f64, want[g * cout + c] as f64);
                se += (a - b) * (a - b);
                sw += b * b;
                mx = mx.max((a - b).abs());
            }
        }
        let rel = (se / sw.max(1e-300)).sqrt();
        println!("{label} {v:<26} rel_rms {rel:.3e} max_abs {mx:.3e}");
        worst = worst.max(rel);
        c0 += nl;
    }
    worst
}

/// Columns of the stacked features that hold the (c_in-scaled) noisy targets, in output order:
/// the target-time channels of target variables.
fn target_columns(names: &[String], blocks: &[(String, usize)]) -> Vec<usize> {
    let mut cols = Vec::new();
    for (v, nl) in blocks {
        let prefix = format!("{v}[time=12h");
        let c: Vec<usize> = names
            .iter()
            .enumerate()
            .filter(|(_, n)| n.starts_with(&prefix))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(c.len(), *nl, "{v}");
        cols.extend(c);
    }
    cols
}

// Float32 round-off: the reference and this port sum in different orders (matmul blocking,
// split first layers, f64 layer-norm statistics), giving ~1e-7 relative per operation that
// grows to ~1e-6 over the network; 1e-5 leaves a margin of ~10x.
const REL_TOL: f64 = 1e-5;

fn check_set(set: &str) {
    let s = setup(set);
    let net = Arc::new(Network::load(&s.ckpt, s.graphs.clone()).unwrap());
    let ng = s.graphs.n_grid;
    let (cin, cout) = (net.cin(), net.cout());
    for k in 0..2 {
        let st = stacked(set, k);
        assert_eq!(st.features.len(), ng * cin);
        // (a) noise encoder = global_norm_conditioning.
        let enc = net.noise_encoding(st.sigma);
        let emax = enc
            .iter()
            .zip(&st.cond)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        println!(
            "{set} call{k} σ={} noise encoding max_abs {emax:.3e}",
            st.sigma
        );
        // Values are O(1); two small f32 layers and f32 cos/sin: a few ulp.
        assert!(emax < 2e-6, "noise encoding differs by {emax}");

        // (a) raw network output.
        let raw = Dataset::open(fixture(
            set,
            &format!("denoiser_call{k}_raw_network_output.nc"),
        ))
        .unwrap();
        let blocks = target_blocks(&s.ckpt, &raw);
        assert_eq!(blocks.iter().map(|b| b.1).sum::<usize>(), cout);
        let want = read_stacked_targets(&raw, &blocks, ng);
        let mut got = vec![0.0f32; ng * cout];
        net.forward(&st.features, st.sigma, &mut got).unwrap();
        let worst = report(&format!("{set} call{k} raw"), &blocks, &got, &want, ng);
        assert!(
            worst <= REL_TOL,
            "{set} call{k}: raw output rel RMS {worst:.3e}"
        );

        // (b) preconditioned output from the noisy targets.
        let noisy =
            Dataset::open(fixture(set, &format!("denoiser_call{k}_noisy_targets.nc"))).unwrap();
        let x = read_stacked_targets(&noisy, &blocks, ng);
        let cols = target_columns(&st.names, &blocks);
        let mut features = st.features.clone();
        // Clear the target columns so that only the denoiser's own c_in·x can fill them.
        for row in features.chunks_mut(cin) {
            for &c in &cols {
                row[c] = f32::NAN;
            }
        }
        let den = Denoiser::new(net.clone());
        let mut out = vec![0.0f32; ng * cout];
        den.denoise(&mut features, &cols, &x, st.sigma, &mut out)
            .unwrap();
        // The stacked features hold exactly c_in·x as the reference computed it (f32).
        let fmax = features
            .iter()
            .zip(&st.features)
            .map(|(a, b)| ((a - b) / b.abs().max(1.0)).abs())
            .fold(0.0f32, f32::max);
        assert!(
            fmax < 1e-6,
            "c_in·x differs from the stacked features by {fmax}"
        );
        let want = read_stacked_targets(
            &Dataset::open(fixture(set, &format!("denoiser_call{k}_output.nc"))).unwrap(),
            &blocks,
            ng,
        );
        let worst = report(&format!("{set} call{k} denoised"), &blocks, &out, &want, ng);
        assert!(
            worst <= REL_TOL,
            "{set} call{k}: denoiser output rel RMS {worst:.3e}"
        );
    }
}

#[test]
fn tiny_mha_parity() {
    check_set("tiny-mha");
}

#[test]
fn tiny_triblockdiag_parity() {
    check_set("tiny-triblockdiag");
}

#[test]
fn forward_is_bitwise_identical_with_one_and_two_threads() {
    let s = setup("tiny-mha");
    let st = stacked("tiny-mha", 0);
    // Small chunks so that the chunked code paths (several edge and node chunks) run too.
    let chunks = ChunkSizes {
        edges: 300,
        nodes: 100,
        ..ChunkSizes::default()
    };
    let run = |threads: usize, chunks: ChunkSizes| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let net = Network::load_with(&s.ckpt, s.graphs.clone(), chunks).unwrap();
            let mut out = vec![0.0f32; s.graphs.n_grid * net.cout()];
            net.forward(&st.features, st.sigma, &mut out).unwrap();
            out
        })
    };
    let a = run(1, chunks);
    let b = run(2, chunks);
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    // Default chunks (one chunk here) agree with small chunks up to round-off.
    let c = run(2, ChunkSizes::default());
    let rel = (a
        .iter()
        .zip(&c)
        .map(|(x, y)| ((x - y) as f64).powi(2))
        .sum::<f64>()
        / c.iter().map(|y| (*y as f64).powi(2)).sum::<f64>())
    .sqrt();
    // Only the matmul row blocking can differ between chunkings: f32 round-off.
    assert!(rel < 1e-6, "chunked vs unchunked rel RMS {rel}");
}

#[test]
fn uncached_edge_embeddings_give_identical_output() {
    let s = setup("tiny-triblockdiag");
    let st = stacked("tiny-triblockdiag", 1);
    let run = |cache_bytes: usize| {
        let chunks = ChunkSizes {
            cache_bytes,
            ..ChunkSizes::default()
        };
        let net = Network::load_with(&s.ckpt, s.graphs.clone(), chunks).unwrap();
        let mut out = vec![0.0f32; s.graphs.n_grid * net.cout()];
        net.forward(&st.features, st.sigma, &mut out).unwrap();
        out
    };
    let a = run(0);
    let b = run(usize::MAX);
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
}

#[test]
fn repeated_and_concurrent_calls_give_identical_output() {
    let s = setup("tiny-mha");
    let net = Network::load(&s.ckpt, s.graphs.clone()).unwrap();
    let a = stacked("tiny-mha", 0);
    let b = stacked("tiny-mha", 1);
    let n = s.graphs.n_grid * net.cout();
    let call = |st: &Stacked| {
        let mut out = vec![0.0f32; n];
        net.forward(&st.features, st.sigma, &mut out).unwrap();
        out
    };
    let first = call(&a);
    let other = call(&b);
    let again = call(&a);
    assert!(first
        .iter()
        .zip(&again)
        .all(|(x, y)| x.to_bits() == y.to_bits()));
    // Two calls at once: one uses the shared buffers, the other its own.
    let (p, q) = rayon::join(|| call(&a), || call(&b));
    assert!(p
        .iter()
        .zip(&first)
        .all(|(x, y)| x.to_bits() == y.to_bits()));
    assert!(q
        .iter()
        .zip(&other)
        .all(|(x, y)| x.to_bits() == y.to_bits()));
}
