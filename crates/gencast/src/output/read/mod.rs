//! Reading forecast outputs back: NetCDF files (CDF-1/2/5, NetCDF-4) and Zarr stores (v3, or
//! v2 with `_ARRAY_DIMENSIONS`), in the reference layout (`sample, batch, time[, level], lat,
//! lon`) or the WeatherBench-2 layout (`realization, time, prediction_timedelta[, level],
//! latitude, longitude`), with any selection written (some variables or levels, a regional
//! grid whose longitudes may run below 0°, every Nth step), presented as one view: members,
//! lead times, valid times, levels, latitudes, longitudes, variables and their units.
//!
//! Input datasets in the reference layout (`batch, time[, level], lat, lon`, with a `datetime`
//! coordinate) read the same way, as a one-member "ensemble" whose lead times are the `time`
//! offsets; [`ForecastOutput::is_ensemble`] tells the two apart. Analysis stores whose `time`
//! holds absolute times (WeatherBench-2 / ARCO-ERA5 ERA5) read alike, those times being their
//! valid times.

pub mod climatology;
mod convert;
mod source;

use std::ops::Range;
use std::path::{Path, PathBuf};

pub use climatology::Climatology;
pub use convert::zarr_to_netcdf;
pub use source::ArrayInfo;
use source::Source;

use crate::data::netcdf_time;
use crate::{Error, Result};

/// Names of the ensemble member dimension.
const MEMBER_NAMES: [&str; 4] = ["sample", "realization", "member", "number"];
/// Names of the latitude dimension.
const LAT_NAMES: [&str; 2] = ["lat", "latitude"];
/// Names of the longitude dimension.
const LON_NAMES: [&str; 2] = ["lon", "longitude"];
/// Name of the pressure level dimension.
const LEVEL_NAME: &str = "level";
/// The WeatherBench-2 lead time dimension; its presence selects that layout.
const WB2_LEAD: &str = "prediction_timedelta";

/// Which names the file uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputLayout {
    /// `sample, batch, time[, level], lat, lon` (`time`: lead times).
    Reference,
    /// `realization, time, prediction_timedelta[, level], latitude, longitude` (`time`:
    /// initialisation time).
    WeatherBench2,
}

/// One gridded variable.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputVariable {
    /// Variable name.
    pub name: String,
    /// Whether it has a pressure level dimension.
    pub levelled: bool,
    /// Whether it has a lead time dimension (static fields have none).
    pub timed: bool,
    /// Its `units` attribute.
    pub units: Option<String>,
    /// Whether it has the ensemble member dimension (false for the statistics of an
    /// `--ensemble-summary` output and for static fields).
    pub per_member: bool,
}

/// The ensemble statistic a summary variable holds: `mean`, `std` or `qP` (P a percentage).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SummaryStatistic {
    /// Ensemble mean.
    Mean,
    /// Ensemble standard deviation.
    Std,
    /// The P-th percentile.
    Percentile(f64),
}

impl OutputVariable {
    /// For a summary variable `{statistic}__{base}` without a member dimension: the statistic
    /// and the base variable's name.
    pub fn summary(&self) -> Option<(SummaryStatistic, &str)> {
        if self.per_member {
            return None;
        }
        let (stat, base) = self.name.split_once("__")?;
        let stat = match stat {
            "mean" => SummaryStatistic::Mean,
            "std" => SummaryStatistic::Std,
            q => SummaryStatistic::Percentile(
                q.strip_prefix('q')?
                    .parse::<f64>()
                    .ok()
                    .filter(|p| (0.0..=100.0).contains(p))?,
            ),
        };
        (!base.is_empty()).then_some((stat, base))
    }
}

/// The role a dimension plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Member,
    Init,
    Lead,
    Level,
    Lat,
    Lon,
    /// Any other dimension of size 1 (index 0 is read).
    Single,
}

/// The dimension names of one opened file.
#[derive(Clone, Debug)]
struct DimNames {
    member: Option<String>,
    init: &'static str,
    lead: &'static str,
    lat: String,
    lon: String,
}

/// A forecast output (or reference-layout dataset) opened for reading.
pub struct ForecastOutput {
    path: PathBuf,
    source: Source,
    arrays: Vec<ArrayInfo>,
    layout: OutputLayout,
    names: DimNames,
    members: Vec<i64>,
    leads: Vec<i64>,
    valid: Vec<i64>,
    init_time: Option<i64>,
    levels: Vec<i32>,
    lat: Vec<f32>,
    lon: Vec<f32>,
    variables: Vec<OutputVariable>,
}

