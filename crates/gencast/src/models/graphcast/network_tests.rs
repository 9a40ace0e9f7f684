//! The edge and node passes against their plain form (one pass over a whole chunk per
//! operation), bit for bit, in both precisions; and, ignored, their CPU time at the
//! GraphCast_small shape.

use super::*;
use crate::bench::graphcast::random_graphcast_checkpoint;
use crate::bench::Preset;
use crate::bench::random::grid_coordinates;

/// [`edge_pass`] as one pass per operation over each whole chunk of edges.
fn edge_pass_plain(
    block: &Block,
    graph: &EdgeGraph,
    mut latents: EdgeLatents<'_>,
    (sender_nodes, receiver_nodes): (&[f32], &[f32]),
    (d, bf16_sum): (usize, bool),
    agg: &mut [f32],
) {
    let d1 = block.d_first();
    let (ns, nr) = (sender_nodes.len() / d, receiver_nodes.len() / d);
    let mut sp = vec![0.0; ns * d1];
    let mut rp = vec![0.0; nr * d1];
    crate::kernels::matmul_packed(sender_nodes, block.w_rows(d..2 * d), &mut sp, ns, false, None);
    let r = block.w_rows(2 * d..3 * d);
    crate::kernels::matmul_packed(receiver_nodes, r, &mut rp, nr, false, None);
    let (mut hidden, mut embedded) = (Vec::new(), Vec::new());
    for c in 0..graph.plan.n_chunks() {
        let range = graph.plan.chunk_range(c);
        let rows = range.len();
        let mut pre = vec![0.0; rows * d1];
        let rows_of = range.start * d..range.end * d;
        let e: &[f32] = match (&latents, &graph.embedded) {
            (EdgeLatents::Carried(all), _) => &all[rows_of.clone()],
            (EdgeLatents::Static, Some(all)) => &all[rows_of.clone()],
            (EdgeLatents::Static, None) => {
                let out = sized(&mut embedded, rows * d);
                let f = &graph.features[range.start * 4..range.end * 4];
                graph.embedder.forward(f, rows, out);
                out
            }
        };
        block.first_with_bias(e, rows, 0..d, &mut pre);
        gather_add_rows(&mut pre, &sp, &graph.senders[range.clone()], d1);
        gather_add_rows(&mut pre, &rp, &graph.receivers[range.clone()], d1);
        let mut msg = vec![0.0; rows * d];
        block.tail(&mut pre, rows, &mut msg, &mut hidden);
        if bf16_sum {
            graph.plan.accumulate_bf16(c, &msg, d, agg);
        } else {
            graph.plan.accumulate(c, &msg, d, agg);
        }
        if let EdgeLatents::Carried(all) = &mut latents {
            if block.cast {
                add_round(&mut all[rows_of], &msg);
            } else {
                for (r, m) in all[rows_of].iter_mut().zip(msg.iter()) {
                    *r += *m;
                }
            }
        }
    }
}

/// [`node_update`] as one pass per operation over all nodes.
fn node_update_plain(block: &Block, nodes: &mut [f32], agg: Option<&[f32]>, d: usize) {
    let n = nodes.len() / d;
    let mut pre = vec![0.0; n * block.d_first()];
    block.first_with_bias(nodes, n, 0..d, &mut pre);
    if let Some(a) = agg {
        block.first_accumulate(a, n, d..2 * d, &mut pre);
    }
    let mut out = vec![0.0; n * d];
    block.tail(&mut pre, n, &mut out, &mut Vec::new());
    if block.cast {
        add_round(nodes, &out);
    } else {
        for (o, &u) in nodes.iter_mut().zip(out.iter()) {
            *o += u;
        }
    }
}

/// A random-weight network of `preset`.
fn network(preset: Preset, cast: bool, opts: LoadOptions) -> GraphCast {
    let ckpt = random_graphcast_checkpoint(preset, 7).unwrap();
    let (lat, lon) = grid_coordinates(preset.shape().resolution_deg());
    let graphs = GraphCastGraphs::build(&ckpt.model_config, &lat, &lon).unwrap();
    GraphCast::load_as(&ckpt, Arc::new(graphs), opts, cast).unwrap()
}

