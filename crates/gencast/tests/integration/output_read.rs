//! Reading forecast outputs back (NetCDF and Zarr, reference and WeatherBench-2 layouts, regional
//! grids crossing 0°), and the verification metrics against naive f64 computations.

use crate::support::surface_and_levelled;
use gencast::forecast::{ForecastLayout, Naming};
use gencast::output::forecast_nc::ForecastWriter;
use gencast::output::read::{ForecastOutput, OutputLayout};
use gencast::output::stats::normalized_latitude_weights;
use gencast::output::verify::{
    anomaly_correlation, rank_histogram, region_latitude_weights, score_maps,
};
use gencast::output::zarr::ZarrForecast;

/// A regional layout crossing 0°: 3 latitudes, longitudes -20..10, two levels, 3 members
/// numbered from 5, leads 24 h and 48 h (an `--output-every 24h` selection).
fn layout(naming: Naming) -> ForecastLayout {
    ForecastLayout {
        variables: surface_and_levelled(),
        levels: vec![500, 850],
        lat: vec![10.0, 20.0, 30.0],
        lon: vec![-20.0, -10.0, 0.0, 10.0],
        members: vec![5, 6, 7],
        lead_hours: vec![24, 48],
        init_time: "2019-03-29T12:00:00".into(),
        history: "test".into(),
        naming,
        statics: Vec::new(),
    }
}

/// A value unique to (variable, member, step, point).
fn value(v: usize, m: usize, s: usize, i: usize) -> f32 {
    (1000 * v + 100 * m + 10 * s) as f32 + i as f32 * 0.25
}

fn field_len(l: &ForecastLayout, v: usize) -> usize {
    let levels = if l.variables[v].levelled {
        l.levels.len()
    } else {
        1
    };
    levels * l.lat.len() * l.lon.len()
}

fn write_nc(path: &std::path::Path, l: ForecastLayout) {
    let mut w = ForecastWriter::create(path, l.clone()).unwrap();
    for v in 0..2 {
        for m in 0..3 {
            for s in 0..2 {
                let f: Vec<f32> = (0..field_len(&l, v)).map(|i| value(v, m, s, i)).collect();
                w.write_field(m, s, v, &f).unwrap();
            }
        }
    }
    w.finish().unwrap();
}

fn write_zarr(path: &std::path::Path, l: ForecastLayout) {
    let z = ZarrForecast::open_or_create(path, l.clone(), &serde_json::json!({})).unwrap();
    for v in 0..2 {
        for m in 0..3 {
            for s in 0..2 {
                let f: Vec<f32> = (0..field_len(&l, v)).map(|i| value(v, m, s, i)).collect();
                z.write_field(m, s, v, &f).unwrap();
            }
        }
    }
}

fn check_view(out: &ForecastOutput, layout: OutputLayout) {
    let l = self::layout(Naming::Reference);
    assert_eq!(out.layout(), layout);
    assert!(out.is_ensemble());
    assert_eq!(out.members(), &[5, 6, 7]);
    let h = 3_600_000_000_000i64;
    assert_eq!(out.lead_times(), &[24 * h, 48 * h]);
    let init = gencast::data::netcdf_time::parse_datetime("2019-03-29T12:00").unwrap();
    assert_eq!(out.init_time(), Some(init));
    assert_eq!(out.valid_times(), &[init + 24 * h, init + 48 * h]);
    assert_eq!(out.levels(), &[500, 850]);
    assert_eq!(out.lat(), l.lat.as_slice());
    assert_eq!(out.lon(), l.lon.as_slice());
    let names: Vec<&str> = out.variables().iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["2m_temperature", "geopotential"]);
    let t2m = out.variable("2m_temperature").unwrap();
    assert_eq!(t2m.units.as_deref(), Some("K"));
    assert!(!t2m.levelled && t2m.timed);
    // Geopotential's units come from the CF table when the layout names none.
    assert_eq!(
        out.variable("geopotential").unwrap().units.as_deref(),
        Some("m2 s-2")
    );
    for v in 0..2 {
        let name = &l.variables[v].name;
        for s in 0..2 {
            let got = out.read(name, s).unwrap();
            let n = field_len(&l, v);
            let want: Vec<f32> = (0..3)
                .flat_map(|m| (0..n).map(move |i| value(v, m, s, i)))
                .collect();
            assert_eq!(got, want, "{name} step {s}");
        }
    }
    let err = out.read("geopotential", 2).unwrap_err().to_string();
    assert!(err.contains("lead time index 2"), "{err}");
    let err = out.read("nope", 0).unwrap_err().to_string();
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn every_format_and_layout_reads_back_the_same_view() {
    let dir = tempfile::tempdir().unwrap();
    for (naming, layout) in [
        (Naming::Reference, OutputLayout::Reference),
        (Naming::WeatherBench2, OutputLayout::WeatherBench2),
    ] {
        let nc = dir.path().join(format!("{naming:?}.nc"));
        write_nc(&nc, self::layout(naming));
        check_view(&ForecastOutput::open(&nc).unwrap(), layout);
        let zarr = dir.path().join(format!("{naming:?}.zarr"));
        write_zarr(&zarr, self::layout(naming));
        check_view(&ForecastOutput::open(&zarr).unwrap(), layout);
    }
}

