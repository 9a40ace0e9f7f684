//! Tests of the GRIB2 encoder and the resumable file, decoding with `grib-reader` (an
//! independent decoder) and walking the sections byte by byte.

use grib_reader::{GribFile, ProductDefinitionTemplate as T};
use serde_json::json;

use super::message::{Encoder, FieldId, Grid, Product};
use super::params::{lookup, Param};
use super::GribWriter;
use crate::forecast::Field;
use crate::forecast::{ForecastLayout, WriteMode};
use crate::output::forecast_nc::tests::small_layout;
use crate::output::forecast_nc::{progress_name, tmp_name};

const LAT: [f32; 3] = [-90.0, 0.0, 90.0];
const LON: [f32; 4] = [0.0, 90.0, 180.0, 270.0];

/// Twelve values of every sign and magnitude, NaN at `nan` positions.
fn values(seed: u32, nan: &[usize]) -> Vec<f32> {
    (0..12u32)
        .map(|i| {
            if nan.contains(&(i as usize)) {
                return f32::NAN;
            }
            // A scrambled bit pattern: mantissas of all kinds, exponents from 2^-20 to 2^11.
            let h = (i.wrapping_mul(2_654_435_761) ^ seed.wrapping_mul(40_503)).rotate_left(7);
            let m = 1.0 + (h & 0x7F_FFFF) as f32 / 8_388_608.0;
            let e = ((h >> 23) % 32) as i32 - 20;
            let s = if h & 0x8000_0000 != 0 { -1.0 } else { 1.0 };
            s * m * 2f32.powi(e)
        })
        .collect()
}

fn encoder(product: Product) -> Encoder {
    Encoder::new(
        Grid::regular(&LAT, &LON).unwrap(),
        "2019-03-30T06:00:00",
        product,
    )
    .unwrap()
}

fn id(param: &Param, level_hpa: Option<i32>, lead_hours: i32) -> FieldId<'_> {
    FieldId {
        param,
        level_hpa,
        lead_hours,
        number: 7,
    }
}

/// The (number, length) of each section after section 0, checking section 8 and the total.
fn sections(msg: &[u8]) -> Vec<(u8, usize)> {
    assert_eq!(&msg[..4], b"GRIB");
    assert_eq!(msg[7], 2, "edition");
    let total = u64::from_be_bytes(msg[8..16].try_into().unwrap()) as usize;
    assert_eq!(total, msg.len());
    let mut at = 16;
    let mut out = Vec::new();
    while &msg[at..at + 4] != b"7777" {
        let len = u32::from_be_bytes(msg[at..at + 4].try_into().unwrap()) as usize;
        out.push((msg[at + 4], len));
        at += len;
    }
    assert_eq!(at + 4, total);
    out
}

#[test]
fn sections_have_their_template_lengths() {
    let t2m = lookup("2m_temperature").unwrap();
    let tp = lookup("total_precipitation_12hr").unwrap();
    let full = values(1, &[]);
    let holes = values(2, &[0, 5, 11]);
    // (product, param, values, product section length, bytes per value)
    let cases = [
        (Product::Deterministic, &t2m, &full, 34, 4),
        (Product::Ensemble { size: 8 }, &t2m, &holes, 37, 4),
        (Product::Deterministic, &tp, &holes, 58, 8),
        (Product::Ensemble { size: 8 }, &tp, &full, 61, 8),
    ];
    for (product, p, v, len4, bytes) in cases {
        let msg = encoder(product).message(id(p, None, 24), v).unwrap();
        let present = v.iter().filter(|x| !x.is_nan()).count();
        // A bitmap of 12 points takes 2 octets; without missing values there is none.
        let len6 = if present == v.len() { 6 } else { 6 + 2 };
        assert_eq!(
            sections(&msg),
            [
                (1, 21),
                (3, 72),
                (4, len4),
                (5, 12),
                (6, len6),
                (7, 5 + bytes * present)
            ],
            "{product:?} {}",
            p.name
        );
        assert_eq!(msg[6], p.discipline);
    }
}

