//! Normalisation statistics: one f64 value per variable (0-d) or per pressure level (1-d over
//! `level`), matched to data by variable name and level value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::netcdf_io;
use crate::{Error, Result};

/// The values of one statistics variable.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// A 0-d variable.
    Scalar(f64),
    /// A 1-d variable over the `level` coordinate: one value per file level.
    Levelled(Vec<f64>),
}

/// One statistics file (e.g. `mean_by_level.nc`), fully loaded.
#[derive(Debug, Clone)]
pub struct NormStats {
    path: PathBuf,
    levels: Vec<i32>,
    entries: BTreeMap<String, Entry>,
}

impl NormStats {
    /// Reads every variable of a statistics file.
    pub fn open(path: impl AsRef<Path>) -> Result<NormStats> {
        let path = path.as_ref().to_path_buf();
        let file = netcdf_io::open(&path)?;
        let vars = file
            .variables()
            .map_err(|e| netcdf_io::reader_error(&path, "variables", e))?;
        let mut levels = Vec::new();
        if let Some(v) = vars.iter().find(|v| v.name == "level") {
            for x in netcdf_io::read_f64(&file, &path, v, None)? {
                if !(x.fract() == 0.0 && x > 0.0 && x <= f64::from(i32::MAX)) {
                    return Err(data_err(
                        &path,
                        "level",
                        format!("value {x} is not a positive whole number of hPa"),
                    ));
                }
                levels.push(x as i32);
            }
        }
        let mut entries = BTreeMap::new();
        for v in vars {
            let dims: Vec<&str> = v.dimensions.iter().map(|d| d.name.as_str()).collect();
            let entry = match dims.as_slice() {
                [] => {
                    let values = netcdf_io::read_f64(&file, &path, v, None)?;
                    match values.as_slice() {
                        [x] => Entry::Scalar(*x),
                        _ => {
                            return Err(data_err(
                                &path,
                                &v.name,
                                format!("0-d variable holds {} values", values.len()),
                            ))
                        }
                    }
                }
                ["level"] if v.name == "level" => continue,
                ["level"] => {
                    let values = netcdf_io::read_f64(&file, &path, v, None)?;
                    if values.len() != levels.len() {
                        return Err(data_err(
                            &path,
                            &v.name,
                            format!(
                                "{} values for {} levels (is the `level` coordinate missing?)",
                                values.len(),
                                levels.len()
                            ),
                        ));
                    }
                    Entry::Levelled(values)
                }
                _ => {
                    return Err(data_err(
                        &path,
                        &v.name,
                        format!("expected a scalar or dims (level), found dims {dims:?}"),
                    ))
                }
            };
            entries.insert(v.name.clone(), entry);
        }
        Ok(NormStats {
            path,
            levels,
            entries,
        })
    }

    /// Statistics held in memory (e.g. converted from an `xarray.Dataset`): `label` stands for
    /// the file in messages, `levels` is the `level` coordinate (hPa) and every per-level entry
    /// must hold one value per level.
    pub fn from_entries(
        label: impl Into<PathBuf>,
        levels: Vec<i32>,
        entries: impl IntoIterator<Item = (String, Entry)>,
    ) -> Result<NormStats> {
        let path = label.into();
        let mut map = BTreeMap::new();
        for (name, entry) in entries {
            if let Entry::Levelled(v) = &entry {
                if v.len() != levels.len() {
                    return Err(data_err(
                        &path,
                        &name,
                        format!("{} values for {} levels", v.len(), levels.len()),
                    ));
                }
            }
            if map.insert(name.clone(), entry).is_some() {
                return Err(data_err(&path, &name, "given twice".into()));
            }
        }
        Ok(NormStats {
            path,
            levels,
            entries: map,
        })
    }

    /// The file these statistics came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's `level` coordinate (hPa), empty if it has none.
    pub fn levels(&self) -> &[i32] {
        &self.levels
    }

    /// Variable names with an entry, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Whether the file has an entry for a variable.
    pub fn contains(&self, var: &str) -> bool {
        self.entries.contains_key(var)
    }