#[test]
fn input_datasets_read_as_one_member_and_bad_paths_are_named() {
    let ds = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tiny-mha/source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"
    );
    let out = ForecastOutput::open(ds).unwrap();
    assert!(!out.is_ensemble());
    assert_eq!(out.members(), &[0]);
    assert_eq!(out.lead_times().len(), 4);
    assert_eq!(out.valid_times().len(), 4);
    assert_eq!((out.lat().len(), out.lon().len()), (19, 36));
    // Static fields have no lead time.
    assert!(!out.variable("land_sea_mask").unwrap().timed);
    // Same values as the dataset reader.
    let d = gencast::data::Dataset::open(ds).unwrap();
    let want = d.read("temperature", Some(2..3)).unwrap().data;
    assert_eq!(out.read("temperature", 2).unwrap(), want);

    let dir = tempfile::tempdir().unwrap();
    let err = ForecastOutput::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("not a Zarr store"), "{err}");
    let err = ForecastOutput::open(dir.path().join("none.nc"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("none.nc"), "{err}");
}

// ---- metrics against naive f64 computations ----

/// Deterministic pseudo-random values in [0, 1) (a 64-bit LCG).
fn noise(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f64 / (1u64 << 24) as f64) as f32
        })
        .collect()
}

/// Fair CRPS by the pair definition: mean |x − y| − Σ_{i≠j} |x_i − x_j| / (2M(M − 1)).
fn naive_crps(x: &[f64], y: f64) -> f64 {
    let m = x.len() as f64;
    let skill = x.iter().map(|a| (a - y).abs()).sum::<f64>() / m;
    if x.len() < 2 {
        return skill;
    }
    let mut pairs = 0.0;
    for a in x {
        for b in x {
            pairs += (a - b).abs();
        }
    }
    skill - pairs / (2.0 * m * (m - 1.0))
}

#[test]
fn score_maps_match_naive_crps_and_error() {
    let (m, n) = (5, 300);
    let data: Vec<Vec<f32>> = (0..m).map(|k| noise(k as u64, n)).collect();
    let mut truth = noise(99, n);
    truth[7] = f32::NAN;
    let members: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
    let (mut crps, mut err) = (vec![0f32; n], vec![0f32; n]);
    score_maps(&members, &truth, &mut crps, &mut err).unwrap();
    assert!(crps[7].is_nan() && err[7].is_nan());
    for p in (0..n).filter(|&p| p != 7) {
        let x: Vec<f64> = data.iter().map(|d| f64::from(d[p])).collect();
        let y = f64::from(truth[p]);
        let mean = x.iter().sum::<f64>() / m as f64;
        // Both are f64 computations rounded once to f32; the sums run in other orders.
        assert!(
            (f64::from(crps[p]) - naive_crps(&x, y)).abs() <= 1e-6,
            "point {p}"
        );
        assert!(
            (f64::from(err[p]) - (mean - y).abs()).abs() <= 1e-6,
            "point {p}"
        );
    }
    // A perfect one-member ensemble has CRPS 0 and error 0 everywhere.
    score_maps(&[&truth], &truth, &mut crps, &mut err).unwrap();
    assert!((0..n)
        .filter(|&p| p != 7)
        .all(|p| crps[p] == 0.0 && err[p] == 0.0));
}