#[test]
fn values_decode_exactly_with_missing_points() {
    let t = lookup("temperature").unwrap();
    let tp = lookup("total_precipitation_6hr").unwrap();
    let e = encoder(Product::Ensemble { size: 8 });
    for seed in 0..200 {
        let nan: &[usize] = if seed % 3 == 0 { &[] } else { &[1, 8, 9] };
        let v = values(seed, nan);
        for p in [&t, &tp] {
            let msg = e.message(id(p, Some(850), 6), &v).unwrap();
            // Lossless: every value comes back with the same bits, NaN where it was NaN.
            let back = super::message::decode(&msg, p).unwrap();
            let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            let known: Vec<f32> = v
                .iter()
                .map(|x| if x.is_nan() { 0.0 } else { *x })
                .collect();
            let got: Vec<f32> = back
                .iter()
                .map(|x| if x.is_nan() { 0.0 } else { *x })
                .collect();
            assert_eq!(bits(&got), bits(&known), "{} seed {seed}", p.name);
            let missing: Vec<bool> = back.iter().map(|x| x.is_nan()).collect();
            assert_eq!(missing, v.iter().map(|x| x.is_nan()).collect::<Vec<_>>());
            // The stored precipitation is in kg m-2: the float32 metres times 1000, in f64.
            let raw = GribFile::from_bytes(msg.clone())
                .unwrap()
                .message(0)
                .unwrap()
                .read_flat_data_as_f64()
                .unwrap();
            for (r, x) in raw.iter().zip(&v).filter(|(_, x)| !x.is_nan()) {
                assert_eq!(*r, f64::from(*x) * p.units_factor);
            }
        }
    }
}

#[test]
fn grid_time_level_and_member_read_back_with_grib_reader() {
    let z = lookup("geopotential").unwrap();
    let tp = lookup("total_precipitation_12hr").unwrap();
    let u10 = lookup("10m_u_component_of_wind").unwrap();
    let e = encoder(Product::Ensemble { size: 8 });
    let v = values(3, &[]);

    let f = GribFile::from_bytes(e.message(id(&z, Some(500), 36), &v).unwrap()).unwrap();
    let m = f.message(0).unwrap();
    assert_eq!(m.grid_shape(), (4, 3), "(Ni, Nj)");
    assert_eq!(m.latitudes().unwrap().unwrap(), [-90.0, 0.0, 90.0]);
    assert_eq!(m.longitudes().unwrap().unwrap(), [0.0, 90.0, 180.0, 270.0]);
    let r = m.reference_time();
    assert_eq!((r.year, r.month, r.day, r.hour), (2019, 3, 30, 6));
    assert_eq!(
        (m.forecast_time(), m.forecast_time_unit()),
        (Some(36), Some(1))
    );
    let pd = m.product_definition().unwrap();
    assert_eq!((pd.parameter_category, pd.parameter_number), (3, 4));
    let T::IndividualEnsembleForecast(ens) = &pd.template else {
        panic!("{:?}", pd.template)
    };
    assert_eq!(
        (ens.perturbation_number, ens.number_of_forecasts_in_ensemble),
        (7, 8)
    );
    let level = ens.base.first_surface.clone().unwrap();
    assert_eq!(
        (level.surface_type, level.scaled_value_f64()),
        (100, Some(50_000.0))
    );

    // An accumulation: the period starts 12 h before the lead and ends at the valid time.
    let f = GribFile::from_bytes(e.message(id(&tp, None, 36), &v).unwrap()).unwrap();
    let m = f.message(0).unwrap();
    assert_eq!(m.forecast_time(), Some(24));
    let v_t = m.valid_time().unwrap();
    assert_eq!((v_t.day, v_t.hour), (31, 18));
    let T::EnsembleStatisticalProcess(acc) = &m.product_definition().unwrap().template else {
        panic!()
    };
    let range = &acc.interval.time_ranges[0];
    assert_eq!(
        (
            range.type_of_statistical_processing,
            range.time_range_unit,
            range.time_range_length
        ),
        (1, 1, 12)
    );

    // A deterministic 10 m field.
    let d = encoder(Product::Deterministic);
    let f = GribFile::from_bytes(d.message(id(&u10, None, 6), &v).unwrap()).unwrap();
    let pd = f.message(0).unwrap().product_definition().unwrap().clone();
    let T::AnalysisOrForecast(base) = &pd.template else {
        panic!()
    };
    let s = base.first_surface.clone().unwrap();
    assert_eq!((s.surface_type, s.scaled_value_f64()), (103, Some(10.0)));
}