    /// Whether a variable's entry is per level (`Some(true)`), scalar (`Some(false)`) or absent.
    pub fn is_levelled(&self, var: &str) -> Option<bool> {
        self.entries
            .get(var)
            .map(|e| matches!(e, Entry::Levelled(_)))
    }

    /// The statistics of `var`: one value for a scalar entry (whatever `levels` is), otherwise
    /// one value per requested level, selected by level value.
    pub fn get(&self, var: &str, levels: &[i32]) -> Result<Vec<f64>> {
        match self.entries.get(var) {
            None => Err(Error::Missing {
                path: self.path.clone(),
                what: "statistics variable",
                key: var.to_string(),
            }),
            Some(Entry::Scalar(x)) => Ok(vec![*x]),
            Some(Entry::Levelled(values)) => {
                let missing: Vec<i32> = levels
                    .iter()
                    .copied()
                    .filter(|l| !self.levels.contains(l))
                    .collect();
                if !missing.is_empty() {
                    return Err(data_err(
                        &self.path,
                        var,
                        format!(
                            "no entry for level(s) {missing:?} hPa; the file has levels {:?}",
                            self.levels
                        ),
                    ));
                }
                Ok(levels
                    .iter()
                    .filter_map(|l| self.levels.iter().position(|x| x == l))
                    .filter_map(|i| values.get(i).copied())
                    .collect())
            }
        }
    }

    /// The single value of a scalar entry.
    pub fn scalar(&self, var: &str) -> Result<f64> {
        match self.entries.get(var) {
            Some(Entry::Scalar(x)) => Ok(*x),
            Some(Entry::Levelled(_)) => Err(data_err(
                &self.path,
                var,
                "is per level, expected a scalar".into(),
            )),
            None => self.get(var, &[]).map(|_| f64::NAN),
        }
    }
}

/// The four statistics files of a model.
#[derive(Debug, Clone)]
pub struct StatsSet {
    /// Climatological mean (inputs, forcings, absolute targets).
    pub mean_by_level: NormStats,
    /// Climatological standard deviation.
    pub stddev_by_level: NormStats,
    /// Standard deviation of differences between consecutive frames (residual targets).
    pub diffs_stddev_by_level: NormStats,
    /// Minimum (the NaN fill value of sea surface temperature).
    pub min_by_level: NormStats,
}

impl StatsSet {
    /// File names expected in a statistics directory.
    pub const FILES: [&'static str; 4] = [
        "mean_by_level.nc",
        "stddev_by_level.nc",
        "diffs_stddev_by_level.nc",
        "min_by_level.nc",
    ];

    /// Opens `mean_by_level.nc`, `stddev_by_level.nc`, `diffs_stddev_by_level.nc` and
    /// `min_by_level.nc` from a directory; the error names every file that is absent.
    pub fn open_dir(dir: impl AsRef<Path>) -> Result<StatsSet> {
        let dir = dir.as_ref();
        check_stats_dir(dir, &Self::FILES)?;
        Ok(StatsSet {
            mean_by_level: NormStats::open(dir.join(Self::FILES[0]))?,
            stddev_by_level: NormStats::open(dir.join(Self::FILES[1]))?,
            diffs_stddev_by_level: NormStats::open(dir.join(Self::FILES[2]))?,
            min_by_level: NormStats::open(dir.join(Self::FILES[3]))?,
        })
    }
}

/// Checks that `dir` is a directory holding every file of `files`; the error says when `dir` is
/// a file or absent, or names every file that is absent.
pub(crate) fn check_stats_dir(dir: &Path, files: &[&str]) -> Result<()> {
    if dir.is_file() {
        return Err(Error::format(
            dir,
            "statistics",
            format!(
                "is a file; expected the folder holding {}",
                files.join(", ")
            ),
        ));
    }
    if !dir.is_dir() {
        return Err(Error::io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "statistics directory not found",
            ),
        ));
    }
    let missing: Vec<&str> = files
        .iter()
        .copied()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Missing {
        path: dir.to_path_buf(),
        what: if missing.len() == 1 {
            "statistics file"
        } else {
            "statistics files"
        },
        key: missing.join("`, `"),
    })
}

fn data_err(path: &Path, variable: &str, detail: String) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        variable: variable.to_string(),
        detail,
    }
}
