//! Reading the fixture datasets, statistics and reference output files.
//!
//! Expected values marked "netCDF4-C" were read from the same files with the netCDF-C library
//! (python netCDF4 1.7), an implementation independent of the Rust reader under test; f32
//! values are compared exactly, widened to f64 and written with all their decimal digits.

use gencast::data::netcdf_time::days_from_civil;
use gencast::data::{AttrValue, Dataset, StatsSet};
use gencast::time::NS_PER_DAY;

const MHA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-mha");
const TBD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/tiny-triblockdiag"
);
const EXAMPLE: &str = "source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc";
const LEVELS_13: [i32; 13] = [
    50, 100, 150, 200, 250, 300, 400, 500, 600, 700, 850, 925, 1000,
];
const HOUR_NS: i64 = 3_600_000_000_000;

fn example(dir: &str) -> Dataset {
    Dataset::open(format!("{dir}/{EXAMPLE}")).expect("fixture dataset opens")
}

/// Flat index into a row-major array.
fn at(shape: &[usize], idx: &[usize]) -> usize {
    shape.iter().zip(idx).fold(0, |acc, (s, i)| acc * s + i)
}

#[test]
fn example_coordinates() {
    for dir in [MHA, TBD] {
        let ds = example(dir);
        let lat: Vec<f32> = (0..19).map(|i| -90.0 + 10.0 * i as f32).collect();
        let lon: Vec<f32> = (0..36).map(|i| 10.0 * i as f32).collect();
        assert_eq!(ds.lat(), lat.as_slice());
        assert_eq!(ds.lon(), lon.as_slice());
        assert_eq!(ds.level(), LEVELS_13.as_slice());
        assert_eq!(ds.time(), &[0, 12 * HOUR_NS, 24 * HOUR_NS, 36 * HOUR_NS]);
        let t0 = days_from_civil(2019, 3, 29) * NS_PER_DAY;
        assert_eq!(t0, 1_553_817_600 * 1_000_000_000);
        let expected: Vec<i64> = (0..4).map(|i| t0 + 12 * HOUR_NS * i).collect();
        assert_eq!(ds.datetime(), expected.as_slice());
        assert_eq!(ds.num_frames(), 4);
        assert_eq!(ds.dim_size("batch"), Some(1));
        assert_eq!(ds.level_index(500), Some(7));
    }
}

#[test]
fn example_variables() {
    let ds = example(MHA);
    let names: Vec<&str> = ds.variables().iter().map(|v| v.name.as_str()).collect();
    let expected = [
        "geopotential_at_surface",
        "land_sea_mask",
        "2m_temperature",
        "mean_sea_level_pressure",
        "10m_v_component_of_wind",
        "10m_u_component_of_wind",
        "total_precipitation_12hr",
        "temperature",
        "geopotential",
        "u_component_of_wind",
        "v_component_of_wind",
        "vertical_velocity",
        "specific_humidity",
        "sea_surface_temperature",
        "year_progress_sin",
        "year_progress_cos",
        "day_progress_sin",
        "day_progress_cos",
    ];
    assert_eq!(
        names, expected,
        "coordinates (lat, lon, level, time, datetime) are not data variables"
    );
    let t = ds.variable("temperature").unwrap();
    assert_eq!(t.dims, ["batch", "time", "level", "lat", "lon"]);
    assert_eq!(t.shape, [1, 4, 13, 19, 36]);
    assert_eq!(ds.variable("land_sea_mask").unwrap().shape, [19, 36]);
    assert_eq!(
        ds.variable("day_progress_sin").unwrap().dims,
        ["batch", "time", "lon"]
    );
    // The fixture files carry no `units` attributes on data variables.
    assert!(ds.variables().iter().all(|v| v.units.is_none()));
    // ... but the time coordinates do.
    assert_eq!(
        ds.attribute(Some("time"), "units"),
        Some(AttrValue::Text("hours".into()))
    );
    assert_eq!(
        ds.attribute(Some("datetime"), "units")
            .and_then(|a| a.as_str().map(str::to_string)),
        Some("hours since 2019-03-29 00:00:00".to_string())
    );
    assert_eq!(
        ds.attribute(Some("temperature"), "coordinates")
            .unwrap()
            .as_str(),
        Some("datetime")
    );
    assert!(ds
        .attribute(Some("temperature"), "_FillValue")
        .unwrap()
        .as_f64()
        .unwrap()
        .is_nan());
    assert_eq!(ds.attribute(None, "no_such_attribute"), None);
    ds.require(&["temperature", "land_sea_mask"]).unwrap();
}