#[test]
fn grids_are_encoded_south_to_north_and_irregular_ones_refused() {
    let g = Grid::regular(&[-10.0, -7.5, -5.0], &[350.0, 355.0, 0.0, 5.0]).unwrap();
    // A region across the prime meridian: first longitude 350°, last 5°.
    assert_eq!(
        (g.la1, g.la2, g.lo1, g.lo2, g.di, g.dj),
        (
            -10_000_000,
            -5_000_000,
            350_000_000,
            5_000_000,
            Some(5_000_000),
            Some(2_500_000)
        )
    );
    let e = Encoder::new(g, "2019-03-30T00:00:00", Product::Deterministic).unwrap();
    let msg = e
        .message(id(&lookup("2m_temperature").unwrap(), None, 6), &[0.0; 12])
        .unwrap();
    // Section 3 starts after sections 0 (16 octets) and 1 (21): La1 at its octets 47-50 is
    // negative, a sign bit then the magnitude; the scanning mode (octet 72) is +j.
    let s3 = &msg[37..37 + 72];
    assert_eq!(&s3[46..50], &(0x8000_0000u32 | 10_000_000).to_be_bytes());
    assert_eq!((s3[54], s3[71]), (0x30, 0x40));
    let m = GribFile::from_bytes(msg).unwrap();
    assert_eq!(
        m.message(0).unwrap().latitudes().unwrap().unwrap(),
        [-10.0, -7.5, -5.0]
    );

    for (lat, lon, needle) in [
        (&[0.0, 1.0, 3.0][..], &[0.0, 1.0][..], "latitudes"),
        (&[3.0, 2.0, 1.0][..], &[0.0, 1.0][..], "latitudes"),
        (&[0.0, 1.0][..], &[0.0, 1.0, 1.5][..], "longitudes"),
    ] {
        let err = Grid::regular(lat, lon).unwrap_err().to_string();
        assert!(
            err.contains(needle) && err.contains("evenly spaced"),
            "{err}"
        );
    }
    let err = Encoder::new(
        Grid::regular(&LAT, &LON).unwrap(),
        "2019-03-30T00:00:00.5",
        Product::Deterministic,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("whole second"), "{err}");
}

const FRESH: WriteMode = WriteMode {
    resume: false,
    overwrite: false,
};
const RESUME: WriteMode = WriteMode {
    resume: true,
    overwrite: false,
};

/// The fields of (member, step) of [`small_layout`]: 2m_temperature, then geopotential on two
/// levels, with a missing value.
fn step_fields(m: usize, s: usize) -> Vec<Field> {
    let base = (100 * m + 10 * s) as f32;
    let mut t: Vec<f32> = (0..12).map(|i| 280.0 + base + i as f32 * 0.125).collect();
    t[3] = f32::NAN;
    vec![
        Field {
            name: "2m_temperature".into(),
            levels: vec![],
            data: t,
        },
        Field {
            name: "geopotential".into(),
            levels: vec![500, 850],
            data: (0..24).map(|i| 5000.0 * base + i as f32 / 3.0).collect(),
        },
    ]
}

fn write(w: &mut GribWriter, m: usize, s: usize) {
    w.write_step(m, s, &step_fields(m, s)).unwrap();
}

fn open(path: &std::path::Path, layout: ForecastLayout, mode: WriteMode) -> GribWriter {
    GribWriter::open_resumable(path, layout, &json!({"seed": 1}), mode, true).unwrap()
}

