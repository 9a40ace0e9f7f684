//! `gencast bench`: throughput of a random-weight GenCast or GraphCast of a published
//! configuration.

use anyhow::Context;
use gencast::bench::gencast::GenCastReport;
use gencast::bench::graphcast::GraphCastReport;
use gencast::bench::kernels::{KernelBenchOptions, KernelReport, KernelSizes};
use gencast::bench::{self, BenchOptions, BenchReport, Family, FamilyReport, Preset, PresetShape};
use gencast::isa::{self, Isa, Kind};
use tracing::info;

/// The paths named by `--isa` (`all`, or a comma-separated list), the first fixed as the
/// process's; without `--isa`, the process's path (from `GENCAST_ISA`, or detected).
fn parse_isas(arg: Option<&str>) -> anyhow::Result<Vec<Isa>> {
    let isas = match arg.map(str::trim) {
        None => vec![isa::init(None)?],
        Some("all") => Isa::supported(),
        Some(list) => list
            .split(',')
            .map(|name| Ok(Isa::new(Kind::parse(name)?)?))
            .collect::<anyhow::Result<Vec<_>>>()?,
    };
    if isas.is_empty() {
        anyhow::bail!("--isa: no kernel path named");
    }
    isa::init(Some(isas[0].kind())).context("--isa")?;
    Ok(isas)
}

/// The thread counts of `--threads`: the first, and those compared with it.
#[derive(Clone, Debug)]
pub(crate) struct ThreadList(Vec<usize>);

impl ThreadList {
    /// The first count (the pool of the main figures).
    fn first(&self) -> usize {
        self.0[0]
    }

    /// The counts compared with the first.
    fn others(&self) -> Vec<usize> {
        self.0[1..].to_vec()
    }
}

/// Parses `--threads`: positive counts separated by commas, none twice.
fn parse_thread_list(text: &str) -> Result<ThreadList, String> {
    let mut counts = Vec::new();
    for part in text.split(',') {
        let n: usize = part
            .trim()
            .parse()
            .map_err(|_| format!("`{part}` is not a thread count"))?;
        if n == 0 {
            return Err("thread counts must be at least 1".into());
        }
        if counts.contains(&n) {
            return Err(format!("{n} is named twice"));
        }
        counts.push(n);
    }
    Ok(ThreadList(counts))
}

/// Parses `--preset` with the library's list of every preset in its refusal.
fn parse_preset(text: &str) -> Result<Preset, String> {
    Preset::parse(text).map_err(|e| e.to_string())
}

/// Arguments of `gencast bench`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Configuration: GenCast `mini` (1° grid, mesh 4), `1p0` (1°, mesh 5) or `0p25` (0.25°,
    /// mesh 6), all with latent 512, 16 layers, 4 heads, k-hop 16, feed-forward 2048; or
    /// GraphCast `graphcast-1p0` (GraphCast_small: 1°, mesh 5, 13 levels) or `graphcast-0p25`
    /// (0.25°, mesh 6, 37 levels), both with latent 512 and 16 message-passing steps.
    #[arg(long, default_value = "mini", value_parser = parse_preset)]
    preset: Preset,
    /// Timed denoiser calls of a GenCast preset (after one warm-up call); the median is
    /// reported.
    #[arg(long, default_value_t = 3)]
    calls: usize,
    /// Full 12 h sampler steps to time (39 denoiser calls each with 20 noise levels). For a
    /// GraphCast preset: 6 h steps timed after the warm-up step (0: the warm-up step alone).
    #[arg(long, default_value_t = 0)]
    steps: usize,
    /// Worker threads (default: all cores), or a comma-separated list (e.g. `1,2`): the model
    /// presets then time each count alternately, call by call (step by step for GraphCast), and
    /// report the speed-ups over the first and whether the outputs are bitwise identical.
    #[arg(long, value_parser = parse_thread_list)]
    threads: Option<ThreadList>,
    /// Seed of the random weights and inputs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Arithmetic of a GraphCast preset: `f32`, or `bf16-cast` (the notebook's
    /// `Bfloat16Cast`, emulated as `gencast forecast --precision bf16-cast` runs it).
    #[arg(long, value_enum)]
    precision: Option<crate::cmd_forecast::PrecisionArg>,
    /// Print one JSON object instead of the summary table.
    #[arg(long)]
    json: bool,
    /// Time each kernel alone (matrix products, attention, layer norm, activations, gathers and
    /// segment sums) at Mini sizes instead of the whole model.
    #[arg(long)]
    kernels: bool,
    /// With `--kernels`: timed repetitions per kernel (the fastest is reported).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Kernel paths: `avx512`, `avx2`, `neon`, `portable`, a comma-separated list of them, or
    /// `all` (every path this CPU supports). Several paths are timed alternately in one run and
    /// compared (default: `GENCAST_ISA`, else the best the CPU supports).
    #[arg(long)]
    isa: Option<String>,
    /// With `--kernels`: small sizes (for tests).
    #[arg(long, hide = true)]
    small: bool,
}