#[test]
fn example_values() {
    let ds = example(MHA);
    let t = ds.read("temperature", None).unwrap();
    assert_eq!(t.dims, ["time", "level", "lat", "lon"]);
    assert_eq!(t.shape, [4, 13, 19, 36]);
    // netCDF4-C: temperature[0, 1, 7, 9, 0] and [0, 3, 12, 18, 35].
    assert_eq!(
        f64::from(t.data[at(&t.shape, &[1, 7, 9, 0])]),
        261.459_625_244_140_6
    );
    assert_eq!(
        f64::from(t.data[at(&t.shape, &[3, 12, 18, 35])]),
        254.650_665_283_203_12
    );
    assert!(t.data.iter().all(|&x| (200.0..320.0).contains(&x)));

    // A frame range reads only those frames, identical to the same frames of the full read.
    let t12 = ds.read("temperature", Some(1..3)).unwrap();
    assert_eq!(t12.shape, [2, 13, 19, 36]);
    let frame = 13 * 19 * 36;
    assert_eq!(t12.data, t.data[frame..3 * frame]);

    let msl = ds.read("mean_sea_level_pressure", Some(2..3)).unwrap();
    assert_eq!(msl.shape, [1, 19, 36]);
    // netCDF4-C: mean_sea_level_pressure[0, 2, 5, 7].
    assert_eq!(f64::from(msl.data[5 * 36 + 7]), 99_009.945_312_5);
    assert!(msl.data.iter().all(|&x| (9.0e4..1.1e5).contains(&x)));

    let z = ds.read("geopotential", Some(0..1)).unwrap();
    assert_eq!(f64::from(z.data[at(&z.shape, &[0, 7, 9, 0])]), 56_182.062_5); // netCDF4-C

    let tp = ds.read("total_precipitation_12hr", None).unwrap();
    assert!(tp.data.iter().all(|&x| x >= 0.0));

    // Static variables have no time dim: the frame range does not apply.
    let lsm = ds.read("land_sea_mask", Some(1..2)).unwrap();
    assert_eq!(lsm.dims, ["lat", "lon"]);
    assert_eq!(lsm.shape, [19, 36]);
    assert!(lsm.data.iter().all(|&x| (0.0..=1.0).contains(&x)));

    let ysin = ds.read("year_progress_sin", None).unwrap();
    assert_eq!(ysin.dims, ["time"]);
    assert_eq!(ysin.shape, [4]);

    // read_all keeps every dim, including batch.
    let all = ds.read_all("temperature").unwrap();
    assert_eq!(all.shape, [1, 4, 13, 19, 36]);
    assert_eq!(all.data, t.data);
}

#[test]
fn sst_is_nan_exactly_over_land() {
    // netCDF4-C counts of NaN SST cells over the 4 frames: 1204 (tiny-mha), 1048 (tiny-triblockdiag).
    for (dir, nan_count) in [(MHA, 1204), (TBD, 1048)] {
        let ds = example(dir);
        let lsm = ds.read("land_sea_mask", None).unwrap();
        let sst = ds.read("sea_surface_temperature", None).unwrap();
        assert_eq!(sst.shape, [4, 19, 36]);
        let n = 19 * 36;
        for (i, &x) in sst.data.iter().enumerate() {
            let land = lsm.data[i % n] >= 0.5;
            assert_eq!(x.is_nan(), land, "{dir}: frame {} cell {}", i / n, i % n);
            if !land {
                assert!((260.0..320.0).contains(&x), "ocean SST {x}");
            }
        }
        assert_eq!(sst.data.iter().filter(|x| x.is_nan()).count(), nan_count);
    }
}

#[test]
fn statistics_select_levels_by_value() {
    let stats = StatsSet::open_dir(MHA).unwrap();
    let mean = &stats.mean_by_level;
    assert_eq!(mean.levels().len(), 37);
    assert_eq!(&mean.levels()[..3], &[1, 2, 3]);
    // netCDF4-C values (float64, compared exactly).
    assert_eq!(
        mean.get("2m_temperature", &LEVELS_13).unwrap(),
        vec![274.813_031_274_672_8]
    );
    let t = mean.get("temperature", &LEVELS_13).unwrap();
    assert_eq!(t.len(), 13);
    assert_eq!(t[0], 222.025_093_700_453_54); // level 50
    assert_eq!(t[7], 243.442_820_465_355_6); // level 500
    let q = stats
        .stddev_by_level
        .get("specific_humidity", &[1000, 500])
        .unwrap();
    assert_eq!(q[0], 0.007_278_530_588_931_856_5);
    assert_eq!(
        stats
            .diffs_stddev_by_level
            .get("temperature", &[50])
            .unwrap(),
        vec![1.173_217_266_832_326_6]
    );
    assert_eq!(
        stats
            .min_by_level
            .scalar("sea_surface_temperature")
            .unwrap(),
        271.459_991_455_078_1
    );
    assert_eq!(
        stats
            .stddev_by_level
            .get("sea_surface_temperature", &[])
            .unwrap(),
        vec![10.675_457_558_666_134]
    );
    assert_eq!(mean.is_levelled("geopotential"), Some(true));
    assert_eq!(mean.is_levelled("land_sea_mask"), Some(false));
    assert!(mean.contains("year_progress_sin"));

    // Static variables have no difference statistics.
    assert!(!stats.diffs_stddev_by_level.contains("land_sea_mask"));
    let err = stats
        .diffs_stddev_by_level
        .get("geopotential_at_surface", &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("geopotential_at_surface") && err.contains("diffs_stddev_by_level.nc"),
        "{err}"
    );

    let tbd = StatsSet::open_dir(TBD).unwrap();
    assert_eq!(
        tbd.mean_by_level.get("temperature", &[500]).unwrap(),
        vec![242.297_446_602_269_22]
    );
}

