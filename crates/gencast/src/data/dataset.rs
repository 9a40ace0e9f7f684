//! Example datasets: NetCDF files written by xarray with `lat`, `lon`, optional `level`,
//! `time` (time deltas) and `datetime` (absolute times) coordinates, read lazily by variable.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use netcdf_reader::{NcFile, NcSliceInfo, NcSliceInfoElem, NcVariable};

use super::grid;
use super::netcdf_io::{self, AttrValue};
use super::netcdf_time;
use crate::{Error, Result};

/// Name of the batch dimension (index 0 is selected by [`Dataset::read`]).
pub(crate) const BATCH_DIM: &str = "batch";
/// Name of the time dimension (the one [`Dataset::read`]'s frame range applies to).
pub(crate) const TIME_DIM: &str = "time";

/// The coordinates of a dataset held in memory ([`Dataset::from_arrays`]); an empty one is
/// absent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryCoords {
    /// Latitudes in degrees, ascending from -90 to 90.
    pub lat: Vec<f32>,
    /// Longitudes in degrees, ascending from 0.
    pub lon: Vec<f32>,
    /// Pressure levels in hPa.
    pub level: Vec<i32>,
    /// Time offsets of the frames in nanoseconds.
    pub time: Vec<i64>,
    /// Valid time of each frame in nanoseconds since 1970-01-01 UTC.
    pub datetime: Vec<i64>,
}

/// Name, dims, shape and units of one data variable.
#[derive(Debug, Clone, PartialEq)]
pub struct VarInfo {
    /// Variable name.
    pub name: String,
    /// Dimension names in file order.
    pub dims: Vec<String>,
    /// Dimension sizes in file order.
    pub shape: Vec<usize>,
    /// The `units` attribute, if present.
    pub units: Option<String>,
}

/// A dense row-major f32 array with named dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Dimension names, outermost first.
    pub dims: Vec<String>,
    /// Dimension sizes, outermost first.
    pub shape: Vec<usize>,
    /// Values in row-major order (NaN where the file has missing values).
    pub data: Vec<f32>,
}

impl Array {
    /// Position of a named dimension.
    pub fn dim_index(&self, name: &str) -> Option<usize> {
        self.dims.iter().position(|d| d == name)
    }
}

/// An opened example dataset. Coordinates are read and validated on open; variables on demand.
/// A dataset may also be held in memory ([`Dataset::from_arrays`]).
pub struct Dataset {
    path: PathBuf,
    /// The NetCDF file (`None` for a dataset in memory).
    file: Option<NcFile>,
    /// The variables of a dataset in memory.
    memory: BTreeMap<String, Array>,
    dims: Vec<(String, usize)>,
    lat: Vec<f32>,
    lon: Vec<f32>,
    level: Vec<i32>,
    time: Vec<i64>,
    datetime: Vec<i64>,
    variables: Vec<VarInfo>,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("path", &self.path)
            .field("dims", &self.dims)
            .field("variables", &self.variables.len())
            .finish()
    }
}

impl Dataset {
    /// Opens a dataset on a full lat-lon grid: `lat` and `lon` must be present and valid
    /// (latitudes ascending from -90 to 90, longitudes ascending from 0 with uniform spacing
    /// covering the globe).
    pub fn open(path: impl AsRef<Path>) -> Result<Dataset> {
        let ds = Self::open_lenient(path)?;
        for (name, values) in [("lat", ds.lat.len()), ("lon", ds.lon.len())] {
            if values == 0 {
                return Err(Error::Missing {
                    path: ds.path.clone(),
                    what: "coordinate",
                    key: name.to_string(),
                });
            }
        }
        Ok(ds)
    }