/// `n` latents of width `d`, values in [-1, 1], bfloat16 under the cast.
fn latents(seed: u64, n: usize, cast: bool) -> Vec<f32> {
    crate::kernels::testing::signed_values(seed, n)
        .into_iter()
        .map(|v| if cast { round_bf16(v) } else { v })
        .collect()
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[test]
fn blocked_passes_equal_plain_passes_bit_for_bit() {
    for cast in [false, true] {
        // Chunks that are not multiples of the task rows, and recomputed static embeddings.
        for opts in [
            LoadOptions::default(),
            LoadOptions {
                edge_chunk: 250,
                node_chunk: 13,
                embedding_cache_bytes: 0,
            },
        ] {
            let net = network(Preset::GraphCastTiny, cast, opts);
            let (ng, nm, d) = (net.graphs.n_grid, net.graphs.n_mesh, net.d);
            let g = latents(1, ng * d, cast);
            let m = latents(2, nm * d, cast);
            // grid2mesh (static latents, float32 sum) and mesh2grid (bfloat16 sum under the cast);
            // the plain pass recomputes what the blocked one takes from the cached first layer.
            assert_eq!(net.g2m.first_layer.is_some(), opts.embedding_cache_bytes > 0);
            assert_eq!(net.m2g.first_layer.is_some(), opts.embedding_cache_bytes > 0);
            for (block, graph, nodes, n_recv, bf16_sum) in [
                (&net.g2m_edges, &net.g2m, (&g[..], &m[..]), nm, false),
                (&net.m2g_edges, &net.m2g, (&m[..], &g[..]), ng, cast),
            ] {
                let mut want = vec![0.0; n_recv * d];
                edge_pass_plain(block, graph, EdgeLatents::Static, nodes, (d, bf16_sum), &mut want);
                let mut got = vec![0.0; n_recv * d];
                let mut s = Scratch::default();
                edge_pass(block, graph, EdgeLatents::Static, nodes, (d, bf16_sum), &mut got, &mut s);
                assert!(same_bits(&got, &want), "cast {cast}, {opts:?}");
                assert!(want.iter().any(|v| *v != 0.0));
            }
            // A processor step: carried edge latents and the mesh-node update.
            let mut e_want = Vec::new();
            net.mesh.all_latents_into(&mut e_want);
            let mut e_got = e_want.clone();
            let mut want = vec![0.0; nm * d];
            let block = &net.mesh_edges[0];
            let bf = (d, cast);
            edge_pass_plain(block, &net.mesh, EdgeLatents::Carried(&mut e_want), (&m, &m), bf, &mut want);
            let mut got = vec![0.0; nm * d];
            let mut s = Scratch::default();
            let carried = EdgeLatents::Carried(&mut e_got);
            edge_pass(block, &net.mesh, carried, (&m, &m), bf, &mut got, &mut s);
            assert!(same_bits(&got, &want) && same_bits(&e_got, &e_want), "cast {cast}");
            let (mut m_want, mut m_got) = (m.clone(), m.clone());
            node_update_plain(&net.mesh_nodes[0], &mut m_want, Some(&want), d);
            node_update(&net.mesh_nodes[0], &mut m_got, Some(&want), (d, net.node_chunk));
            assert!(same_bits(&m_got, &m_want), "cast {cast}");
            let (mut g_want, mut g_got) = (g.clone(), g.clone());
            node_update_plain(&net.g2m_grid_nodes, &mut g_want, None, d);
            node_update(&net.g2m_grid_nodes, &mut g_got, None, (d, net.node_chunk));
            assert!(same_bits(&g_got, &g_want), "cast {cast}");
        }
    }
}

/// CPU seconds of the calling thread.
fn thread_cpu_s() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec; the clock id is a constant the C library knows.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Minimum over `reps` of the calling thread's CPU seconds of `f`.
fn min_cpu(reps: usize, mut f: impl FnMut()) -> f64 {
    (0..reps)
        .map(|_| {
            let t = thread_cpu_s();
            f();
            thread_cpu_s() - t
        })
        .fold(f64::INFINITY, f64::min)
}

/// On one thread at the GraphCast_small shape: the CPU time of each operation of the plain
/// passes over one chunk of mesh edges, then a processor step (edge pass and mesh-node update)
/// blocked and plain, alternating, minimum of three each. Run with `--ignored --nocapture` in
/// an optimised build.
#[test]
#[ignore = "a CPU-time measurement at the GraphCast_small shape (about a minute of CPU)"]
fn processor_step_cpu_time_blocked_vs_plain() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    pool.install(|| {
        for cast in [false, true] {
            let net = network(Preset::GraphCastOneDeg, cast, LoadOptions::default());
            let (nm, d) = (net.graphs.n_mesh, net.d);
            let m = latents(2, nm * d, cast);
            let (block, graph) = (&net.mesh_edges[0], &net.mesh);
            let mut e0 = Vec::new();
            graph.all_latents_into(&mut e0);
            // One chunk, operation by operation.
            let rows = graph.plan.chunk_range(0).len();
            let d1 = block.d_first();
            let mut pre = vec![0.0; rows * d1];
            let mut sp = vec![0.0; nm * d1];
            let mut msg = vec![0.0; rows * d];
            let mut hidden = Vec::new();
            let mut agg = vec![0.0; nm * d];
            let proj = min_cpu(3, || {
                crate::kernels::matmul_packed(&m, block.w_rows(d..2 * d), &mut sp, nm, false, None)
            });
            let gemm1 = min_cpu(3, || block.first_with_bias(&e0[..rows * d], rows, 0..d, &mut pre));
            let gather = min_cpu(3, || gather_add_rows(&mut pre, &sp, &graph.senders[..rows], d1));
            let tail = min_cpu(3, || {
                block.first_with_bias(&e0[..rows * d], rows, 0..d, &mut pre);
                block.tail(&mut pre, rows, &mut msg, &mut hidden)
            }) - gemm1;
            let sum = min_cpu(3, || graph.plan.accumulate(0, &msg, d, &mut agg));
            let mut e = e0.clone();
            let resid = min_cpu(3, || {
                for (r, v) in e[..rows * d].iter_mut().zip(&msg) {
                    *r += *v;
                }
            });
            println!(
                "cast {cast}: one chunk of {rows} mesh edges, CPU s: first-layer product {gemm1:.3}, \
                 one gather {gather:.3}, tail (activation, product, LayerNorm) {tail:.3}, \
                 segment sum {sum:.3}, residual {resid:.3}; node projection (all {nm} nodes) {proj:.3}"
            );
            let step = |blocked: bool| {
                let mut e = e0.clone();
                let mut mm = m.clone();
                let mut agg = vec![0.0; nm * d];
                let t = thread_cpu_s();
                if blocked {
                    let mut s = Scratch::default();
                    let l = EdgeLatents::Carried(&mut e);
                    edge_pass(block, graph, l, (&mm, &mm), (d, cast), &mut agg, &mut s);
                    node_update(&net.mesh_nodes[0], &mut mm, Some(&agg), (d, ROW_BLOCK));
                } else {
                    let l = EdgeLatents::Carried(&mut e);
                    edge_pass_plain(block, graph, l, (&mm, &mm), (d, cast), &mut agg);
                    node_update_plain(&net.mesh_nodes[0], &mut mm, Some(&agg), d);
                }
                thread_cpu_s() - t
            };
            let (mut blocked, mut plain) = (f64::INFINITY, f64::INFINITY);
            for _ in 0..3 {
                blocked = blocked.min(step(true));
                plain = plain.min(step(false));
            }
            println!(
                "cast {cast}: processor step CPU s: blocked {blocked:.3}, plain {plain:.3}, ratio {:.3}",
                blocked / plain
            );
        }
    });
}

