//! The driver on the tiny presets of both families.

use super::*;
use crate::kernels::isa::Isa;
use crate::models::graphcast::Precision;

/// Options of a tiny run: one worker, `units` timed units.
fn tiny(preset: Preset, units: usize) -> BenchOptions {
    BenchOptions {
        preset,
        units,
        sampler_steps: 0,
        threads: Some(1),
        seed: 5,
        isas: vec![],
        compare_threads: vec![],
        precision: None,
    }
}

/// The median of the main figures, under the family's name for it.
fn unit_s(r: &BenchReport) -> f64 {
    match &r.details {
        FamilyReport::GenCast(g) => g.denoiser_call_s,
        FamilyReport::GraphCast(g) => g.step_s,
    }
}

#[test]
fn thread_counts_alternate_and_give_the_same_bits() {
    let opts = BenchOptions {
        compare_threads: vec![2, 3],
        ..tiny(Preset::Tiny, 2)
    };
    let r = run(&opts, &mut |_| {}).unwrap();
    let counts: Vec<usize> = r.thread_comparison.iter().map(|t| t.threads).collect();
    assert_eq!(counts, [1, 2, 3]);
    assert!(r.thread_outputs_identical);
    assert_eq!(r.thread_comparison[0].seconds, unit_s(&r));
    for t in &r.thread_comparison {
        assert!(t.seconds > 0.0 && t.speedup_over_first > 0.0, "{t:?}");
        assert_eq!(t.speedup_over_first, unit_s(&r) / t.seconds);
    }
    // Thread counts and kernel paths are not compared in one run; no count is 0.
    let both = BenchOptions {
        isas: Isa::supported(),
        ..opts.clone()
    };
    if both.isas.len() > 1 {
        assert!(run(&both, &mut |_| {}).is_err());
    }
    let zero = BenchOptions {
        compare_threads: vec![0],
        ..opts
    };
    assert!(run(&zero, &mut |_| {})
        .unwrap_err()
        .to_string()
        .contains("at least 1"));
}

#[test]
fn tiny_bench_reports_positive_figures() {
    let opts = BenchOptions {
        seed: 3,
        isas: Isa::supported(),
        ..tiny(Preset::Tiny, 2)
    };
    let r = run(&opts, &mut |_| {}).unwrap();
    assert_eq!((r.n_grid, r.n_mesh, r.threads), (19 * 36, 162, 1));
    // Every path ran, alternating, and returned the same bits as the first.
    let names: Vec<&str> = r.isa_comparison.iter().map(|c| c.isa.as_str()).collect();
    let want: Vec<&str> = Isa::supported().iter().map(|i| i.name()).collect();
    assert_eq!(names, want);
    assert!(r.isa_outputs_identical);
    assert_eq!(r.isa, want[0]);
    assert_eq!(r.isa_comparison[0].ratio_to_first, 1.0);
    let FamilyReport::GenCast(g) = &r.details else {
        panic!("a GenCast preset gave {:?}", r.details)
    };
    for v in [
        g.denoiser_call_s,
        g.actual_gflops,
        g.gemm_gflops,
        r.peak_rss_mb,
    ] {
        assert!(v > 0.0 && v.is_finite(), "{v}");
    }
    assert!(g.step_s.is_none());
}

#[test]
fn one_driver_compares_threads_and_paths_for_both_families() {
    let paths = Isa::supported();
    let want: Vec<&str> = paths.iter().map(|i| i.name()).collect();
    for preset in [Preset::Tiny, Preset::GraphCastTiny] {
        let name = preset.name();
        let threads = run(
            &BenchOptions {
                compare_threads: vec![2],
                ..tiny(preset, 2)
            },
            &mut |_| {},
        )
        .unwrap();
        let counts: Vec<usize> = threads
            .thread_comparison
            .iter()
            .map(|t| t.threads)
            .collect();
        assert_eq!(counts, [1, 2], "{name}");
        assert!(threads.thread_outputs_identical, "{name}");
        assert_eq!(
            threads.thread_comparison[0].seconds,
            unit_s(&threads),
            "{name}"
        );

        let mut lines = Vec::new();
        let isas = run(
            &BenchOptions {
                isas: paths.clone(),
                ..tiny(preset, 2)
            },
            &mut |l: &str| lines.push(l.to_string()),
        )
        .unwrap();
        let names: Vec<&str> = isas.isa_comparison.iter().map(|c| c.isa.as_str()).collect();
        assert_eq!(names, want, "{name}");
        assert!(isas.isa_outputs_identical, "{name}");
        // Both timed units ran on every path, alternating: one progress line each.
        for p in &want {
            let n = lines
                .iter()
                .filter(|l| l.contains(&format!("({p})")))
                .count();
            assert_eq!(n, 2 + usize::from(*p == want[0]), "{name} {p}: {lines:?}");
        }
        for c in &isas.isa_comparison {
            let stages = c.stages_s.unwrap_or_else(|| panic!("{name}: {c:?}"));
            assert!(stages.iter().all(|&s| s > 0.0), "{name}: {c:?}");
            // Each unit's stages run inside it; with two units the medians are means, so the
            // stages' medians add up to at most the unit's.
            assert!(stages.iter().sum::<f64>() <= c.seconds, "{name}: {c:?}");
        }

        // The same shared figures, and each family's own under its unit's name.
        for r in [&threads, &isas] {
            assert_eq!((r.preset.as_str(), r.family), (name, preset.family()));
            assert_eq!(r.shape, preset.shape());
            assert_eq!((r.n_grid, r.n_mesh), (19 * 36, 162), "{name}");
            assert!(r.num_params > 0 && r.grid2mesh_edges > 0 && r.mesh2grid_edges > 0);
            assert_eq!(r.startup_s, r.graph_build_s + r.network_load_s);
            match &r.details {
                FamilyReport::GenCast(g) => {
                    assert_eq!(preset, Preset::Tiny);
                    assert_eq!((r.unit.as_str(), g.calls), ("denoiser call", 2));
                    assert!(g.actual_gflops > 0.0 && g.transformer_s > 0.0);
                    assert!(g.first_call_s > 0.0 && g.call_min_s <= g.call_max_s);
                }
                FamilyReport::GraphCast(g) => {
                    assert_eq!(preset, Preset::GraphCastTiny);
                    assert_eq!((r.unit.as_str(), g.steps), ("6 h step", 2));
                    assert_eq!(g.precision, "f32");
                    assert!(g.mesh_edges > 0 && g.input_channels > g.output_channels);
                    assert!(g.processor_s.is_some_and(|p| p > 0.0));
                    assert!(g.first_step_s > 0.0 && g.step_min_s <= g.step_max_s);
                }
            }
        }
    }
}