    /// Opens any xarray-written NetCDF file; the `lat`, `lon`, `level`, `time` and `datetime`
    /// coordinates are optional (empty when absent) but validated when present.
    pub fn open_lenient(path: impl AsRef<Path>) -> Result<Dataset> {
        let path = path.as_ref().to_path_buf();
        let file = netcdf_io::open(&path)?;
        let dims = file
            .dimensions()
            .map_err(|e| netcdf_io::reader_error(&path, "dimensions", e))?
            .iter()
            .map(|d| (d.name.clone(), d.size as usize))
            .collect::<Vec<_>>();
        let all_vars = file
            .variables()
            .map_err(|e| netcdf_io::reader_error(&path, "variables", e))?;

        // Non-dimension coordinates are those named in some variable's `coordinates` attribute;
        // a coordinate's `bounds` variable belongs to it.
        let mut coords: BTreeSet<String> = BTreeSet::new();
        for v in all_vars {
            for key in ["coordinates", "bounds"] {
                if let Some(list) = netcdf_io::var_attr_text(v, key) {
                    coords.extend(list.split_whitespace().map(str::to_string));
                }
            }
        }
        let mut variables = Vec::new();
        for v in all_vars {
            let dim_names: Vec<String> = v.dimensions.iter().map(|d| d.name.clone()).collect();
            let is_dim_coord = dim_names.len() == 1 && dim_names[0] == v.name;
            if is_dim_coord || coords.contains(&v.name) || v.name == "datetime" {
                continue;
            }
            variables.push(VarInfo {
                name: v.name.clone(),
                dims: dim_names,
                shape: netcdf_io::shape(&path, v)?,
                units: netcdf_io::var_attr_text(v, "units"),
            });
        }

        let mut ds = Dataset {
            path,
            file: Some(file),
            memory: BTreeMap::new(),
            dims,
            lat: Vec::new(),
            lon: Vec::new(),
            level: Vec::new(),
            time: Vec::new(),
            datetime: Vec::new(),
            variables,
        };
        if let Some(batch) = ds.dim_size(BATCH_DIM) {
            if batch == 0 {
                return Err(ds.data_err(BATCH_DIM, "the batch dimension is empty".into()));
            }
        }
        if let Some(v) = ds.coord_var("lat")? {
            ds.lat = ds.read_coord_f32(v)?;
            check_lat(&ds.path, &ds.lat)?;
        }
        if let Some(v) = ds.coord_var("lon")? {
            ds.lon = ds.read_coord_f32(v)?;
            check_lon(&ds.path, &ds.lon)?;
        }
        if let Some(v) = ds.coord_var("level")? {
            ds.level = read_levels(ds.nc()?, &ds.path, v)?;
        }
        if let Some(v) = ds.coord_var(TIME_DIM)? {
            ds.time = read_timedelta(ds.nc()?, &ds.path, v)?;
        }
        if let Ok(v) = ds.nc()?.variable("datetime") {
            ds.datetime = read_datetime(ds.nc()?, &ds.path, v)?;
            if !ds.time.is_empty() && ds.datetime.len() != ds.time.len() {
                return Err(ds.data_err(
                    "datetime",
                    format!("{} values for {} times", ds.datetime.len(), ds.time.len()),
                ));
            }
        }
        Ok(ds)
    }

