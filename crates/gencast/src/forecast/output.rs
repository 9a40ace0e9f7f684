//! Choosing and guarding a forecast's output: a NetCDF or GRIB2 file or a Zarr store, checked
//! before anything is computed.

use std::path::{Path, PathBuf};

use crate::output::forecast_nc::{preflight, progress_name, tmp_name};
use crate::output::guard::{check_output_location, refuse_inputs_as_output, OutputKind};
use crate::Result;

use super::grib_sink::{is_grib, GribSink};
use super::sink::{ForecastSink, NetCdfSink, ZarrSink};

/// How a sink treats what an earlier run left: an unfinished output, or a finished one at the
/// same path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteMode {
    /// Continue an unfinished output of an earlier run.
    pub resume: bool,
    /// Replace an existing final output, or start an unfinished one over.
    pub overwrite: bool,
}

/// Whether `path` names a Zarr store (a folder ending in `.zarr`).
pub fn is_zarr(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zarr"))
}

/// The sink for `path`: a [`ZarrSink`] for a `.zarr` folder (of `ensemble_size` members), a
/// [`GribSink`] for a `.grib2`, `.grb2` or `.grib` file, a [`NetCdfSink`] otherwise.
pub fn sink_for(path: &Path, mode: WriteMode, ensemble_size: Option<u32>) -> Box<dyn ForecastSink> {
    if is_zarr(path) {
        Box::new(ZarrSink::new(path, mode, ensemble_size))
    } else if is_grib(path) {
        Box::new(GribSink::new(path, mode))
    } else {
        Box::new(NetCdfSink::new(path, mode))
    }
}

/// Checks that each input file exists and is a file, and that `stats` is a folder (holding
/// `stats_files`); `roles` name the checkpoint, dataset and statistics in messages.
pub fn check_input_kinds(
    [ckpt, ds, stats]: [(&str, &Path); 3],
    stats_files: &[&str],
) -> Result<()> {
    for (i, (role, p)) in [ckpt, ds].into_iter().enumerate() {
        // A dataset may be a Zarr v2 store with consolidated metadata (a folder).
        if p.is_dir() && !(i == 1 && p.join(".zmetadata").is_file()) {
            bail!("{role} {} is a folder; give the file itself", p.display());
        }
        if !p.exists() {
            bail!("{role} {}: no such file", p.display());
        }
    }
    if stats.1.is_file() {
        bail!(
            "{} {} is a file; give the folder holding {}",
            stats.0,
            stats.1.display(),
            stats_files.join(", ")
        );
    }
    if !stats.1.exists() {
        bail!("{} {}: no such folder", stats.0, stats.1.display());
    }
    Ok(())
}

/// Output safety, before anything is computed: the output location is writable and names no
/// input (`inputs`: role and path), and an existing or unfinished output is only continued or
/// replaced when `mode` asks.
pub fn check_output(output: &Path, mode: WriteMode, inputs: &[(&str, &Path)]) -> Result<()> {
    let zarr = is_zarr(output);
    let kind = if zarr {
        OutputKind::Store
    } else {
        OutputKind::File
    };
    check_output_location(output, kind)?;
    let written: Vec<PathBuf> = if zarr {
        vec![output.to_path_buf()]
    } else {
        vec![
            output.to_path_buf(),
            tmp_name(output),
            progress_name(output),
        ]
    };
    refuse_inputs_as_output(&written, inputs)?;
    if !zarr {
        preflight(output, mode)?;
    }
    Ok(())
}