/// Runs the command.
pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let isas = parse_isas(args.isa.as_deref())?;
    if args.kernels {
        if args.precision.is_some() {
            anyhow::bail!("--precision applies to the GraphCast presets, not to --kernels");
        }
        return run_kernels(&args, isas);
    }
    // `--steps` counts GenCast's sampler steps after the calls, but is GraphCast's timed unit.
    let (units, sampler_steps) = match args.preset.family() {
        Family::GenCast => {
            if args.precision.is_some() {
                anyhow::bail!(
                    "--precision applies to the GraphCast presets; GenCast runs in float32"
                );
            }
            (args.calls, args.steps)
        }
        Family::GraphCast => (args.steps, 0),
    };
    let opts = BenchOptions {
        preset: args.preset,
        units,
        sampler_steps,
        threads: args.threads.as_ref().map(ThreadList::first),
        seed: args.seed,
        isas,
        compare_threads: args.threads.as_ref().map_or(Vec::new(), ThreadList::others),
        precision: args.precision.map(|p| p.precision()),
    };
    let report = bench::run(&opts, &mut |line: &str| info!("{line}")).context("benchmark")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_summary(&report);
    }
    Ok(())
}

/// The human-readable summary of either family: the shared figures, the family's, memory.
fn print_summary(r: &BenchReport) {
    let head = match &r.shape {
        PresetShape::GenCast(s) => format!("latent {}, {} layers", s.latent, s.layers),
        PresetShape::GraphCast(s) => format!(
            "latent {}, {} message-passing steps, {} levels",
            s.latent, s.gnn_msg_steps, s.levels
        ),
    };
    println!(
        "preset {}: {}° grid ({} nodes), mesh {} ({} nodes), {head}, {} threads",
        r.preset,
        r.shape.resolution_deg(),
        r.n_grid,
        r.shape.mesh_size(),
        r.n_mesh,
        r.threads
    );
    println!("kernels            {}", r.isa);
    if r.isa_comparison.len() > 1 {
        for c in &r.isa_comparison {
            let stages = c.stages_s.map_or(String::new(), |s| {
                format!(
                    "; {} {:.3}, {} {:.3}, {} {:.3}",
                    r.stages[0], s[0], r.stages[1], s[1], r.stages[2], s[2]
                )
            });
            println!(
                "  {:<16} {:>9.3} s per {} ({:.2}x{stages})",
                c.isa, c.seconds, r.unit, c.ratio_to_first
            );
        }
        println!(
            "  outputs          {}",
            if r.isa_outputs_identical {
                "bitwise identical on every path"
            } else {
                "DIFFER between paths"
            }
        );
    }
    print_threads(r);
    println!("parameters         {}", r.num_params);
    match &r.details {
        FamilyReport::GenCast(g) => print_gencast(r, g),
        FamilyReport::GraphCast(g) => print_graphcast(r, g),
    }
    let after_units = match &r.details {
        FamilyReport::GenCast(g) => g.rss_after_calls_mb,
        FamilyReport::GraphCast(g) => g.rss_after_steps_mb,
    };
    println!(
        "peak RSS           {:>9.0} MiB  ({:.0} after load, {after_units:.0} after the {}s)",
        r.peak_rss_mb, r.rss_after_load_mb, r.unit
    );
}

/// Start-up times.
fn print_startup(r: &BenchReport) {
    println!("graph build        {:>9.3} s", r.graph_build_s);
    println!("network load       {:>9.3} s", r.network_load_s);
    println!("start-up           {:>9.3} s", r.startup_s);
}