/// On one thread at the GraphCast_small shape: the CPU time of a whole forward pass in float32
/// and under the cast, alternating, minimum of two each. Run with `--ignored --nocapture` in an
/// optimised build.
#[test]
#[ignore = "a CPU-time measurement at the GraphCast_small shape (several minutes of CPU)"]
fn forward_cpu_time_float32_vs_cast() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    pool.install(|| {
        let nets = [false, true].map(|cast| network(Preset::GraphCastOneDeg, cast, LoadOptions::default()));
        let x = latents(3, nets[0].graphs.n_grid * nets[0].cin, false);
        let mut best = [f64::INFINITY; 2];
        for _ in 0..2 {
            for (b, net) in best.iter_mut().zip(&nets) {
                let t = thread_cpu_s();
                let (_, stages) = net.forward_timed(&x).unwrap();
                let cpu = thread_cpu_s() - t;
                println!("cast {}: forward CPU s {cpu:.2} (stage wall s {stages:?})", net.cast);
                *b = b.min(cpu);
            }
        }
        println!("forward CPU s: float32 {:.2}, cast {:.2}, ratio {:.3}", best[0], best[1], best[1] / best[0]);
    });
}

#[test]
fn passes_that_reuse_the_kept_buffers_give_the_same_bits() {
    for cast in [false, true] {
        let net = network(Preset::GraphCastTiny, cast, LoadOptions::default());
        let x = latents(4, net.graphs.n_grid * net.cin, cast);
        let first = net.forward(&x).unwrap();
        assert!(net.buffers.0.lock().unwrap().is_some(), "buffers kept after a pass");
        // A different input in between leaves other values in the kept buffers.
        let other = latents(5, net.graphs.n_grid * net.cin, cast);
        assert!(!same_bits(&net.forward(&other).unwrap(), &first));
        assert!(same_bits(&net.forward(&x).unwrap(), &first), "cast {cast}");
        // A copy starts with buffers of its own and agrees.
        assert!(same_bits(&net.clone().forward(&x).unwrap(), &first), "cast {cast}");
        let stages = net.forward_stages(&x).unwrap();
        assert!(same_bits(&stages.decoder_output, &first), "cast {cast}");
    }
}
