//! Structured corruptions of Zarr metadata (v2 `.zarray`/`.zattrs`/`.zmetadata`, v3
//! `zarr.json`): one field replaced by a value a damaged or hand-made store may hold, from sizes
//! of 0, −1, 2³², 2⁶⁴−1 to wrong types, unknown data types, codecs and dimension names.

use serde_json::{json, Value};

use super::harness::Rng;

/// Numbers that break size arithmetic.
fn wild_number(rng: &mut Rng) -> Value {
    match rng.below(12) {
        0 => json!(0),
        1 => json!(-1),
        2 => json!(1u64 << 31),
        3 => json!(1u64 << 32),
        4 => json!(1u64 << 53),
        5 => json!(1u64 << 63),
        6 => json!(u64::MAX),
        7 => json!(1e300),
        8 => json!(0.5),
        9 => json!(i64::MIN),
        10 => json!(1 + rng.below(100)),
        _ => json!(1u64 << (20 + rng.below(24))),
    }
}

/// Any JSON value a field should not hold.
fn wild_value(rng: &mut Rng) -> Value {
    match rng.below(8) {
        0 => Value::Null,
        1 => json!("3"),
        2 => json!([]),
        3 => json!({}),
        4 => json!(true),
        5 => json!("NaN"),
        6 => json!([wild_number(rng)]),
        _ => wild_number(rng),
    }
}

/// A size list (`shape`, `chunks`) with one entry made wild, an entry dropped or added, or the
/// whole list replaced.
pub(super) fn wild_sizes(rng: &mut Rng, sizes: &Value) -> Value {
    let mut list = sizes.as_array().cloned().unwrap_or_default();
    match rng.below(6) {
        0..=2 if !list.is_empty() => {
            let i = rng.below(list.len());
            list[i] = wild_number(rng);
        }
        3 if !list.is_empty() => {
            list.remove(rng.below(list.len()));
        }
        4 => list.push(wild_number(rng)),
        _ => return wild_value(rng),
    }
    Value::Array(list)
}

/// Dimension names: repeated, too few or too many, unknown, or not names at all.
pub(super) fn wild_dims(rng: &mut Rng, dims: &Value) -> Value {
    let mut list = dims.as_array().cloned().unwrap_or_default();
    match rng.below(6) {
        0 if list.len() > 1 => {
            let (a, b) = (rng.below(list.len()), rng.below(list.len()));
            list[a] = list[b].clone();
        }
        1 if !list.is_empty() => {
            list.pop();
        }
        2 => list.push(json!(*rng.pick(&["time", "lat", "level", "sample", "x"]))),
        3 => list.reverse(),
        4 if !list.is_empty() => {
            let i = rng.below(list.len());
            list[i] = wild_value(rng);
        }
        _ => return wild_value(rng),
    }
    Value::Array(list)
}

/// Corrupts one field of a Zarr v2 array's `.zarray` (`zarray`) or `.zattrs` (`zattrs`).
pub(super) fn corrupt_v2(rng: &mut Rng, zarray: &mut Value, zattrs: &mut Value) {
    let v2_dtypes = [
        "<f2",
        "|b1",
        "<U8",
        "|S1000000000",
        "<M8[ns]",
        "<M8[Y]",
        "|V2147483648",
        ">f8",
        "<c16",
        "<u8",
        "|i1",
        "<f4",
        "<i8",
        "<m8[s]",
    ];
    match rng.below(10) {
        0 | 1 => zarray["shape"] = wild_sizes(rng, &zarray["shape"]),
        2 | 3 => zarray["chunks"] = wild_sizes(rng, &zarray["chunks"]),
        4 => {
            zarray["dtype"] = if rng.below(4) == 0 {
                wild_value(rng)
            } else {
                json!(*rng.pick(&v2_dtypes))
            }
        }
        5 => {
            zarray["fill_value"] = match rng.below(3) {
                0 => json!(*rng.pick(&["NaN", "Infinity", "-Infinity", "abc", "AAAAAAAAAAA="])),
                _ => wild_value(rng),
            }
        }
        6 => {
            zarray["compressor"] = match rng.below(5) {
                0 => Value::Null,
                1 => json!({"id": "blosc", "cname": "nope", "clevel": 5, "shuffle": 1}),
                2 => json!({"id": "blosc", "cname": "lz4", "clevel": 99, "shuffle": 7,
                            "blocksize": -1}),
                3 => json!({"id": "zlib", "level": 1}),
                _ => wild_value(rng),
            }
        }
        7 => {
            let key = *rng.pick(&["filters", "order", "zarr_format", "dimension_separator"]);
            zarray[key] = match key {
                "order" => json!(*rng.pick(&["F", "X"])),
                "dimension_separator" => json!(*rng.pick(&["/", "x", ""])),
                "filters" => json!([{"id": "delta", "dtype": "<f8"}]),
                _ => wild_value(rng),
            };
        }
        8 => {
            let dims = zattrs["_ARRAY_DIMENSIONS"].clone();
            zattrs["_ARRAY_DIMENSIONS"] = wild_dims(rng, &dims);
        }
        _ => {
            let key = *rng.pick(&[
                "units",
                "scale_factor",
                "add_offset",
                "_FillValue",
                "missing_value",
                "calendar",
            ]);
            zattrs[key] = match key {
                "units" => json!(*rng.pick(&["", "days since 0000-00-00", "Pa", "hours since"])),
                "calendar" => json!("360_day"),
                _ => wild_value(rng),
            };
        }
    }
}

/// Corrupts one field of a Zarr v3 array's `zarr.json` (`meta`).
pub(super) fn corrupt_v3(rng: &mut Rng, meta: &mut Value) {
    match rng.below(9) {
        0 | 1 => meta["shape"] = wild_sizes(rng, &meta["shape"]),
        2 | 3 => {
            let shape = meta["chunk_grid"]["configuration"]["chunk_shape"].clone();
            meta["chunk_grid"]["configuration"]["chunk_shape"] = wild_sizes(rng, &shape);
        }
        4 => {
            meta["data_type"] = if rng.below(4) == 0 {
                wild_value(rng)
            } else {
                json!(*rng.pick(&[
                    "float16",
                    "bool",
                    "string",
                    "r2147483648",
                    "complex128",
                    "uint64",
                    "int8",
                    "float64",
                    "bytes",
                ]))
            }
        }
        5 => meta["fill_value"] = wild_value(rng),
        6 => {
            meta["codecs"] = match rng.below(5) {
                0 => json!([]),
                1 => json!([{"name": "bytes", "configuration": {"endian": "big"}}]),
                2 => json!([{"name": "transpose", "configuration": {"order": [0]}},
                            {"name": "bytes", "configuration": {"endian": "little"}}]),
                3 => json!([{"name": "sharding_indexed", "configuration": {
                    "chunk_shape": [1, 1, 1, 1, 1],
                    "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
                    "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
                    "index_location": "end"}}]),
                _ => wild_value(rng),
            }
        }
        7 => {
            let dims = meta["dimension_names"].clone();
            meta["dimension_names"] = wild_dims(rng, &dims);
        }
        _ => {
            let key = *rng.pick(&["units", "scale_factor", "add_offset", "_FillValue"]);
            meta["attributes"][key] = match key {
                "units" => json!(*rng.pick(&["", "hours since 0000-13-45", "K"])),
                _ => wild_value(rng),
            };
        }
    }
}