/// GenCast's part: denoiser calls by stage, sampler steps, FLOP rates.
fn print_gencast(r: &BenchReport, g: &GenCastReport) {
    println!(
        "edges: {} grid2mesh, {} mesh2grid; attention pairs {} ({} computed)",
        r.grid2mesh_edges, r.mesh2grid_edges, g.attention_pairs, g.attention_dense_pairs
    );
    print_startup(r);
    println!("first call         {:>9.3} s", g.first_call_s);
    println!(
        "denoiser call      {:>9.3} s  (median of {}, min {:.3}, max {:.3})",
        g.denoiser_call_s, g.calls, g.call_min_s, g.call_max_s
    );
    println!("  encoder          {:>9.3} s", g.encoder_s);
    println!("  transformer      {:>9.3} s", g.transformer_s);
    println!("  decoder          {:>9.3} s", g.decoder_s);
    if let (Some(step), Some(calls), Some(over)) =
        (g.step_s, g.calls_per_step, g.sampler_overhead_s)
    {
        println!("12 h step          {step:>9.2} s  ({calls} calls, {over:.3} s sampler overhead)");
    }
    println!(
        "actual work        {:>9.1} GFLOP/call, {:.1} GFLOP/s ({:.0} % of GEMM)",
        g.flop_actual.total() / 1e9,
        g.actual_gflops,
        100.0 * g.actual_fraction_of_gemm
    );
    println!(
        "reference-equiv.   {:>9.1} GFLOP/call, {:.1} GFLOP/s ({:.0} % of GEMM)",
        g.reference_equivalent_flop / 1e9,
        g.reference_equivalent_gflops,
        100.0 * g.reference_equivalent_fraction_of_gemm
    );
    println!(
        "GEMM {}x{}x{}    {:>9.1} GFLOP/s",
        g.gemm_shape[0], g.gemm_shape[1], g.gemm_shape[2], g.gemm_gflops
    );
}

/// GraphCast's part: precision, channels, 6 h steps by stage.
fn print_graphcast(r: &BenchReport, g: &GraphCastReport) {
    println!("precision          {}", g.precision);
    println!(
        "channels           {} input, {} output",
        g.input_channels, g.output_channels
    );
    println!(
        "edges: {} grid2mesh, {} mesh, {} mesh2grid",
        r.grid2mesh_edges, g.mesh_edges, r.mesh2grid_edges
    );
    print_startup(r);
    println!("first step         {:>9.3} s", g.first_step_s);
    println!(
        "6 h step           {:>9.3} s  (median of {}, min {:.3}, max {:.3})",
        g.step_s, g.steps, g.step_min_s, g.step_max_s
    );
    if let (Some(e), Some(p), Some(d)) = (g.encoder_s, g.processor_s, g.decoder_s) {
        println!("  encoder          {e:>9.3} s");
        println!("  processor        {p:>9.3} s");
        println!("  decoder          {d:>9.3} s");
    }
}

/// The thread counts timed alternately, when there were several.
fn print_threads(r: &BenchReport) {
    if r.thread_comparison.len() < 2 {
        return;
    }
    println!("threads");
    for t in &r.thread_comparison {
        println!(
            "  {:<16} {:>9.3} s per {} ({:.2}x the first)",
            t.threads, t.seconds, r.unit, t.speedup_over_first
        );
    }
    println!(
        "  outputs          {}",
        if r.thread_outputs_identical {
            "bitwise identical on every thread count"
        } else {
            "DIFFER between thread counts"
        }
    );
}

/// `gencast bench --kernels`: per-kernel timings.
fn run_kernels(args: &Args, isas: Vec<Isa>) -> anyhow::Result<()> {
    let opts = KernelBenchOptions {
        sizes: if args.small {
            KernelSizes::small()
        } else {
            KernelSizes::mini()
        },
        reps: args.reps,
        threads: match &args.threads {
            Some(list) if list.0.len() > 1 => {
                anyhow::bail!("--kernels takes one --threads count")
            }
            list => list.as_ref().map(ThreadList::first),
        },
        isas,
    };
    let report = bench::kernels::run(&opts, &mut |line: &str| info!("{line}"))
        .context("kernel benchmark")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_kernels(&report);
    }
    Ok(())
}

/// One line per kernel, then the GEMM rate of the same run.
fn print_kernels(r: &KernelReport) {
    println!(
        "kernels at {} sizes, {} threads, best of {}",
        if r.sizes == KernelSizes::mini() {
            "Mini"
        } else {
            "small"
        },
        r.threads,
        r.reps
    );
    for k in &r.kernels {
        println!(
            "{:<16} {:<9} {:>10.3} ms  {:>8.1} {:<8} {}",
            k.name,
            k.isa,
            k.seconds * 1e3,
            k.rate,
            k.unit,
            k.shape
        );
    }
    println!(
        "{:<16} {:<9} {:>13} {:>8.1} {:<8} {}x{}x{} (same run)",
        "gemm_rate",
        "gemm",
        "",
        r.gemm_gflops,
        "GFLOP/s",
        r.gemm_shape[0],
        r.gemm_shape[1],
        r.gemm_shape[2]
    );
}
