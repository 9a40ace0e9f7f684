//! TOA incident solar radiation against the reference's `tisr_vectors.npz` (leap day, year end
//! at 23:30, 1979, a solstice) and against the fixture dataset's TISR.

use std::path::PathBuf;

use gencast::checkpoint::NpzArchive;
use gencast::data::netcdf_time::parse_datetime;
use gencast::data::solar_radiation::{
    j2000_days, toa_incident_solar_radiation, total_solar_irradiance, TISR,
};
use gencast::data::Dataset;

fn fixture(file: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/graphcast-tiny"
    ))
    .join(file)
}

/// `max |ours − ref|` and `max |ref|`.
fn max_diff(ours: &[f32], reference: &[f32]) -> (f64, f64) {
    assert_eq!(ours.len(), reference.len());
    ours.iter()
        .zip(reference)
        .fold((0f64, 0f64), |(d, m), (&a, &b)| {
            (
                d.max((f64::from(a) - f64::from(b)).abs()),
                m.max(f64::from(b).abs()),
            )
        })
}

#[test]
fn matches_the_reference_vectors() {
    let z = NpzArchive::open(fixture("tisr_vectors.npz")).unwrap();
    let stamps = z
        .array("timestamps")
        .unwrap()
        .as_strings()
        .unwrap()
        .to_vec();
    let lat = z.array("lat").unwrap().to_f32_vec().unwrap();
    let lon = z.array("lon").unwrap().to_f32_vec().unwrap();
    let tsi = z.array("tsi").unwrap().to_f64_vec().unwrap();
    let days = z.array("j2000_days").unwrap().to_f64_vec().unwrap();
    let n = lat.len() * lon.len();
    for path in ["tisr_jit", "tisr_nojit"] {
        let reference = z.array(path).unwrap().to_f32_vec().unwrap();
        for (k, stamp) in stamps.iter().enumerate() {
            let t = parse_datetime(stamp).unwrap();
            // Both are f64 evaluations of the same formulas; pandas and this crate may round
            // the last bit differently.
            assert!(
                (total_solar_irradiance(t) - tsi[k]).abs() < 1e-9,
                "{stamp} TSI"
            );
            assert!((j2000_days(t) - days[k]).abs() < 1e-9, "{stamp} J2000 days");
            let ours = toa_incident_solar_radiation(t, &lat, &lon);
            let (diff, max) = max_diff(&ours, &reference[k * n..(k + 1) * n]);
            println!(
                "{path} {stamp}: max |diff| {diff:.2} J/m2 of {max:.0} ({:.1e})",
                diff / max
            );
            // The reference's own jit and non-jit paths differ by 1.9e-6 relative (float32 with
            // compiler-chosen fusion and sin/cos in `get_toa_incident_solar_radiation`,
            // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/solar_radiation.py>);
            // a float32 emulation lands within 2e-6. Allow twice that.
            assert!(
                diff <= 4e-6 * max,
                "{path} {stamp}: max |diff| {diff} of {max}"
            );
        }
    }
}

#[test]
fn matches_the_dataset() {
    let ds = Dataset::open(fixture(
        "source-era5_date-2019-03-29_res-10.0_levels-13_steps-03.nc",
    ))
    .unwrap();
    let a = ds.read(TISR, None).unwrap();
    let n = ds.lat().len() * ds.lon().len();
    for (t, &datetime) in ds.datetime().iter().enumerate() {
        let ours = toa_incident_solar_radiation(datetime, ds.lat(), ds.lon());
        let (diff, max) = max_diff(&ours, &a.data[t * n..(t + 1) * n]);
        println!("frame {t}: max |diff| {diff:.2} J/m2 of {max:.0}");
        // A float32 emulation of the reference is within 4.4 J/m2 of this dataset (values to
        // 4.9e6).
        assert!(diff <= 4e-6 * max, "frame {t}: max |diff| {diff} of {max}");
    }
}