    /// A dataset held in memory (e.g. converted from an `xarray.Dataset`): `label` stands for
    /// the file in messages; `coords` are the `lat`, `lon`, `level`, `time` (offsets) and
    /// `datetime` coordinates, validated as a file's are; each variable is a dense array with
    /// named dimensions (`batch` index 0 is used, as for files) and its units.
    pub fn from_arrays(
        label: impl Into<PathBuf>,
        coords: MemoryCoords,
        variables: impl IntoIterator<Item = (String, Array, Option<String>)>,
    ) -> Result<Dataset> {
        let path = label.into();
        let mut dims: Vec<(String, usize)> = Vec::new();
        let mut add_dim = |name: &str, size: usize, var: &str| -> Result<()> {
            match dims.iter().find(|(n, _)| n == name) {
                Some((_, s)) if *s != size => Err(coord_err(
                    &path,
                    var,
                    format!("dimension `{name}` has size {size} here and {s} elsewhere"),
                )),
                Some(_) => Ok(()),
                None => {
                    dims.push((name.to_string(), size));
                    Ok(())
                }
            }
        };
        for (name, values) in [
            ("lat", coords.lat.len()),
            ("lon", coords.lon.len()),
            ("level", coords.level.len()),
            (TIME_DIM, coords.time.len()),
        ] {
            if values > 0 {
                add_dim(name, values, name)?;
            }
        }
        let mut infos = Vec::new();
        let mut memory = BTreeMap::new();
        for (name, array, units) in variables {
            if array.dims.len() != array.shape.len()
                || array.shape.iter().product::<usize>() != array.data.len()
            {
                return Err(coord_err(
                    &path,
                    &name,
                    format!(
                        "dims {:?} and shape {:?} do not fit {} values",
                        array.dims,
                        array.shape,
                        array.data.len()
                    ),
                ));
            }
            for (d, &n) in array.dims.iter().zip(&array.shape) {
                add_dim(d, n, &name)?;
            }
            infos.push(VarInfo {
                name: name.clone(),
                dims: array.dims.clone(),
                shape: array.shape.clone(),
                units,
            });
            if memory.insert(name.clone(), array).is_some() {
                return Err(coord_err(&path, &name, "given twice".into()));
            }
        }
        if !coords.lat.is_empty() {
            check_lat(&path, &coords.lat)?;
        }
        if !coords.lon.is_empty() {
            check_lon(&path, &coords.lon)?;
        }
        let mut seen = BTreeSet::new();
        if let Some(l) = coords.level.iter().find(|&&l| l <= 0 || !seen.insert(l)) {
            return Err(coord_err(
                &path,
                "level",
                format!("value {l} is not a distinct positive number of hPa"),
            ));
        }
        if !coords.datetime.is_empty() && coords.datetime.len() != coords.time.len() {
            return Err(coord_err(
                &path,
                "datetime",
                format!(
                    "{} values for {} times",
                    coords.datetime.len(),
                    coords.time.len()
                ),
            ));
        }
        Ok(Dataset {
            path,
            file: None,
            memory,
            dims,
            lat: coords.lat,
            lon: coords.lon,
            level: coords.level,
            time: coords.time,
            datetime: coords.datetime,
            variables: infos,
        })
    }

    /// The NetCDF file behind the dataset.
    fn nc(&self) -> Result<&NcFile> {
        self.file.as_ref().ok_or_else(|| {
            self.data_err(
                "(file)",
                "the dataset is held in memory; this needs a NetCDF file".into(),
            )
        })
    }

    /// The file this dataset was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All dimensions of the file (name, size) in file order.
    pub fn dims(&self) -> &[(String, usize)] {
        &self.dims
    }

    /// Size of a named dimension.
    pub fn dim_size(&self, name: &str) -> Option<usize> {
        self.dims.iter().find(|(n, _)| n == name).map(|(_, s)| *s)
    }

    /// Latitudes in degrees, ascending from -90 to 90 (empty if the file has none).
    pub fn lat(&self) -> &[f32] {
        &self.lat
    }

    /// Longitudes in degrees, ascending from 0 (empty if the file has none).
    pub fn lon(&self) -> &[f32] {
        &self.lon
    }

    /// Pressure levels in hPa, in file order (empty if the file has none).
    pub fn level(&self) -> &[i32] {
        &self.level
    }

    /// Index of a pressure level value in [`Dataset::level`].
    pub fn level_index(&self, level: i32) -> Option<usize> {
        self.level.iter().position(|&l| l == level)
    }

    /// Time offsets of the frames in nanoseconds (empty if the file has no `time` coordinate).
    pub fn time(&self) -> &[i64] {
        &self.time
    }

    /// Valid time of each frame (batch 0) in nanoseconds since 1970-01-01 UTC
    /// (empty if the file has no `datetime` coordinate).
    pub fn datetime(&self) -> &[i64] {
        &self.datetime
    }

    /// Number of frames along `time` (0 if the file has no time dimension).
    pub fn num_frames(&self) -> usize {
        self.dim_size(TIME_DIM).unwrap_or(0)
    }

    /// The data variables (coordinates excluded).
    pub fn variables(&self) -> &[VarInfo] {
        &self.variables
    }

    /// Information on one data variable.
    pub fn variable(&self, name: &str) -> Option<&VarInfo> {
        self.variables.iter().find(|v| v.name == name)
    }

    /// Whether a data variable is present.
    pub fn has(&self, name: &str) -> bool {
        self.variable(name).is_some()
    }

