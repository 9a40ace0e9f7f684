//! Shared helpers of the CLI tests: running `gencast`, comparing forecast files, and writing
//! modified copies of the fixture dataset.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gencast::data::netcdf_time::format_datetime;
use gencast::data::Dataset;
use gencast::forecast::AttrValue;
use gencast::output::netcdf::{NcHeader, NcType, NcWriter};

/// Folder of a fixture set (`tiny-mha`, `tiny-triblockdiag`).
pub(crate) fn fixture(set: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../gencast/tests/fixtures")
        .join(set)
}

/// The example dataset of a fixture set.
pub(crate) fn fixture_dataset(set: &str) -> PathBuf {
    fixture(set).join("source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc")
}

/// Runs `gencast` with `args`.
pub(crate) fn gencast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gencast"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("running gencast")
}

/// Runs `gencast` with `args` as given (no log filter): (success, stdout, stderr).
pub(crate) fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gencast"))
        .args(args)
        .output()
        .expect("running gencast");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Runs `gencast` with `args`, asserts success and parses stdout as JSON.
pub(crate) fn json(args: &[&str]) -> serde_json::Value {
    let (ok, stdout, stderr) = run(args);
    assert!(ok, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// Runs `gencast forecast` on fixture set `set` writing `out`, with extra arguments.
pub(crate) fn forecast(set: &str, out: &Path, extra: &[&str]) -> Output {
    forecast_on(set, &fixture_dataset(set), out, extra)
}

/// Runs `gencast forecast` with fixture set `set`'s model and stats on `dataset`.
pub(crate) fn forecast_on(set: &str, dataset: &Path, out: &Path, extra: &[&str]) -> Output {
    run_forecast(
        set,
        &fixture(set).join("checkpoint.npz"),
        dataset,
        out,
        extra,
    )
}

/// Runs `gencast forecast` with `ckpt` and fixture set `set`'s dataset and stats.
pub(crate) fn forecast_with_checkpoint(
    set: &str,
    ckpt: &Path,
    out: &Path,
    extra: &[&str],
) -> Output {
    run_forecast(set, ckpt, &fixture_dataset(set), out, extra)
}

/// Runs `gencast forecast` with `ckpt`, `dataset` and fixture set `set`'s statistics.
pub(crate) fn run_forecast(
    set: &str,
    ckpt: &Path,
    dataset: &Path,
    out: &Path,
    extra: &[&str],
) -> Output {
    let dir = fixture(set);
    let mut args = vec![
        "forecast",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--dataset",
        dataset.to_str().unwrap(),
        "--stats",
        dir.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    gencast(&args)
}

/// Asserts a command succeeded, showing its stderr otherwise.
pub(crate) fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "gencast failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Per-variable comparison of two forecast files: (relative RMS, max abs error, same NaNs).
/// Relative RMS is the RMS of the difference over the reference's standard deviation, over
/// points where the reference is not NaN.
pub(crate) fn compare(ours: &Path, reference: &Path) -> Vec<(String, f64, f64, bool)> {
    let a = Dataset::open_lenient(ours).unwrap();
    let b = Dataset::open_lenient(reference).unwrap();
    let mut rows = Vec::new();
    for v in b.variables() {
        let x = a.read_all(&v.name).unwrap();
        let y = b.read_all(&v.name).unwrap();
        assert_eq!(x.shape, y.shape, "{}: shape", v.name);
        let same_nans = x
            .data
            .iter()
            .zip(&y.data)
            .all(|(p, q)| p.is_nan() == q.is_nan());
        let pairs: Vec<(f64, f64)> = x
            .data
            .iter()
            .zip(&y.data)
            .filter(|(_, q)| !q.is_nan())
            .map(|(&p, &q)| (p as f64, q as f64))
            .collect();
        let n = pairs.len() as f64;
        let mean = pairs.iter().map(|p| p.1).sum::<f64>() / n;
        let var = pairs.iter().map(|p| (p.1 - mean).powi(2)).sum::<f64>() / n;
        let mse = pairs.iter().map(|p| (p.0 - p.1).powi(2)).sum::<f64>() / n;
        let max_abs = pairs.iter().map(|p| (p.0 - p.1).abs()).fold(0.0, f64::max);
        rows.push((
            v.name.clone(),
            (mse / var.max(1e-300)).sqrt(),
            max_abs,
            same_nans,
        ));
    }
    rows
}

/// How to alter a copy of a dataset.
#[derive(Default)]
pub(crate) struct Edit<'a> {
    /// Variables left out.
    pub drop: &'a [&'a str],
    /// Keep only these time frames.
    pub frames: Option<std::ops::Range<usize>>,
    /// Keep only the first n levels.
    pub levels: Option<usize>,
    /// Reverse the latitudes (and the data along them).
    pub flip_lat: bool,
    /// Set one value of a variable (flat index into its full array) to this.
    pub poke: Option<(&'a str, usize, f32)>,
    /// Replace every NaN of a variable with this value (e.g. SST over land).
    pub fill_nan: Option<(&'a str, f32)>,
    /// Multiply every value of a variable by this factor (e.g. 1/g: geopotential in metres).
    pub scale: Option<(&'a str, f32)>,
    /// Leave out the `datetime` coordinate.
    pub no_datetime: bool,
    /// Give a variable this `units` attribute.
    pub units: Option<(&'a str, &'a str)>,
}

/// Writes a copy of `src` to `dst` (classic NetCDF) with the edits applied.
pub(crate) fn write_edited(src: &Path, dst: &Path, edit: &Edit) {
    let ds = Dataset::open(src).unwrap();
    let frames = edit.frames.clone().unwrap_or(0..ds.num_frames());
    let n_levels = edit.levels.unwrap_or(ds.level().len());
    let mut h = NcHeader::default();
    let mut dim_ids = std::collections::HashMap::new();
    for (name, len) in ds.dims() {
        let len = match name.as_str() {
            "time" => frames.len(),
            "level" => n_levels,
            _ => *len,
        };
        dim_ids.insert(name.clone(), h.add_dim(name, len));
    }
    let text = |s: &str| AttrValue::Text(s.to_string());
    let t0 = ds.datetime()[frames.start];
    let since = format!("hours since {}", format_datetime(t0));
    h.add_var("lat", &[dim_ids["lat"]], NcType::Float, vec![]);
    h.add_var("lon", &[dim_ids["lon"]], NcType::Float, vec![]);
    h.add_var("level", &[dim_ids["level"]], NcType::Int, vec![]);
    h.add_var(
        "time",
        &[dim_ids["time"]],
        NcType::Double,
        vec![("units".into(), text("hours"))],
    );
    if !edit.no_datetime {
        h.add_var(
            "datetime",
            &[dim_ids["batch"], dim_ids["time"]],
            NcType::Double,
            vec![
                ("units".into(), text(&since)),
                ("calendar".into(), text("proleptic_gregorian")),
            ],
        );
    }
    let first_var = if edit.no_datetime { 4 } else { 5 };
    let mut kept = Vec::new();
    for v in ds.variables() {
        if edit.drop.contains(&v.name.as_str()) {
            continue;
        }
        let dims: Vec<usize> = v.dims.iter().map(|d| dim_ids[d]).collect();
        let attrs = match edit.units {
            Some((name, units)) if name == v.name => vec![("units".into(), text(units))],
            _ => vec![],
        };
        h.add_var(&v.name, &dims, NcType::Float, attrs);
        kept.push(v.clone());
    }
    let mut w = NcWriter::create(dst, h).unwrap();
    let mut lat = ds.lat().to_vec();
    if edit.flip_lat {
        lat.reverse();
    }
    w.write_f32(0, 0, &lat).unwrap();
    w.write_f32(1, 0, ds.lon()).unwrap();
    w.write_i32(2, 0, &ds.level()[..n_levels]).unwrap();
    let hours: Vec<f64> = frames
        .clone()
        .map(|t| (ds.time()[t] - ds.time()[frames.start]) as f64 / 3.6e12)
        .collect();
    w.write_f64(3, 0, &hours).unwrap();
    let valid: Vec<f64> = frames
        .clone()
        .map(|t| (ds.datetime()[t] - t0) as f64 / 3.6e12)
        .collect();
    if !edit.no_datetime {
        w.write_f64(4, 0, &valid).unwrap();
    }
    for (i, v) in kept.iter().enumerate() {
        let a = ds.read_all(&v.name).unwrap();
        let mut data = subset(&a.data, &v.dims, &v.shape, &frames, n_levels, edit.flip_lat);
        if let Some((name, idx, value)) = edit.poke {
            if name == v.name {
                data[idx] = value;
            }
        }
        if let Some((name, value)) = edit.fill_nan {
            if name == v.name {
                data.iter_mut()
                    .filter(|x| x.is_nan())
                    .for_each(|x| *x = value);
            }
        }
        if let Some((name, factor)) = edit.scale {
            if name == v.name {
                data.iter_mut().for_each(|x| *x *= factor);
            }
        }
        w.write_f32(first_var + i, 0, &data).unwrap();
    }
    w.finish().unwrap();
}

/// Selects time frames and the first levels of a row-major array, optionally flipping `lat`.
fn subset(
    data: &[f32],
    dims: &[String],
    shape: &[usize],
    frames: &std::ops::Range<usize>,
    n_levels: usize,
    flip_lat: bool,
) -> Vec<f32> {
    let total: usize = shape.iter().product();
    let mut out = Vec::new();
    let mut idx = vec![0usize; shape.len()];
    for flat in 0..total {
        let mut rem = flat;
        for k in (0..shape.len()).rev() {
            idx[k] = rem % shape[k];
            rem /= shape[k];
        }
        let keep = dims.iter().zip(&idx).all(|(d, &i)| match d.as_str() {
            "time" => frames.contains(&i),
            "level" => i < n_levels,
            _ => true,
        });
        if !keep {
            continue;
        }
        if let Some(k) = dims.iter().position(|d| d == "lat").filter(|_| flip_lat) {
            let mut j = idx.clone();
            j[k] = shape[k] - 1 - idx[k];
            let src = j.iter().zip(shape).fold(0, |acc, (&i, &n)| acc * n + i);
            out.push(data[src]);
        } else {
            out.push(data[flat]);
        }
    }
    out
}

/// Writes a copy of fixture set `set`'s checkpoint with element `index` of parameter `key`
/// (its full `params:...` member name without `.npy`) replaced by `value`.
pub(crate) fn write_poked_checkpoint(set: &str, dst: &Path, key: &str, index: usize, value: f32) {
    use gencast::checkpoint::{NpyData, NpzArchive, NpzWriter};
    let src = NpzArchive::open(fixture(set).join("checkpoint.npz")).unwrap();
    let mut w = NpzWriter::create(dst).unwrap();
    let names: Vec<String> = src.names().map(str::to_string).collect();
    assert!(names.iter().any(|n| n == key), "no member {key}");
    for name in names {
        let mut a = src.array(&name).unwrap();
        if name == key {
            match &mut a.data {
                NpyData::F32(v) => v[index] = value,
                other => panic!("{key} is not f32: {other:?}"),
            }
        }
        w.add_array(&name, &a).unwrap();
    }
    w.finish().unwrap();
}

/// An NPY v1 header (magic, version, padded dict) for a little-endian float32 array.
pub(crate) fn npy_header(shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// A copy of the zip archive `zip` (no comment, no ZIP64) with one more member `name`: the
/// deflated `body`, whose uncompressed size is recorded as `declared_size` (so it can lie).
pub(crate) fn add_deflated_member(
    zip: &[u8],
    name: &str,
    body: &[u8],
    declared_size: u32,
) -> Vec<u8> {
    let eocd = zip.len() - 22;
    assert_eq!(&zip[eocd..eocd + 4], b"PK\x05\x06", "archive has a comment");
    let u16_at = |at: usize| u16::from_le_bytes([zip[at], zip[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes([zip[at], zip[at + 1], zip[at + 2], zip[at + 3]]);
    let (entries, cd_len, cd_off) = (u16_at(eocd + 10), u32_at(eocd + 12), u32_at(eocd + 16));
    let packed = miniz_oxide::deflate::compress_to_vec(body, 1);
    let crc = crc32(body);
    let put16 = |o: &mut Vec<u8>, v: u16| o.extend_from_slice(&v.to_le_bytes());
    let put32 = |o: &mut Vec<u8>, v: u32| o.extend_from_slice(&v.to_le_bytes());
    let mut out = zip[..cd_off as usize].to_vec();
    let local = out.len() as u32;
    put32(&mut out, 0x0403_4b50);
    for v in [20u16, 0, 8, 0, 0] {
        put16(&mut out, v);
    }
    put32(&mut out, crc);
    put32(&mut out, packed.len() as u32);
    put32(&mut out, declared_size);
    put16(&mut out, name.len() as u16);
    put16(&mut out, 0);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&packed);
    let cd = out.len() as u32;
    out.extend_from_slice(&zip[cd_off as usize..(cd_off + cd_len) as usize]);
    put32(&mut out, 0x0201_4b50);
    for v in [20u16, 20, 0, 8, 0, 0] {
        put16(&mut out, v);
    }
    put32(&mut out, crc);
    put32(&mut out, packed.len() as u32);
    put32(&mut out, declared_size);
    for v in [name.len() as u16, 0, 0, 0, 0] {
        put16(&mut out, v);
    }
    put32(&mut out, 0);
    put32(&mut out, local);
    out.extend_from_slice(name.as_bytes());
    let new_cd_len = out.len() as u32 - cd;
    put32(&mut out, 0x0605_4b50);
    for v in [0u16, 0, entries + 1, entries + 1] {
        put16(&mut out, v);
    }
    put32(&mut out, new_cd_len);
    put32(&mut out, cd);
    put16(&mut out, 0);
    out
}

/// CRC-32 (IEEE) of `data`, bit by bit.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Writes a copy of statistics file `src` to `dst` (classic NetCDF) where variable `var` is
/// removed (`value` None) or has every value replaced by `value`.
pub(crate) fn write_stats_edited(src: &Path, dst: &Path, var: &str, value: Option<f64>) {
    let stats = gencast::data::NormStats::open(src).unwrap();
    let levels = stats.levels().to_vec();
    let mut h = NcHeader::default();
    let lev = h.add_dim("level", levels.len());
    h.add_var("level", &[lev], NcType::Int, vec![]);
    let mut data = Vec::new();
    for name in stats.names() {
        if name == var && value.is_none() {
            continue;
        }
        let mut values = if stats.is_levelled(name) == Some(true) {
            stats.get(name, &levels).unwrap()
        } else {
            vec![stats.scalar(name).unwrap()]
        };
        if name == var {
            values.iter_mut().for_each(|x| *x = value.unwrap());
        }
        let dims: &[usize] = if stats.is_levelled(name) == Some(true) {
            &[lev]
        } else {
            &[]
        };
        h.add_var(name, dims, NcType::Double, vec![]);
        data.push(values);
    }
    let mut w = NcWriter::create(dst, h).unwrap();
    w.write_i32(0, 0, &levels).unwrap();
    for (i, values) in data.iter().enumerate() {
        w.write_f64(1 + i, 0, values).unwrap();
    }
    w.finish().unwrap();
}

/// The row of a `stats` or `verify` JSON report for `var` at `level` and `lead` hours.
pub(crate) fn row<'a>(
    v: &'a serde_json::Value,
    var: &str,
    level: Option<i64>,
    lead: f64,
) -> &'a serde_json::Value {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["variable"] == var && r["level"].as_i64() == level && r["lead_hours"] == lead)
        .unwrap_or_else(|| panic!("no row {var} {level:?} {lead}"))
}

/// Decoded RGB image.
pub(crate) struct Image {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Pixels, row by row, three bytes each.
    pub rgb: Vec<u8>,
}

impl Image {
    /// The colour at column `x`, row `y`.
    pub(crate) fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

/// Decodes an 8-bit RGB PNG.
pub(crate) fn decode(path: &Path) -> Image {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    Image {
        width: info.width as usize,
        height: info.height as usize,
        rgb: buf,
    }
}

/// Runs `gencast plot ARGS --output DIR/NAME` and decodes the PNG.
pub(crate) fn plot(dir: &Path, name: &str, args: &[&str]) -> Image {
    let out = dir.join(name);
    let mut all = vec!["plot", "--output", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let (ok, _, err) = run(&all);
    assert!(ok, "gencast plot {args:?} failed: {err}");
    decode(&out)
}

/// A Zarr chunk file (`STORE/ARRAY/c/I/J/...`, which must exist) decoded through zarrs with
/// its array's codecs, as f32 bits.
pub(crate) fn chunk_bits(path: &Path) -> Vec<u32> {
    assert!(path.is_file(), "{} was not written", path.display());
    let parts: Vec<&str> = path.iter().map(|p| p.to_str().unwrap()).collect();
    let c = parts.iter().rposition(|p| *p == "c").unwrap();
    let indices: Vec<u64> = parts[c + 1..].iter().map(|i| i.parse().unwrap()).collect();
    let array: PathBuf = path.iter().take(c).collect();
    let storage = std::sync::Arc::new(
        zarrs::filesystem::FilesystemStore::new(array.parent().unwrap()).unwrap(),
    );
    let array = zarrs::array::Array::open(storage, &format!("/{}", parts[c - 1])).unwrap();
    let values: Vec<f32> = array.retrieve_chunk(&indices).unwrap();
    values.iter().map(|x| x.to_bits()).collect()
}

/// Runs `gencast check --dataset DATASET`, asserts success and returns its report.
pub(crate) fn check_passes(dataset: &Path) -> String {
    let out = gencast(&["check", "--dataset", dataset.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}