impl std::fmt::Debug for ForecastOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForecastOutput")
            .field("path", &self.path)
            .field("layout", &self.layout)
            .field("variables", &self.variables.len())
            .finish()
    }
}

fn data_err(path: &Path, variable: &str, detail: String) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        variable: variable.to_string(),
        detail,
    }
}

impl ForecastOutput {
    /// Opens a NetCDF file or (for a folder) a Zarr store and reads its coordinates.
    pub fn open(path: impl AsRef<Path>) -> Result<ForecastOutput> {
        let path = path.as_ref().to_path_buf();
        let (source, arrays) = Source::open(&path)?;
        check_dimension_sizes(&path, &arrays)?;
        let has_dim = |d: &str| arrays.iter().any(|a| a.dims.iter().any(|x| x == d));
        let layout = if has_dim(WB2_LEAD) {
            OutputLayout::WeatherBench2
        } else {
            OutputLayout::Reference
        };
        let (init, lead) = match layout {
            OutputLayout::Reference => ("batch", "time"),
            OutputLayout::WeatherBench2 => ("time", WB2_LEAD),
        };
        let find = |set: &[&str]| set.iter().find(|d| has_dim(d)).map(|d| d.to_string());
        let missing = |key: &str| Error::Missing {
            path: path.clone(),
            what: "coordinate",
            key: key.to_string(),
        };
        let names = DimNames {
            member: find(&MEMBER_NAMES),
            init,
            lead,
            lat: find(&LAT_NAMES).ok_or_else(|| missing("lat"))?,
            lon: find(&LON_NAMES).ok_or_else(|| missing("lon"))?,
        };
        let mut out = ForecastOutput {
            path,
            source,
            arrays,
            layout,
            names,
            members: Vec::new(),
            leads: Vec::new(),
            valid: Vec::new(),
            init_time: None,
            levels: Vec::new(),
            lat: Vec::new(),
            lon: Vec::new(),
            variables: Vec::new(),
        };
        out.read_coordinates()?;
        out.find_variables()?;
        Ok(out)
    }

    fn array(&self, name: &str) -> Option<&ArrayInfo> {
        self.arrays.iter().find(|a| a.name == name)
    }

    fn dim_size(&self, dim: &str) -> Option<usize> {
        self.arrays
            .iter()
            .find_map(|a| a.dims.iter().position(|d| d == dim).map(|i| a.shape[i]))
    }

    /// Reads a 1-d coordinate, or None when the file has no array of that name.
    fn coord_f64(&self, name: &str) -> Result<Option<Vec<f64>>> {
        match self.array(name) {
            None => Ok(None),
            Some(_) => Ok(Some(self.source.read_f64(&self.path, name, None)?)),
        }
    }

    /// Decodes an absolute time array (`<unit> since <date>`) to ns since the epoch.
    fn abs_times(&self, name: &str) -> Result<Option<Vec<i64>>> {
        let Some(values) = self.coord_f64(name)? else {
            return Ok(None);
        };
        let units = self.source.attr_text(name, "units").unwrap_or_default();
        let (per, epoch) = netcdf_time::parse_since_units(&units).ok_or_else(|| {
            data_err(
                &self.path,
                name,
                format!("units `{units}` are not of the form `<unit> since <date>`"),
            )
        })?;
        values
            .into_iter()
            .map(|x| to_ns(x, per).and_then(|v| v.checked_add(epoch)))
            .collect::<Option<Vec<i64>>>()
            .map(Some)
            .ok_or_else(|| data_err(&self.path, name, "missing or out-of-range times".into()))
    }