    /// Fails with one error listing every name that is not a data variable of the file.
    pub fn require(&self, names: &[&str]) -> Result<()> {
        let missing: Vec<&str> = names.iter().copied().filter(|n| !self.has(n)).collect();
        match missing.len() {
            0 => Ok(()),
            1 => Err(Error::Missing {
                path: self.path.clone(),
                what: "variable",
                key: missing[0].to_string(),
            }),
            _ => Err(Error::Missing {
                path: self.path.clone(),
                what: "variables",
                key: missing.join("`, `"),
            }),
        }
    }

    /// Reads one data variable as f32, selecting batch index 0 (the `batch` dim is dropped)
    /// and, when `frames` is given and the variable has a `time` dim, only those frames.
    /// Variables without a `time` dim are returned whole. Only the selected hyperslab is read.
    pub fn read(&self, name: &str, frames: Option<Range<usize>>) -> Result<Array> {
        let info = self.variable(name).ok_or_else(|| self.missing(name))?;
        if let Some(array) = self.memory.get(name) {
            return self.read_memory(name, array, frames);
        }
        let var = self.nc_var(name)?;
        let mut selections = Vec::with_capacity(info.dims.len());
        let mut dims = Vec::with_capacity(info.dims.len());
        let mut shape = Vec::with_capacity(info.dims.len());
        let mut sliced = false;
        for (dim, &size) in info.dims.iter().zip(&info.shape) {
            if dim == BATCH_DIM {
                selections.push(NcSliceInfoElem::Index(0));
                sliced = true;
                continue;
            }
            let (start, end) = match (&frames, dim == TIME_DIM) {
                (Some(r), true) => {
                    if r.start >= r.end || r.end > size {
                        return Err(self.data_err(
                            name,
                            format!(
                                "frames {}..{} out of range for {size} times",
                                r.start, r.end
                            ),
                        ));
                    }
                    sliced |= r.start != 0 || r.end != size;
                    (r.start, r.end)
                }
                _ => (0, size),
            };
            selections.push(NcSliceInfoElem::Slice {
                start: start as u64,
                end: end as u64,
                step: 1,
            });
            dims.push(dim.clone());
            shape.push(end - start);
        }
        let selection = NcSliceInfo { selections };
        let data = netcdf_io::read_f32(self.nc()?, &self.path, var, sliced.then_some(&selection))?;
        self.finish(name, dims, shape, data)
    }

    /// Reads a whole variable (data variable or coordinate) as f32 with all its dims.
    pub fn read_all(&self, name: &str) -> Result<Array> {
        if let Some(array) = self.memory.get(name) {
            return Ok(array.clone());
        }
        let var = self.nc_var(name)?;
        let dims = var.dimensions.iter().map(|d| d.name.clone()).collect();
        let shape = netcdf_io::shape(&self.path, var)?;
        let data = netcdf_io::read_f32(self.nc()?, &self.path, var, None)?;
        self.finish(name, dims, shape, data)
    }

    /// Reads a whole integer variable (e.g. the `sample` or `draw_iteration` coordinate) exactly.
    pub fn read_i64(&self, name: &str) -> Result<Vec<i64>> {
        let var = self.nc_var(name)?;
        netcdf_io::read_i64(self.nc()?, &self.path, var)
    }

    /// Reads a string variable (e.g. the `draw_kind` coordinate), flattened.
    pub fn read_strings(&self, name: &str) -> Result<Vec<String>> {
        let var = self.nc_var(name)?;
        netcdf_io::checked_read_len(&self.path, var, None)?;
        self.nc()?
            .read_variable_as_strings(name)
            .map_err(|e| netcdf_io::reader_error(&self.path, name, e))
    }

    /// An attribute of a variable (`Some(var)`) or a global attribute (`None`).
    pub fn attribute(&self, var: Option<&str>, name: &str) -> Option<AttrValue> {
        let attr = match var {
            Some(v) => self.file.as_ref()?.variable(v).ok()?.attribute(name)?,
            None => self.file.as_ref()?.global_attribute(name).ok()?,
        };
        Some(netcdf_io::attr_value(&attr.value))
    }

    /// Looks a variable up in the file (data variables and coordinates alike).
    fn nc_var(&self, name: &str) -> Result<&NcVariable> {
        self.nc()?.variable(name).map_err(|_| self.missing(name))
    }