#[test]
fn forecast_output_file() {
    let ds = Dataset::open(format!("{MHA}/forecast_1step_2members.nc")).unwrap();
    assert_eq!(ds.read_i64("sample").unwrap(), vec![0, 1]);
    assert_eq!(ds.time(), &[12 * HOUR_NS]);
    assert!(ds.datetime().is_empty());
    let t = ds.read_all("temperature").unwrap();
    assert_eq!(t.dims, ["sample", "batch", "time", "level", "lat", "lon"]);
    assert_eq!(t.shape, [2, 1, 1, 13, 19, 36]);
    assert_eq!(
        f64::from(t.data[at(&t.shape, &[1, 0, 0, 7, 9, 0])]),
        261.195_526_123_046_9
    ); // netCDF4-C
    let t2m = ds.variable("2m_temperature").unwrap();
    assert_eq!(t2m.dims, ["sample", "batch", "time", "lat", "lon"]);
    // SST keeps its land NaNs in the forecast.
    let sst = ds.read_all("sea_surface_temperature").unwrap();
    assert!(sst.data.iter().any(|x| x.is_nan()));
    assert!(
        !ds.has("sample"),
        "dimension coordinates are not data variables"
    );
}

#[test]
fn sampler_noise_file() {
    let ds = Dataset::open(format!("{MHA}/sampler_noise_member0_step0.nc")).unwrap();
    assert_eq!(ds.dim_size("draw"), Some(7));
    assert!(ds.time().is_empty(), "no time coordinate in this file");
    assert_eq!(
        ds.read_i64("draw_iteration").unwrap(),
        vec![0, 0, 1, 2, 3, 4, 5]
    );
    let kinds = ds.read_strings("draw_kind").unwrap();
    assert_eq!(
        kinds,
        ["init", "churn", "churn", "churn", "churn", "churn", "churn"]
    );
    assert!(
        !ds.has("draw_kind") && !ds.has("draw_iteration"),
        "non-dimension coordinates"
    );
    let x = ds.read_all("2m_temperature").unwrap();
    assert_eq!(x.shape, [7, 1, 1, 19, 36]);
    assert_eq!(
        f64::from(x.data[at(&x.shape, &[3, 0, 0, 4, 5])]),
        1.359_518_766_403_198_2
    ); // netCDF4-C
    assert_eq!(
        ds.read_all("temperature").unwrap().shape,
        [7, 1, 1, 13, 19, 36]
    );
}

#[test]
fn denoiser_files() {
    let nt = Dataset::open(format!("{MHA}/denoiser_call0_noisy_targets.nc")).unwrap();
    assert_eq!(
        nt.attribute(None, "noise_level").and_then(|a| a.as_f64()),
        Some(8.0)
    );
    let x = nt.read("2m_temperature", None).unwrap();
    assert_eq!(x.shape, [1, 19, 36]);
    assert_eq!(f64::from(x.data[4 * 36 + 5]), 3.923_751_354_217_529_3); // netCDF4-C
    let nt1 = Dataset::open(format!("{MHA}/denoiser_call1_noisy_targets.nc")).unwrap();
    assert_eq!(
        nt1.attribute(None, "noise_level").and_then(|a| a.as_f64()),
        Some(0.5)
    );

    let ni = Dataset::open(format!("{MHA}/denoiser_norm_inputs.nc")).unwrap();
    assert_eq!(ni.time(), &[-12 * HOUR_NS, 0]);
    let t = ni.read("temperature", None).unwrap();
    assert_eq!(t.shape, [2, 13, 19, 36]);
    assert_eq!(
        f64::from(t.data[at(&t.shape, &[1, 3, 4, 5])]),
        -0.388_368_308_544_158_94
    ); // netCDF4-C
    let sst = ni.read("sea_surface_temperature", None).unwrap();
    assert!(
        sst.data.iter().all(|x| x.is_finite()),
        "NaNs were filled before normalisation"
    );

    // The forcings file has no lat: it only opens leniently.
    let path = format!("{MHA}/denoiser_norm_forcings.nc");
    let err = Dataset::open(&path).unwrap_err().to_string();
    assert!(
        err.contains("lat") && err.contains("denoiser_norm_forcings.nc"),
        "{err}"
    );
    let f = Dataset::open_lenient(&path).unwrap();
    assert!(f.lat().is_empty());
    assert_eq!(f.lon().len(), 36);
    assert_eq!(f.read("day_progress_cos", None).unwrap().shape, [1, 36]);
    assert_eq!(f.read("year_progress_sin", None).unwrap().shape, [1]);
}

#[test]
fn readers_are_thread_safe() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Dataset>();
    send_sync::<StatsSet>();
}