#[test]
fn a_resumed_file_equals_one_written_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.grib2");
    let mut w = open(&whole, small_layout(), FRESH);
    for (m, s) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        write(&mut w, m, s);
    }
    w.finish().unwrap();
    assert!(!tmp_name(&whole).exists() && !progress_name(&whole).exists());
    let bytes = std::fs::read(&whole).unwrap();
    // One message per member, step, variable and level: 2 × 2 × (1 + 2).
    assert_eq!(
        GribFile::from_bytes(bytes.clone()).unwrap().message_count(),
        12
    );

    let part = dir.path().join("part.grib2");
    let mut w = open(&part, small_layout(), RESUME);
    assert_eq!(w.resumed(), None);
    write(&mut w, 0, 0);
    write(&mut w, 0, 1);
    drop(w);
    // A step in flight when the run was killed: half a message after the recorded ones.
    let tmp = tmp_name(&part);
    let mut f = std::fs::OpenOptions::new().append(true).open(&tmp).unwrap();
    std::io::Write::write_all(&mut f, &bytes[..100]).unwrap();
    drop(f);
    assert!(!part.exists() && progress_name(&part).is_file());

    let mut w = open(&part, small_layout(), RESUME);
    assert_eq!(w.resumed(), Some(2));
    assert!(w.step_complete(0, 1) && !w.step_complete(1, 0));
    // Replayed steps come back with their bits (NaN where missing).
    let back = w.read_step(0, 1).unwrap();
    for (b, f) in back.iter().zip(step_fields(0, 1)) {
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(b), bits(&f.data));
    }
    // Steps go in order: one already written is refused.
    let err = w
        .write_step(0, 1, &step_fields(0, 1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("in order"), "{err}");
    write(&mut w, 1, 0);
    write(&mut w, 1, 1);
    w.finish().unwrap();
    assert_eq!(std::fs::read(&part).unwrap(), bytes);
}

#[test]
fn resumes_that_do_not_match_are_refused_and_keep_the_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.grib2");
    let mut w = open(&path, small_layout(), FRESH);
    write(&mut w, 0, 0);
    // A second writer of the same output is refused while the first holds the lock.
    let err = GribWriter::open_resumable(&path, small_layout(), &json!({}), RESUME, true)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("another process is writing"), "{err}");
    drop(w);
    let (tmp, record) = (tmp_name(&path), progress_name(&path));
    let before = (
        std::fs::read(&tmp).unwrap(),
        std::fs::read(&record).unwrap(),
    );
    let unchanged = || {
        assert_eq!(
            (
                std::fs::read(&tmp).unwrap(),
                std::fs::read(&record).unwrap()
            ),
            before
        )
    };

    let err = GribWriter::open_resumable(&path, small_layout(), &json!({"seed": 2}), RESUME, true)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("`seed`") && err.contains("WriteMode::overwrite"),
        "{err}"
    );
    unchanged();
    let err = GribWriter::open_resumable(&path, small_layout(), &json!({"seed": 1}), FRESH, true)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("interrupted run"), "{err}");
    unchanged();

    // A partial file cut inside a recorded message is refused, not silently shortened.
    let cut = std::fs::OpenOptions::new().write(true).open(&tmp).unwrap();
    cut.set_len(before.0.len() as u64 - 10).unwrap();
    drop(cut);
    let err = GribWriter::open_resumable(&path, small_layout(), &json!({"seed": 1}), RESUME, true)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("WriteMode::overwrite") && err.contains("byte"),
        "{err}"
    );
    assert!(tmp.is_file() && record.is_file());
}

#[test]
fn what_grib2_cannot_hold_is_refused_by_name_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.grib2");
    let mut summary = small_layout();
    summary.variables[0].name = "mean__2m_temperature".into();
    summary.variables[0].statistic = Some("mean".into());
    let mut unknown = small_layout();
    unknown.variables[0].name = "land_sea_mask".into();
    let mut many = small_layout();
    many.members = vec![3, 254];
    for (layout, needle) in [
        (summary, "mean__2m_temperature"),
        (unknown, "`land_sea_mask`"),
        (many, "member 254"),
    ] {
        let err = GribWriter::open_resumable(&path, layout, &json!({}), FRESH, true)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains(needle), "{needle}: {err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