    /// A dimension-coordinate variable, if present.
    fn coord_var(&self, name: &str) -> Result<Option<&NcVariable>> {
        match self.nc()?.variable(name) {
            Ok(v) if v.dimensions.len() == 1 && v.dimensions[0].name == name => Ok(Some(v)),
            Ok(v) => Err(self.data_err(
                name,
                format!(
                    "expected a 1-d coordinate over dim `{name}`, found dims {:?}",
                    v.dimensions.iter().map(|d| &d.name).collect::<Vec<_>>()
                ),
            )),
            Err(_) => Ok(None),
        }
    }

    fn read_coord_f32(&self, var: &NcVariable) -> Result<Vec<f32>> {
        let values = netcdf_io::read_f64(self.nc()?, &self.path, var, None)?;
        Ok(values.into_iter().map(|x| x as f32).collect())
    }

    /// [`Dataset::read`] of a variable held in memory: batch 0, then the frames.
    fn read_memory(
        &self,
        name: &str,
        array: &Array,
        frames: Option<Range<usize>>,
    ) -> Result<Array> {
        let mut ranges = Vec::with_capacity(array.dims.len());
        for (dim, &size) in array.dims.iter().zip(&array.shape) {
            let r = match (&frames, dim.as_str()) {
                (_, BATCH_DIM) => 0..1.min(size),
                (Some(r), TIME_DIM) => {
                    if r.start >= r.end || r.end > size {
                        return Err(self.data_err(
                            name,
                            format!(
                                "frames {}..{} out of range for {size} times",
                                r.start, r.end
                            ),
                        ));
                    }
                    r.clone()
                }
                _ => 0..size,
            };
            ranges.push(r);
        }
        // Row-major strides of the stored array, and a walk over the selected index box.
        let mut strides = vec![1usize; array.shape.len()];
        for i in (0..array.shape.len().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * array.shape[i + 1];
        }
        let total: usize = ranges.iter().map(|r| r.len()).product();
        let mut data = Vec::with_capacity(total);
        let mut index: Vec<usize> = ranges.iter().map(|r| r.start).collect();
        for _ in 0..total {
            let flat: usize = index.iter().zip(&strides).map(|(i, s)| i * s).sum();
            data.push(array.data[flat]);
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < ranges[d].end {
                    break;
                }
                index[d] = ranges[d].start;
            }
        }
        let keep: Vec<usize> = (0..array.dims.len())
            .filter(|&d| array.dims[d] != BATCH_DIM)
            .collect();
        let dims = keep.iter().map(|&d| array.dims[d].clone()).collect();
        let shape = keep.iter().map(|&d| ranges[d].len()).collect();
        self.finish(name, dims, shape, data)
    }

    fn finish(
        &self,
        name: &str,
        dims: Vec<String>,
        shape: Vec<usize>,
        data: Vec<f32>,
    ) -> Result<Array> {
        let expected: usize = shape.iter().product();
        if data.len() != expected {
            return Err(self.data_err(
                name,
                format!(
                    "read {} values, expected {expected} for shape {shape:?}",
                    data.len()
                ),
            ));
        }
        Ok(Array { dims, shape, data })
    }

    fn missing(&self, name: &str) -> Error {
        Error::Missing {
            path: self.path.clone(),
            what: "variable",
            key: name.to_string(),
        }
    }

    fn data_err(&self, variable: &str, detail: String) -> Error {
        Error::Data {
            path: self.path.clone(),
            variable: variable.to_string(),
            detail,
        }
    }
}

fn coord_err(path: &Path, variable: &str, detail: String) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        variable: variable.to_string(),
        detail,
    }
}

/// Applies the latitude rule of [`grid::lat_problem`].
fn check_lat(path: &Path, lat: &[f32]) -> Result<()> {
    match grid::lat_problem(lat) {
        Some(problem) => Err(coord_err(path, "lat", problem)),
        None => Ok(()),
    }
}

/// Applies the longitude rule of [`grid::lon_problem`].
fn check_lon(path: &Path, lon: &[f32]) -> Result<()> {
    match grid::lon_problem(lon) {
        Some(problem) => Err(coord_err(path, "lon", problem)),
        None => Ok(()),
    }
}