#[test]
fn both_families_serialise_to_one_shape() {
    for (preset, unit_key, shape_key) in [
        (Preset::Tiny, "denoiser_call_s", "layers"),
        (Preset::GraphCastTiny, "step_s", "levels"),
    ] {
        let r = run(&tiny(preset, 1), &mut |_| {}).unwrap();
        let v = serde_json::to_value(&r).unwrap();
        for key in [
            "preset",
            "family",
            "unit",
            "stages",
            "isa_comparison",
            "thread_comparison",
            "thread_outputs_identical",
            "num_params",
            "startup_s",
            "peak_rss_mb",
        ] {
            assert!(v.get(key).is_some(), "{}: no `{key}` in {v}", preset.name());
        }
        // The family's figures sit beside the shared ones, not under a key of their own.
        assert_eq!(v[unit_key].as_f64(), Some(unit_s(&r)), "{v}");
        assert!(v["shape"][shape_key].as_u64().is_some(), "{v}");
        assert_eq!(v["family"], preset.family().name());
        assert!(
            v.get("details").is_none() && v.get("GenCast").is_none(),
            "{v}"
        );
    }
}

#[test]
fn the_warm_up_unit_stands_alone_only_where_the_family_allows() {
    let err = run(&tiny(Preset::Tiny, 0), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("at least one timed call"), "{err}");
    // A GraphCast warm-up step is reported alone, but compares nothing.
    let r = run(&tiny(Preset::GraphCastTiny, 0), &mut |_| {}).unwrap();
    let FamilyReport::GraphCast(g) = &r.details else {
        panic!("{:?}", r.details)
    };
    assert_eq!((g.steps, g.step_s), (1, g.first_step_s));
    let compare = BenchOptions {
        compare_threads: vec![2],
        ..tiny(Preset::GraphCastTiny, 0)
    };
    let err = run(&compare, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("at least one timed step"), "{err}");
}

#[test]
fn family_options_are_refused_elsewhere() {
    let bf16 = BenchOptions {
        precision: Some(Precision::Bf16Cast),
        ..tiny(Preset::Tiny, 1)
    };
    let err = run(&bf16, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("GraphCast presets"), "{err}");
    let steps = BenchOptions {
        sampler_steps: 1,
        ..tiny(Preset::GraphCastTiny, 1)
    };
    let err = run(&steps, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("GenCast presets"), "{err}");
}

#[test]
fn the_bf16_cast_is_split_into_stages_on_every_path() {
    let opts = BenchOptions {
        precision: Some(Precision::Bf16Cast),
        isas: Isa::supported(),
        ..tiny(Preset::GraphCastTiny, 1)
    };
    let r = run(&opts, &mut |_| {}).unwrap();
    assert!(r.isa_outputs_identical);
    assert!(r.isa_comparison.iter().all(|c| c.stages_s.is_some()));
    let FamilyReport::GraphCast(g) = &r.details else {
        panic!("{:?}", r.details)
    };
    assert_eq!(g.precision, "bf16-cast");
    let stages = [g.encoder_s, g.processor_s, g.decoder_s];
    assert!(
        stages.iter().all(|s| s.is_some_and(|s| s > 0.0)),
        "{stages:?}"
    );
    assert!(g.step_s > 0.0);
}