#[test]
fn rank_histogram_matches_naive_counts_and_shares_ties() {
    let (m, n) = (4, 1000);
    // Values on a coarse lattice so that ties occur.
    let data: Vec<Vec<f32>> = (0..m)
        .map(|k| {
            noise(k as u64 + 10, n)
                .iter()
                .map(|x| (x * 5.0).floor())
                .collect()
        })
        .collect();
    let truth: Vec<f32> = noise(77, n).iter().map(|x| (x * 5.0).floor()).collect();
    let members: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
    let h = rank_histogram(&members, &truth).unwrap();
    assert_eq!(h.len(), m + 1);
    let mut want = vec![0f64; m + 1];
    let mut ties = 0;
    for p in 0..n {
        let below = data.iter().filter(|d| d[p] < truth[p]).count();
        let equal = data.iter().filter(|d| d[p] == truth[p]).count();
        ties += usize::from(equal > 0);
        for bin in &mut want[below..=below + equal] {
            *bin += 1.0 / (equal + 1) as f64;
        }
    }
    assert!(ties > 100, "the lattice makes ties common ({ties})");
    for (a, b) in h.iter().zip(&want) {
        // Sums of the same fractions in other orders.
        assert!((a - b).abs() < 1e-9, "{h:?} vs {want:?}");
    }
    // Counts sum to the number of points.
    assert!((h.iter().sum::<f64>() - n as f64).abs() < 1e-9);
    // A truth above every member lands in the last bin; below every member in the first.
    let high = vec![10.0f32; n];
    assert_eq!(rank_histogram(&members, &high).unwrap()[m], n as f64);
    let low = vec![-1.0f32; n];
    assert_eq!(rank_histogram(&members, &low).unwrap()[0], n as f64);
}

#[test]
fn anomaly_correlation_matches_naive_and_is_one_for_the_truth() {
    let (m, n) = (3, 500);
    let data: Vec<Vec<f32>> = (0..m).map(|k| noise(k as u64 + 20, n)).collect();
    let truth = noise(5, n);
    let clim: Vec<f32> = noise(6, n).iter().map(|x| x * 0.5 + 0.25).collect();
    let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 7) as f64 * 0.1).collect();
    let members: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
    let acc = anomaly_correlation(&members, &truth, &clim, &w).unwrap();
    let (mut fo, mut ff, mut oo) = (0.0, 0.0, 0.0);
    for p in 0..n {
        let mean = data.iter().map(|d| f64::from(d[p])).sum::<f64>() / m as f64;
        let f = mean - f64::from(clim[p]);
        let o = f64::from(truth[p]) - f64::from(clim[p]);
        fo += w[p] * f * o;
        ff += w[p] * f * f;
        oo += w[p] * o * o;
    }
    let want = fo / (ff * oo).sqrt();
    // f64 sums of the same terms in other orders.
    assert!((acc - want).abs() < 1e-12, "{acc} vs {want}");
    assert!(acc.abs() <= 1.0);
    let one = anomaly_correlation(&[&truth], &truth, &clim, &w).unwrap();
    // f·o equals f² and o² exactly; only the square root rounds.
    assert!((one - 1.0).abs() < 1e-15, "{one}");
    let err = anomaly_correlation(&members, &truth, &clim[1..], &w).unwrap_err();
    assert!(err.to_string().contains("climatology"), "{err}");
}

#[test]
fn regional_weights_are_proportional_to_the_global_ones() {
    // 10° grid with poles: the regional weights of any band of rows are the global ones up to a
    // constant factor.
    let lat: Vec<f32> = (0..19).map(|i| -90.0 + 10.0 * i as f32).collect();
    let global = normalized_latitude_weights(&lat).unwrap();
    assert_eq!(region_latitude_weights(&lat).unwrap(), global);
    for (a, b) in [(0usize, 5usize), (3, 9), (14, 19)] {
        let w = region_latitude_weights(&lat[a..b]).unwrap();
        let ratio = w[0] / global[a];
        for (k, x) in w.iter().enumerate() {
            // Ratios of cosines and of the cap formula, computed in f64.
            assert!(
                (x / global[a + k] - ratio).abs() < 1e-12,
                "{a}..{b} row {k}"
            );
        }
    }
    let err = region_latitude_weights(&[95.0, 100.0]).unwrap_err();
    assert!(err.to_string().contains("latitudes"), "{err}");
}