/// Reads the `level` coordinate: whole, positive, distinct values (hPa).
fn read_levels(file: &NcFile, path: &Path, var: &NcVariable) -> Result<Vec<i32>> {
    let values = netcdf_io::read_f64(file, path, var, None)?;
    let mut levels = Vec::with_capacity(values.len());
    for x in values {
        if !(x.fract() == 0.0 && x > 0.0 && x <= f64::from(i32::MAX)) {
            return Err(coord_err(
                path,
                "level",
                format!("value {x} is not a positive whole number of hPa"),
            ));
        }
        let l = x as i32;
        if levels.contains(&l) {
            return Err(coord_err(path, "level", format!("value {l} appears twice")));
        }
        levels.push(l);
    }
    Ok(levels)
}

/// Decodes the `time` coordinate (time deltas with `units` like "hours") to nanoseconds.
fn read_timedelta(file: &NcFile, path: &Path, var: &NcVariable) -> Result<Vec<i64>> {
    let units = netcdf_io::var_attr_text(var, "units")
        .ok_or_else(|| coord_err(path, TIME_DIM, "has no `units` attribute".into()))?;
    if netcdf_time::parse_since_units(&units).is_some() {
        return Err(coord_err(
            path,
            TIME_DIM,
            format!("units `{units}` are absolute times; expected time offsets (timedelta)"),
        ));
    }
    let per = netcdf_time::unit_ns(&units)
        .ok_or_else(|| coord_err(path, TIME_DIM, format!("unknown time units `{units}`")))?;
    scale_times(path, TIME_DIM, file, var, per, 0)
}

/// Decodes the `datetime` coordinate ((batch, time) or (time)) to ns since epoch, batch 0.
fn read_datetime(file: &NcFile, path: &Path, var: &NcVariable) -> Result<Vec<i64>> {
    let name = var.name.as_str();
    let units = netcdf_io::var_attr_text(var, "units")
        .ok_or_else(|| coord_err(path, name, "has no `units` attribute".into()))?;
    let (per, epoch) = netcdf_time::parse_since_units(&units).ok_or_else(|| {
        coord_err(
            path,
            name,
            format!("units `{units}` are not of the form `<unit> since <date>`"),
        )
    })?;
    if let Some(cal) = netcdf_io::var_attr_text(var, "calendar") {
        if !netcdf_time::is_gregorian(&cal) {
            return Err(coord_err(
                path,
                name,
                format!(
                    "calendar `{cal}` is not supported (expected standard/proleptic_gregorian)"
                ),
            ));
        }
    }
    let all = scale_times(path, name, file, var, per, epoch)?;
    let dims: Vec<&str> = var.dimensions.iter().map(|d| d.name.as_str()).collect();
    match dims.as_slice() {
        [TIME_DIM] => Ok(all),
        [BATCH_DIM, TIME_DIM] => Ok(all
            .into_iter()
            .take(var.dimensions[1].size as usize)
            .collect()),
        _ => Err(coord_err(
            path,
            name,
            format!("expected dims (batch, time) or (time), found {dims:?}"),
        )),
    }
}

/// Converts stored time values to nanoseconds: value * unit + epoch, exactly for integers.
fn scale_times(
    path: &Path,
    name: &str,
    file: &NcFile,
    var: &NcVariable,
    per: i64,
    epoch: i64,
) -> Result<Vec<i64>> {
    let overflow = || coord_err(path, name, "time value overflows 64-bit nanoseconds".into());
    let is_float = matches!(
        var.dtype,
        netcdf_reader::NcType::Float | netcdf_reader::NcType::Double
    );
    if is_float {
        let values = netcdf_io::read_f64(file, path, var, None)?;
        values
            .into_iter()
            .map(|x| {
                if !x.is_finite() {
                    return Err(coord_err(path, name, "contains missing (NaN) times".into()));
                }
                let ns = (x * per as f64).round();
                if ns.abs() > 9.2e18 {
                    return Err(overflow());
                }
                (ns as i64).checked_add(epoch).ok_or_else(overflow)
            })
            .collect()
    } else {
        let values = netcdf_io::read_i64(file, path, var)?;
        values
            .into_iter()
            .map(|x| {
                x.checked_mul(per)
                    .and_then(|v| v.checked_add(epoch))
                    .ok_or_else(overflow)
            })
            .collect()
    }
}