    fn read_coordinates(&mut self) -> Result<()> {
        let path = self.path.clone();
        if let Some(n) = self.dim_size(self.names.init) {
            if n != 1 {
                return Err(data_err(
                    &path,
                    self.names.init,
                    format!(
                        "{n} initialisation times; one is read at a time (select one, e.g. with \
                         xarray's `isel({}=[k])`)",
                        self.names.init
                    ),
                ));
            }
        }
        // Members.
        self.members = match &self.names.member {
            Some(m) => match self.coord_f64(m)? {
                Some(v) => v.into_iter().map(|x| x as i64).collect(),
                None => (0..self.dim_size(m).unwrap_or(0) as i64).collect(),
            },
            None => vec![0],
        };
        // Lead times.
        let lead = self.names.lead;
        let units = self.source.attr_text(lead, "units").unwrap_or_default();
        // An analysis store (WeatherBench-2 / ARCO-ERA5) has absolute times along `time`: they
        // are its valid times, counted as leads from the first.
        let mut absolute = None;
        if self.layout == OutputLayout::Reference
            && netcdf_time::parse_since_units(&units).is_some()
        {
            let t = self.abs_times(lead)?.unwrap_or_default();
            self.leads = t
                .iter()
                .map(|x| x.checked_sub(t[0]))
                .collect::<Option<_>>()
                .ok_or_else(|| data_err(&path, lead, "times too far apart".into()))?;
            absolute = Some(t);
        } else if let Some(values) = self.coord_f64(lead)? {
            let per = netcdf_time::unit_ns(&units).ok_or_else(|| {
                data_err(
                    &path,
                    lead,
                    format!("units `{units}` are not time offsets (e.g. `hours`)"),
                )
            })?;
            self.leads = values
                .into_iter()
                .map(|x| to_ns(x, per))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    data_err(&path, lead, "missing or out-of-range lead times".into())
                })?;
        } else if let Some(n) = self.dim_size(lead) {
            return Err(data_err(
                &path,
                lead,
                format!("dimension of {n} lead times has no coordinate"),
            ));
        }
        // Initialisation and valid times.
        let init_name = match self.layout {
            OutputLayout::Reference => "init_time",
            OutputLayout::WeatherBench2 => "time",
        };
        self.init_time = match self.abs_times(init_name)? {
            Some(t) => t.first().copied(),
            None => self
                .abs_times("forecast_reference_time")?
                .and_then(|t| t.first().copied()),
        };
        let valid_name = match self.layout {
            OutputLayout::Reference => "datetime",
            OutputLayout::WeatherBench2 => "valid_time",
        };
        self.valid = match (self.abs_times(valid_name)?, absolute, self.init_time) {
            (Some(v), _, _) => v.into_iter().take(self.leads.len()).collect(),
            (None, Some(t), _) => t,
            (None, None, Some(init)) => self
                .leads
                .iter()
                .map(|l| init.checked_add(*l))
                .collect::<Option<_>>()
                .ok_or_else(|| data_err(&path, lead, "valid times out of range".into()))?,
            (None, None, None) => Vec::new(),
        };
        if !self.valid.is_empty() && self.valid.len() != self.leads.len() {
            return Err(data_err(
                &path,
                valid_name,
                format!(
                    "{} valid times for {} lead times",
                    self.valid.len(),
                    self.leads.len()
                ),
            ));
        }
        // Levels.
        if let Some(values) = self.coord_f64(LEVEL_NAME)? {
            let scale = match self.source.attr_text(LEVEL_NAME, "units").as_deref() {
                Some("Pa") => 0.01,
                _ => 1.0,
            };
            self.levels = values
                .into_iter()
                .map(|x| {
                    let hpa = x * scale;
                    (hpa.fract() == 0.0 && hpa > 0.0 && hpa < 1e6)
                        .then_some(hpa as i32)
                        .ok_or_else(|| {
                            data_err(
                                &path,
                                LEVEL_NAME,
                                format!("level {x} is not a positive whole number of hPa"),
                            )
                        })
                })
                .collect::<Result<_>>()?;
        }
        // Grid.
        let (lat, lon) = (self.names.lat.clone(), self.names.lon.clone());
        let mut grid = Vec::with_capacity(2);
        for name in [&lat, &lon] {
            let values = self.coord_f64(name)?.ok_or_else(|| Error::Missing {
                path: path.clone(),
                what: "coordinate",
                key: name.clone(),
            })?;
            if values.iter().any(|x| !x.is_finite()) {
                return Err(data_err(&path, name, "contains non-finite values".into()));
            }
            grid.push(values.into_iter().map(|x| x as f32).collect::<Vec<f32>>());
        }
        self.lon = grid.pop().unwrap_or_default();
        self.lat = grid.pop().unwrap_or_default();
        for (name, n) in [(&lat, self.lat.len()), (&lon, self.lon.len())] {
            if n == 0 {
                return Err(data_err(&path, name, "has no values".into()));
            }
        }
        // Every coordinate holds one value per index of its dimension.
        let mut counts = vec![
            (lat, self.lat.len()),
            (lon, self.lon.len()),
            (LEVEL_NAME.to_string(), self.levels.len()),
            (lead.to_string(), self.leads.len()),
        ];
        if let Some(m) = &self.names.member {
            counts.push((m.clone(), self.members.len()));
        }
        for (dim, have) in counts {
            let coord = self.array(&dim).is_some() || dim == lead;
            match self.dim_size(&dim) {
                Some(n) if coord && n != have => {
                    return Err(data_err(
                        &path,
                        &dim,
                        format!("the dimension has {n} values, but the coordinate has {have}"),
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The role of dimension `dim`.
    fn role(&self, dim: &str) -> Option<Role> {
        let n = &self.names;
        Some(if n.member.as_deref() == Some(dim) {
            Role::Member
        } else if dim == n.init {
            Role::Init
        } else if dim == n.lead {
            Role::Lead
        } else if dim == LEVEL_NAME {
            Role::Level
        } else if dim == n.lat {
            Role::Lat
        } else if dim == n.lon {
            Role::Lon
        } else if self.dim_size(dim) == Some(1) {
            Role::Single
        } else {
            return None;
        })
    }

    fn find_variables(&mut self) -> Result<()> {
        let dim_names: Vec<&String> = self.arrays.iter().flat_map(|a| &a.dims).collect();
        // Cell bounds (e.g. `time_bnds` of an accumulation) are coordinates, not fields.
        let bounds: Vec<String> = self
            .arrays
            .iter()
            .filter_map(|a| self.source.attr_text(&a.name, "bounds"))
            .collect();
        let mut vars = Vec::new();
        for a in &self.arrays {
            if dim_names.contains(&&a.name) || bounds.contains(&a.name) {
                continue;
            }
            let roles: Option<Vec<Role>> = a.dims.iter().map(|d| self.role(d)).collect();
            let Some(roles) = roles else { continue };
            let has = |r: Role| roles.contains(&r);
            let time_coord = [
                "datetime",
                "valid_time",
                "init_time",
                "forecast_reference_time",
            ]
            .contains(&a.name.as_str());
            if time_coord || !has(Role::Lat) || !has(Role::Lon) {
                continue;
            }
            let distinct = |r: Role| roles.iter().filter(|&&x| x == r).count() <= 1;
            if ![
                Role::Member,
                Role::Init,
                Role::Lead,
                Role::Level,
                Role::Lat,
                Role::Lon,
            ]
            .into_iter()
            .all(distinct)
            {
                return Err(data_err(
                    &self.path,
                    &a.name,
                    format!("dims {:?} repeat a role", a.dims),
                ));
            }
            vars.push(OutputVariable {
                name: a.name.clone(),
                levelled: has(Role::Level),
                timed: has(Role::Lead),
                units: self.source.attr_text(&a.name, "units"),
                per_member: has(Role::Member),
            });
        }
        self.variables = vars;
        Ok(())
    }

    /// The file or store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Which names the file uses.
    pub fn layout(&self) -> OutputLayout {
        self.layout
    }

    /// Whether the file has an ensemble member dimension (a forecast output rather than an
    /// input dataset).
    pub fn is_ensemble(&self) -> bool {
        self.names.member.is_some()
    }

    /// Ensemble member numbers (`[0]` without a member dimension).
    pub fn members(&self) -> &[i64] {
        &self.members
    }

    /// Lead times in nanoseconds.
    pub fn lead_times(&self) -> &[i64] {
        &self.leads
    }

    /// Valid time of each lead time in ns since 1970-01-01 UTC (empty when the file has none).
    pub fn valid_times(&self) -> &[i64] {
        &self.valid
    }

    /// Initialisation time in ns since 1970-01-01 UTC, when the file has one.
    pub fn init_time(&self) -> Option<i64> {
        self.init_time
    }

    /// Pressure levels (hPa) of the levelled variables.
    pub fn levels(&self) -> &[i32] {
        &self.levels
    }

    /// Latitudes in file order.
    pub fn lat(&self) -> &[f32] {
        &self.lat
    }

    /// Longitudes in file order (a region crossing 0° runs below 0).
    pub fn lon(&self) -> &[f32] {
        &self.lon
    }

    /// The gridded variables.
    pub fn variables(&self) -> &[OutputVariable] {
        &self.variables
    }

    /// One gridded variable.
    pub fn variable(&self, name: &str) -> Option<&OutputVariable> {
        self.variables.iter().find(|v| v.name == name)
    }

    /// Reads variable `name` at lead time index `lead` (ignored for static fields): all members
    /// and levels, laid out `[member][level][lat][lon]` whatever the file's dimension order.
    pub fn read(&self, name: &str, lead: usize) -> Result<Vec<f32>> {
        let var = self.variable(name).ok_or_else(|| Error::Missing {
            path: self.path.clone(),
            what: "variable",
            key: name.to_string(),
        })?;
        let info = self
            .array(&var.name)
            .ok_or_else(|| data_err(&self.path, name, "array vanished".into()))?;
        if var.timed && lead >= self.leads.len() {
            return Err(data_err(
                &self.path,
                name,
                format!(
                    "lead time index {lead} out of range for {} lead times",
                    self.leads.len()
                ),
            ));
        }
        let mut ranges: Vec<Range<usize>> = Vec::with_capacity(info.dims.len());
        // Kept dims: (canonical position, size) in file order.
        let mut kept: Vec<(usize, usize)> = Vec::new();
        for (d, &size) in info.dims.iter().zip(&info.shape) {
            let role = self
                .role(d)
                .ok_or_else(|| data_err(&self.path, name, format!("unknown dimension `{d}`")))?;
            let (range, pos) = match role {
                Role::Init | Role::Single => (0..1.min(size), None),
                Role::Lead => (lead..lead + 1, None),
                Role::Member => (0..size, Some(0)),
                Role::Level => (0..size, Some(1)),
                Role::Lat => (0..size, Some(2)),
                Role::Lon => (0..size, Some(3)),
            };
            if let Some(p) = pos {
                kept.push((p, size));
            }
            ranges.push(range);
        }
        let data = self.source.read_f32(&self.path, &var.name, Some(&ranges))?;
        let expected: usize = kept.iter().map(|k| k.1).product();
        if data.len() != expected {
            return Err(data_err(
                &self.path,
                name,
                format!("read {} values, expected {expected}", data.len()),
            ));
        }
        Ok(to_canonical(&data, &kept))
    }
}

/// Fails unless every dimension has one size in all the arrays that use it (a Zarr store keeps
/// a shape per array, which a damaged or hand-made store may not keep consistent).
fn check_dimension_sizes(path: &Path, arrays: &[ArrayInfo]) -> Result<()> {
    let mut seen: Vec<(&str, usize, &str)> = Vec::new();
    for a in arrays {
        for (d, &n) in a.dims.iter().zip(&a.shape) {
            match seen.iter().find(|(name, _, _)| name == d) {
                Some(&(_, m, other)) if m != n => {
                    return Err(data_err(
                        path,
                        &a.name,
                        format!("dimension `{d}` has {n} values here and {m} in `{other}`"),
                    ))
                }
                Some(_) => {}
                None => seen.push((d, n, &a.name)),
            }
        }
    }
    Ok(())
}

/// Converts a time value in units of `per` ns to ns (None when missing or out of range).
fn to_ns(x: f64, per: i64) -> Option<i64> {
    let ns = (x * per as f64).round();
    (x.is_finite() && ns.abs() < 9.2e18).then_some(ns as i64)
}

/// Reorders `data`, whose dims are `kept` (canonical position, size) in file order, into
/// canonical order (positions ascending).
fn to_canonical(data: &[f32], kept: &[(usize, usize)]) -> Vec<f32> {
    let count = kept.iter().try_fold(1usize, |a, k| a.checked_mul(k.1));
    if count != Some(data.len()) {
        // Sizes that disagree give nothing; callers compare with the size they expect.
        return Vec::new();
    }
    if kept.windows(2).all(|w| w[0].0 < w[1].0) {
        return data.to_vec();
    }
    let n = kept.len();
    // Strides of the file order.
    let mut file_stride = vec![1usize; n];
    for i in (0..n.saturating_sub(1)).rev() {
        file_stride[i] = file_stride[i + 1] * kept[i + 1].1;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| kept[i].0);
    let shape: Vec<usize> = order.iter().map(|&i| kept[i].1).collect();
    let strides: Vec<usize> = order.iter().map(|&i| file_stride[i]).collect();
    let mut out = Vec::with_capacity(data.len());
    let mut idx = vec![0usize; n];
    for _ in 0..data.len() {
        let src: usize = idx.iter().zip(&strides).map(|(i, s)| i * s).sum();
        out.push(data[src]);
        for k in (0..n).rev() {
            idx[k] += 1;
            if idx[k] < shape[k] {
                break;
            }
            idx[k] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_order_transposes_file_order() {
        // File order (lon=2, lat=3): value = 10·lon + lat.
        let data: Vec<f32> = (0..2)
            .flat_map(|x| (0..3).map(move |y| (10 * x + y) as f32))
            .collect();
        let out = to_canonical(&data, &[(3, 2), (2, 3)]);
        assert_eq!(out, vec![0.0, 10.0, 1.0, 11.0, 2.0, 12.0]);
    }
}
