//! The forecast file: predictions laid out like the reference's rollout output,
//! `(sample, batch, time[, level], lat, lon)`, written member by member and step by step.
//!
//! A resumable file ([`ForecastWriter::open_resumable`]) is written under its temporary name
//! (`NAME.nc.tmp`, see [`tmp_name`]) with a progress record next to it (`NAME.nc.tmp.progress`,
//! see [`progress_name`]): a small JSON file holding the run's identity (members, lead times,
//! variables, levels, grid, initialisation time, seed, sampler settings, history) and the
//! (member, step) pairs whose data are on disk. A step is recorded only after its data are
//! synced, and the record is replaced atomically (written aside, synced, renamed), so a killed
//! run loses at most the step in flight. On success the file is renamed to its final name and
//! the record removed.

use std::path::Path;

use serde_json::Value;

pub(crate) mod progress;

pub use super::netcdf::tmp_name;
use super::netcdf::NcWriter;
pub use super::netcdf::{NcHeader, NcType, VarDecl};
use crate::forecast::{AttrValue, CoordValues, ForecastLayout, Naming, OutputVariable, WriteMode};
use crate::{Error, Result};
pub use progress::progress_name;
use progress::{identity, Progress};

/// Checks, without changing anything, that writing `path` in `mode` discards nothing silently:
/// an unfinished run's file (temporary file and progress record) needs `resume` or
/// `overwrite`, an existing final file needs `overwrite`, and no other process may be writing
/// the output. Call it before any computation; [`ForecastWriter::open_resumable`] checks again
/// under its lock.
pub fn preflight(path: &Path, mode: WriteMode) -> Result<()> {
    let tmp = tmp_name(path);
    if tmp.is_file() {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&tmp)
            .map_err(|e| Error::io(&tmp, e))?;
        super::guard::lock_exclusive(&f, &tmp, path)?;
    }
    refuse_discarding(path, tmp.is_file() && progress_name(path).is_file(), mode)
}

/// The checks of [`preflight`] that concern earlier results.
pub(crate) fn refuse_discarding(path: &Path, partial: bool, mode: WriteMode) -> Result<()> {
    if partial && !mode.resume && !mode.overwrite {
        return Err(Error::Invalid(format!(
            "{}: an interrupted run of this output exists ({} and {}); add WriteMode::resume to continue it, or WriteMode::overwrite to discard it \
             and start over",
            path.display(),
            tmp_name(path).display(),
            progress_name(path).display()
        )));
    }
    if path.exists() && !mode.overwrite {
        return Err(Error::Invalid(format!(
            "{} already exists; add WriteMode::overwrite to replace it, or choose another output path",
            path.display()
        )));
    }
    Ok(())
}

/// A forecast file being written.
pub struct ForecastWriter {
    nc: Option<NcWriter>,
    layout: ForecastLayout,
    var_index: Vec<usize>,
    progress: Option<Progress>,
    resumed: Option<usize>,
}

fn text(s: &str) -> AttrValue {
    AttrValue::Text(s.to_string())
}

fn attrs(list: &[(&str, AttrValue)]) -> Vec<(String, AttrValue)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// One coordinate variable of a forecast output: name, dimension names, CF attributes and
/// values (their type is the variable's).
#[derive(Clone, Debug)]
pub struct Coordinate {
    /// Variable name.
    pub name: String,
    /// Dimension names, slowest first (none for a scalar coordinate).
    pub dims: Vec<&'static str>,
    /// Attributes, in order.
    pub attrs: Vec<(String, AttrValue)>,
    /// Values.
    pub values: CoordValues,
}

/// The name of the bounds dimension of the lead-time bounds.
pub const BOUNDS_DIM: &str = "bnds";

/// The accumulation period (hours) of the layout's accumulated variables, when it has some and
/// they share one period: the lead times then have bounds `[lead − period, lead]`.
pub fn bounds_hours(layout: &ForecastLayout) -> Option<u32> {
    let mut periods = layout
        .variables
        .iter()
        .filter_map(|v| super::cf::accumulation_hours(v.base_name()));
    let first = periods.next()?;
    periods.all(|p| p == first).then_some(first)
}

/// The name of the lead-time bounds variable (`time_bnds`, `prediction_timedelta_bnds`).
pub fn bounds_name(naming: Naming) -> String {
    format!("{}_bnds", naming.names().lead)
}

/// The heights (metres) of the layout's near-surface variables (2 m, 10 m), ascending.
fn heights(layout: &ForecastLayout) -> Vec<u32> {
    let mut h: Vec<u32> = layout
        .variables
        .iter()
        .filter_map(|v| super::cf::height_of(v.base_name()))
        .collect();
    h.sort_unstable();
    h.dedup();
    h
}

/// Whether the layout has a 1-D valid-time coordinate along the lead dimension: the reference
/// layout, whose `datetime` is 2-D, gets `valid_time(time)`; WeatherBench-2's `valid_time` is
/// its own 2-D coordinate and keeps that name.
fn has_valid_time_1d(naming: Naming) -> bool {
    naming == Naming::Reference
}

/// The name of the 1-D valid-time coordinate of the reference layout.
pub const VALID_TIME_1D: &str = "valid_time";

/// The `coordinates` attribute of predicted variable `v`: the non-dimension coordinates.
pub fn variable_coordinates(layout: &ForecastLayout, v: &OutputVariable) -> String {
    let n = layout.naming.names();
    let mut list = vec![n.valid_time.to_string()];
    if has_valid_time_1d(layout.naming) {
        list.push(VALID_TIME_1D.to_string());
    }
    if n.init_time != n.init_dim {
        list.push(n.init_time.to_string());
    }
    list.extend(["forecast_period".into(), "forecast_reference_time".into()]);
    if let Some(h) = super::cf::height_of(v.base_name()) {
        list.push(super::cf::height_name(h));
    }
    list.join(" ")
}

/// The CF attributes of predicted variable `v` of `layout`, in file order.
pub fn variable_attributes(
    layout: &ForecastLayout,
    v: &OutputVariable,
) -> Vec<(String, AttrValue)> {
    let mut a = vec![(
        "coordinates".to_string(),
        text(&variable_coordinates(layout, v)),
    )];
    a.extend(
        super::cf::attributes(v.base_name(), v.units.as_deref())
            .into_iter()
            .map(|(k, val)| (k.to_string(), AttrValue::Text(val))),
    );
    if let Some(m) = super::cf::cell_methods(
        v.base_name(),
        layout.naming.names().lead,
        bounds_hours(layout).is_some(),
    ) {
        a.push(("cell_methods".to_string(), text(&m)));
    }
    if let Some(stat) = &v.statistic {
        a.push(("ensemble_statistic".to_string(), text(stat)));
    }
    a
}

fn cf_attrs(list: Vec<(&'static str, String)>) -> Vec<(String, AttrValue)> {
    list.into_iter()
        .map(|(k, v)| (k.to_string(), AttrValue::Text(v)))
        .collect()
}

/// The coordinate variables of a forecast output of `layout`, in file order.
pub fn coordinates(layout: &ForecastLayout) -> Vec<Coordinate> {
    let n = layout.naming.names();
    let since = format!("hours since {}", layout.init_time);
    let hours: Vec<f64> = layout.lead_hours.iter().map(|&h| h as f64).collect();
    let bounds = bounds_hours(layout);
    let coord = |name: &str, dims: &[&'static str], attrs, values| Coordinate {
        name: name.to_string(),
        dims: dims.to_vec(),
        attrs,
        values,
    };
    let mut lead_attrs = attrs(&[
        ("long_name", text("lead time")),
        ("units", text("hours")),
        ("dtype", text("timedelta64[ns]")),
    ]);
    if bounds.is_some() {
        lead_attrs.push(("bounds".into(), text(&bounds_name(layout.naming))));
    }
    let mut out = vec![
        coord(
            n.member,
            &[n.member],
            cf_attrs(super::cf::realization()),
            CoordValues::Int(layout.members.clone()),
        ),
        coord(
            n.lead,
            &[n.lead],
            lead_attrs,
            CoordValues::Int(layout.lead_hours.clone()),
        ),
        coord(
            n.valid_time,
            &[n.init_dim, n.lead],
            cf_attrs(super::cf::valid_time(&since)),
            CoordValues::Double(hours.clone()),
        ),
        coord(
            n.init_time,
            &[n.init_dim],
            attrs(&[
                ("long_name", text("initialisation time")),
                ("standard_name", text("forecast_reference_time")),
                ("units", text(&since)),
                ("calendar", text("proleptic_gregorian")),
            ]),
            CoordValues::Double(vec![0.0]),
        ),
        coord(
            n.level,
            &[n.level],
            cf_attrs(super::cf::pressure_level()),
            CoordValues::Int(layout.levels.clone()),
        ),
        coord(
            n.lat,
            &[n.lat],
            cf_attrs(super::cf::latitude()),
            CoordValues::Float(layout.lat.clone()),
        ),
        coord(
            n.lon,
            &[n.lon],
            cf_attrs(super::cf::longitude()),
            CoordValues::Float(layout.lon.clone()),
        ),
        coord(
            "forecast_period",
            &[n.lead],
            attrs(&[
                ("long_name", text("time since the forecast reference time")),
                ("standard_name", text("forecast_period")),
                ("units", text("hours")),
                ("dtype", text("timedelta64[ns]")),
            ]),
            CoordValues::Int(layout.lead_hours.clone()),
        ),
        coord(
            "forecast_reference_time",
            &[n.init_dim],
            attrs(&[
                ("long_name", text("forecast reference time")),
                ("standard_name", text("forecast_reference_time")),
                ("units", text(&since)),
                ("calendar", text("proleptic_gregorian")),
            ]),
            CoordValues::Double(vec![0.0]),
        ),
    ];
    if has_valid_time_1d(layout.naming) {
        out.push(coord(
            VALID_TIME_1D,
            &[n.lead],
            cf_attrs(super::cf::valid_time(&since)),
            CoordValues::Double(hours),
        ));
    }
    if let Some(period) = bounds {
        // Each lead's cell is the accumulation period ending at it, in the lead's units.
        let b: Vec<i32> = layout
            .lead_hours
            .iter()
            .flat_map(|&h| [h.saturating_sub(period as i32), h])
            .collect();
        out.push(coord(
            &bounds_name(layout.naming),
            &[n.lead, BOUNDS_DIM],
            attrs(&[("units", text("hours")), ("dtype", text("timedelta64[ns]"))]),
            CoordValues::Int(b),
        ));
    }
    for h in heights(layout) {
        out.push(coord(
            &super::cf::height_name(h),
            &[],
            cf_attrs(super::cf::height()),
            CoordValues::Double(vec![f64::from(h)]),
        ));
    }
    out
}

/// The file's header for `layout` and the index of each predicted variable in it.
fn build_header(layout: &ForecastLayout) -> (NcHeader, Vec<usize>) {
    let mut h = NcHeader::default();
    let n = layout.naming.names();
    let mut dims = vec![
        (n.member, layout.members.len()),
        (n.init_dim, 1),
        (n.lead, layout.lead_hours.len()),
        (n.level, layout.levels.len()),
        (n.lat, layout.lat.len()),
        (n.lon, layout.lon.len()),
    ];
    if bounds_hours(layout).is_some() {
        dims.push((BOUNDS_DIM, 2));
    }
    for (name, len) in &dims {
        h.add_dim(name, *len);
    }
    let dim = |name: &str| dims.iter().position(|(d, _)| *d == name).unwrap_or(0);
    let (d_sample, d_batch, d_time, d_level, d_lat, d_lon) = (0, 1, 2, 3, 4, 5);
    h.attrs = attrs(&[
        ("Conventions", text(super::cf::CONVENTIONS)),
        ("title", text("GenCast ensemble forecast")),
        ("history", text(&layout.history)),
    ]);
    for c in coordinates(layout) {
        let ty = match c.values {
            CoordValues::Int(_) => NcType::Int,
            CoordValues::Float(_) => NcType::Float,
            CoordValues::Double(_) => NcType::Double,
        };
        let d: Vec<usize> = c.dims.iter().map(|x| dim(x)).collect();
        h.add_var(&c.name, &d, ty, c.attrs);
    }
    let mut var_index = Vec::with_capacity(layout.variables.len());
    for v in &layout.variables {
        let mut dims = if v.per_member() {
            vec![d_sample, d_batch, d_time]
        } else {
            vec![d_batch, d_time]
        };
        if v.levelled {
            dims.push(d_level);
        }
        dims.extend([d_lat, d_lon]);
        let mut a = vec![("_FillValue".to_string(), AttrValue::Float(vec![f32::NAN]))];
        a.extend(variable_attributes(layout, v));
        var_index.push(h.add_var(&v.name, &dims, NcType::Float, a));
    }
    for s in &layout.statics {
        let mut a = vec![("_FillValue".to_string(), AttrValue::Float(vec![f32::NAN]))];
        a.extend(cf_attrs(super::cf::attributes(&s.name, s.units.as_deref())));
        h.add_var(&s.name, &[d_lat, d_lon], NcType::Float, a);
    }
    (h, var_index)
}

/// Writes the static fields of `layout` (declared after the predicted variables).
fn write_statics(nc: &mut NcWriter, layout: &ForecastLayout) -> Result<()> {
    for s in &layout.statics {
        let v = nc.var_index(&s.name)?;
        nc.write_f32(v, 0, &s.data)?;
    }
    Ok(())
}

/// Start (flat element) and length of (member, step) of variable `variable` in `layout` (an
/// ensemble statistic has no member: `member` is ignored).
pub(crate) fn slab_of(
    layout: &ForecastLayout,
    member: usize,
    step: usize,
    variable: usize,
) -> (u64, usize) {
    let v = layout.variables.get(variable);
    let levelled = v.is_some_and(|v| v.levelled);
    let member = if v.is_some_and(|v| !v.per_member()) {
        0
    } else {
        member
    };
    let per_step =
        layout.lat.len() * layout.lon.len() * if levelled { layout.levels.len() } else { 1 };
    (
        ((member * layout.lead_hours.len() + step) * per_step) as u64,
        per_step,
    )
}

/// Number of values of variable `variable` of `layout` in the whole file.
pub(crate) fn variable_len(layout: &ForecastLayout, variable: usize) -> usize {
    let per_member = layout
        .variables
        .get(variable)
        .is_none_or(|v| v.per_member());
    let (_, per_step) = slab_of(layout, 0, 0, variable);
    per_step * layout.lead_hours.len() * if per_member { layout.members.len() } else { 1 }
}

/// The header a forecast file of `layout` has: dimensions, global attributes, the coordinate
/// variables (first, in [`coordinate_values`] order) and then the predicted variables.
pub fn header(layout: &ForecastLayout) -> NcHeader {
    build_header(layout).0
}

/// The values of the coordinate variables, in header order.
pub fn coordinate_values(layout: &ForecastLayout) -> Vec<CoordValues> {
    coordinates(layout).into_iter().map(|c| c.values).collect()
}

/// Writes the coordinate variables.
fn write_coordinates(nc: &mut NcWriter, layout: &ForecastLayout) -> Result<()> {
    for (i, values) in coordinate_values(layout).iter().enumerate() {
        match values {
            CoordValues::Int(v) => nc.write_i32(i, 0, v)?,
            CoordValues::Float(v) => nc.write_f32(i, 0, v)?,
            CoordValues::Double(v) => nc.write_f64(i, 0, v)?,
        }
    }
    Ok(())
}

impl ForecastWriter {
    /// Creates the file (under a temporary name until [`ForecastWriter::finish`]) and writes its
    /// coordinates. Dropped unfinished, it leaves nothing behind.
    pub fn create(path: &Path, layout: ForecastLayout) -> Result<Self> {
        let (h, var_index) = build_header(&layout);
        let mut nc = NcWriter::create(path, h)?;
        write_coordinates(&mut nc, &layout)?;
        write_statics(&mut nc, &layout)?;
        Ok(ForecastWriter {
            nc: Some(nc),
            layout,
            var_index,
            progress: None,
            resumed: None,
        })
    }

    /// Opens a resumable file under an exclusive lock on its temporary file (a second writer of
    /// the same output is refused before it changes anything). With `mode.resume`, an unfinished
    /// file of an earlier run of `path` (its temporary file and progress record) is continued
    /// when it has exactly this layout and `run` settings (e.g. seed, sampler, input file
    /// identities); a mismatch is an error naming the first differing field, and the partial
    /// file is left as it was. The resumed file keeps the `history` of the run that started it.
    /// Without `mode.resume`, an unfinished file is an error unless `mode.overwrite` (then it is
    /// started over), and so is an existing final file. Dropped unfinished after
    /// [`ForecastWriter::complete_step`], the temporary file and record stay for a later resume.
    pub fn open_resumable(
        path: &Path,
        mut layout: ForecastLayout,
        run: &Value,
        mode: WriteMode,
    ) -> Result<Self> {
        let tmp = tmp_name(path);
        let record = progress_name(path);
        let partial = tmp.is_file() && record.is_file();
        let file = super::netcdf::open_locked(path, &tmp)?;
        // From here on this process owns the temporary file and the record.
        let fail = |e: Error| {
            if !partial {
                let _ = std::fs::remove_file(&tmp);
            }
            Err(e)
        };
        if let Err(e) = refuse_discarding(path, partial, mode) {
            return fail(e);
        }
        let ident = identity(&layout, run);
        if mode.resume && partial {
            let (progress, history) = Progress::load(&record, ident, &layout)?;
            layout.history = history;
            let (h, var_index) = build_header(&layout);
            let mut nc = NcWriter::open_partial_locked(path, h, file)?;
            nc.set_keep_on_drop(progress.any_completed());
            let done = progress.count_completed();
            return Ok(ForecastWriter {
                nc: Some(nc),
                layout,
                var_index,
                progress: Some(progress),
                resumed: Some(done),
            });
        }
        match std::fs::remove_file(&record) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return fail(Error::io(&record, e));
            }
            _ => {}
        }
        let (h, var_index) = build_header(&layout);
        // Slots are filled when the file is finished, so each byte of a large forecast is
        // written once.
        let made = NcWriter::create_locked(path, h, file, false).and_then(|mut nc| {
            write_coordinates(&mut nc, &layout)?;
            write_statics(&mut nc, &layout)?;
            nc.sync()?;
            Ok(nc)
        });
        let nc = match made {
            Ok(nc) => nc,
            Err(e) => return fail(e),
        };
        let progress = Progress {
            path: record,
            identity: ident,
            history: layout.history.clone(),
            completed: vec![vec![false; layout.lead_hours.len()]; layout.members.len()],
        };
        progress.save()?;
        Ok(ForecastWriter {
            nc: Some(nc),
            layout,
            var_index,
            progress: Some(progress),
            resumed: None,
        })
    }

    /// Gives up an unfinished resumable file: its progress record and temporary file are
    /// removed (while this writer still holds the lock), so nothing is left to resume.
    pub fn discard(mut self) {
        if let Some(p) = &self.progress {
            let _ = std::fs::remove_file(&p.path);
        }
        if let Some(nc) = self.nc.as_mut() {
            nc.set_keep_on_drop(false);
        }
    }

    /// When the file continues an earlier run's: how many (member, step) pairs were complete.
    pub fn resumed(&self) -> Option<usize> {
        self.resumed
    }

    /// Whether (member index, step) is recorded as complete.
    pub fn step_complete(&self, member: usize, step: usize) -> bool {
        self.progress
            .as_ref()
            .and_then(|p| p.completed.get(member)?.get(step).copied())
            .unwrap_or(false)
    }

    /// Records (member index, step) as complete, once all its variables are written: the data
    /// are synced to the disk first, then the progress record is replaced.
    pub fn complete_step(&mut self, member: usize, step: usize) -> Result<()> {
        let Some(p) = self.progress.as_mut() else {
            return Ok(());
        };
        let nc = self
            .nc
            .as_mut()
            .ok_or_else(|| Error::Invalid("forecast writer already finished".into()))?;
        let slot = p
            .completed
            .get_mut(member)
            .and_then(|m| m.get_mut(step))
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "member {member}, step {step} is outside the forecast file"
                ))
            })?;
        nc.sync()?;
        *slot = true;
        p.save()?;
        nc.set_keep_on_drop(true);
        Ok(())
    }

    /// Reads back one variable of one member at one step (`[level,] lat, lon`).
    pub fn read_field(&self, member: usize, step: usize, variable: usize) -> Result<Vec<f32>> {
        let (start, len) = self.slab(member, step, variable, None)?;
        self.nc
            .as_ref()
            .ok_or_else(|| Error::Invalid("forecast writer already finished".into()))?
            .read_f32(self.var_index[variable], start, len)
    }

    /// Start and length of one (member, step) of a variable, checking the indices (and the
    /// length of a field to be written).
    fn slab(
        &self,
        member: usize,
        step: usize,
        variable: usize,
        field_len: Option<usize>,
    ) -> Result<(u64, usize)> {
        let l = &self.layout;
        let v = l.variables.get(variable).ok_or_else(|| {
            Error::Invalid(format!(
                "variable index {variable} outside the forecast file's {}",
                l.variables.len()
            ))
        })?;
        let (start, per_step) = slab_of(l, member, step, variable);
        if field_len.is_some_and(|n| n != per_step)
            || member >= l.members.len()
            || step >= l.lead_hours.len()
        {
            return Err(Error::Shape {
                what: format!("forecast field `{}` (member {member}, step {step})", v.name),
                expected: vec![per_step],
                found: vec![field_len.unwrap_or(per_step)],
            });
        }
        Ok((start, per_step))
    }

    /// The layout the file was created with.
    pub fn layout(&self) -> &ForecastLayout {
        &self.layout
    }

    /// Writes one variable of one member at one step: `field` is `[level,] lat, lon`.
    pub fn write_field(
        &mut self,
        member: usize,
        step: usize,
        variable: usize,
        field: &[f32],
    ) -> Result<()> {
        let (start, _) = self.slab(member, step, variable, Some(field.len()))?;
        self.nc
            .as_mut()
            .ok_or_else(|| Error::Invalid("forecast writer already finished".into()))?
            .write_f32(self.var_index[variable], start, field)
    }

    /// Fills every (member, step) not recorded as complete with the fill value (NaN), flushes
    /// the file, gives it its final name and removes the progress record.
    pub fn finish(mut self) -> Result<()> {
        if let (Some(nc), Some(p)) = (self.nc.as_mut(), self.progress.as_ref()) {
            for (m, steps) in p.completed.iter().enumerate() {
                for (s, _) in steps.iter().enumerate().filter(|(_, &done)| !done) {
                    // Ensemble statistics are written whole by their writer, not per member.
                    let per_member = |v: &usize| self.layout.variables[*v].per_member();
                    for v in (0..self.layout.variables.len()).filter(per_member) {
                        let (start, len) = slab_of(&self.layout, m, s, v);
                        nc.fill_f32(self.var_index[v], start, len)?;
                    }
                }
            }
        }
        if let Some(nc) = self.nc.take() {
            nc.finish()?;
        }
        if let Some(p) = self.progress.take() {
            match std::fs::remove_file(&p.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(&p.path, e))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl Drop for ForecastWriter {
    /// Unfinished with no step recorded, the file leaves nothing behind (the temporary file goes
    /// with the [`NcWriter`]); with completed steps, both stay for a resume.
    fn drop(&mut self) {
        if let (Some(_), Some(p)) = (&self.nc, &self.progress) {
            if !p.any_completed() {
                let _ = std::fs::remove_file(&p.path);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A two-member, two-step layout on a 3×4 grid with two levels.
    pub(crate) fn small_layout() -> ForecastLayout {
        ForecastLayout {
            variables: vec![
                OutputVariable {
                    name: "2m_temperature".into(),
                    levelled: false,
                    units: Some("K".into()),
                    statistic: None,
                },
                OutputVariable {
                    name: "geopotential".into(),
                    levelled: true,
                    units: None,
                    statistic: None,
                },
            ],
            levels: vec![500, 850],
            lat: vec![-90.0, 0.0, 90.0],
            lon: vec![0.0, 90.0, 180.0, 270.0],
            members: vec![3, 4],
            lead_hours: vec![12, 24],
            init_time: "2019-03-30T00:00:00".into(),
            history: "test".into(),
            naming: Naming::Reference,
            statics: Vec::new(),
        }
    }

    #[test]
    fn fields_land_at_their_member_and_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.nc");
        let mut w = ForecastWriter::create(&path, small_layout()).unwrap();
        for m in 0..2 {
            for s in 0..2 {
                let t: Vec<f32> = (0..12).map(|i| (100 * m + 10 * s + i) as f32).collect();
                w.write_field(m, s, 0, &t).unwrap();
                let z: Vec<f32> = (0..24).map(|i| -((100 * m + 10 * s + i) as f32)).collect();
                w.write_field(m, s, 1, &z).unwrap();
            }
        }
        let err = w.write_field(0, 0, 1, &[0.0; 12]).unwrap_err().to_string();
        assert!(err.contains("geopotential"), "{err}");
        w.finish().unwrap();
        let f = netcdf_reader::NcFile::open(&path).unwrap();
        let t: Vec<f32> = f
            .read_variable::<f32>("2m_temperature")
            .unwrap()
            .iter()
            .copied()
            .collect();
        assert_eq!(t.len(), 2 * 2 * 12);
        // member 1, step 0, point 5 sits at ((1·2 + 0)·12 + 5)
        assert_eq!(t[(2 * 12) + 5], 105.0);
        let z: Vec<f32> = f
            .read_variable::<f32>("geopotential")
            .unwrap()
            .iter()
            .copied()
            .collect();
        assert_eq!(z[(3 * 24) + 23], -133.0);
        let sample: Vec<i32> = f
            .read_variable::<i32>("sample")
            .unwrap()
            .iter()
            .copied()
            .collect();
        assert_eq!(sample, vec![3, 4]);
    }
}

#[cfg(test)]
mod resume_tests {
    use super::tests::small_layout;
    use super::*;
    use serde_json::json;

    const FRESH: WriteMode = WriteMode {
        resume: false,
        overwrite: false,
    };
    const RESUME: WriteMode = WriteMode {
        resume: true,
        overwrite: false,
    };
    const OVERWRITE: WriteMode = WriteMode {
        resume: false,
        overwrite: true,
    };

    /// The fields of (member, step): 2m_temperature then geopotential, distinct per pair.
    fn fields(m: usize, s: usize) -> [Vec<f32>; 2] {
        let base = (100 * m + 10 * s) as f32;
        [
            (0..12).map(|i| base + i as f32 + 0.25).collect(),
            (0..24).map(|i| -(base + i as f32)).collect(),
        ]
    }

    fn write_step(w: &mut ForecastWriter, m: usize, s: usize) {
        for (v, f) in fields(m, s).iter().enumerate() {
            w.write_field(m, s, v, f).unwrap();
        }
        w.complete_step(m, s).unwrap();
    }

    #[test]
    fn resumed_file_equals_one_written_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let run = json!({"seed": 1, "sampler": {"rho": 7.0}});
        let whole = dir.path().join("whole.nc");
        let mut w = ForecastWriter::open_resumable(&whole, small_layout(), &run, FRESH).unwrap();
        for (m, s) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            write_step(&mut w, m, s);
        }
        w.finish().unwrap();
        assert!(!tmp_name(&whole).exists() && !progress_name(&whole).exists());

        let part = dir.path().join("part.nc");
        let mut w = ForecastWriter::open_resumable(&part, small_layout(), &run, RESUME).unwrap();
        assert_eq!(w.resumed(), None, "nothing to resume yet");
        write_step(&mut w, 0, 0);
        // Written but not recorded: lost, like a step in flight when the process is killed.
        w.write_field(0, 1, 0, &fields(0, 1)[0]).unwrap();
        drop(w);
        assert!(!part.exists());
        assert!(tmp_name(&part).is_file() && progress_name(&part).is_file());

        let mut w = ForecastWriter::open_resumable(&part, small_layout(), &run, RESUME).unwrap();
        assert_eq!(w.resumed(), Some(1));
        assert!(w.step_complete(0, 0) && !w.step_complete(0, 1) && !w.step_complete(1, 0));
        for (v, f) in fields(0, 0).iter().enumerate() {
            let back = w.read_field(0, 0, v).unwrap();
            assert_eq!(
                back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                f.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            );
        }
        for (m, s) in [(0, 1), (1, 0), (1, 1)] {
            write_step(&mut w, m, s);
        }
        w.finish().unwrap();
        assert!(!tmp_name(&part).exists() && !progress_name(&part).exists());
        assert_eq!(
            std::fs::read(&whole).unwrap(),
            std::fs::read(&part).unwrap()
        );
    }

    #[test]
    fn mismatched_resume_is_refused_and_keeps_the_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.nc");
        let run = json!({"seed": 1, "sampler": {"rho": 7.0}});
        let mut w = ForecastWriter::open_resumable(&path, small_layout(), &run, FRESH).unwrap();
        write_step(&mut w, 0, 0);
        drop(w);
        let record = std::fs::read(progress_name(&path)).unwrap();

        let other_seed = json!({"seed": 2, "sampler": {"rho": 7.0}});
        let mut fewer = small_layout();
        fewer.members = vec![3];
        let mut moved = small_layout();
        moved.lon[1] = 91.0;
        for (layout, run, needle) in [
            (small_layout(), &other_seed, "`seed`"),
            (fewer, &run, "`members`"),
            (
                moved,
                &run,
                "`lon[1]`: this run has 91.0, the partial file has 90.0",
            ),
        ] {
            let err = ForecastWriter::open_resumable(&path, layout, run, RESUME)
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains(needle), "{needle}: {err}");
            assert!(tmp_name(&path).is_file() && !path.exists());
            assert_eq!(std::fs::read(progress_name(&path)).unwrap(), record);
        }
        // Without --resume or --overwrite the interrupted run is not discarded.
        let err = ForecastWriter::open_resumable(&path, small_layout(), &other_seed, FRESH)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("interrupted run") && err.contains("WriteMode::overwrite"),
            "{err}"
        );
        assert_eq!(std::fs::read(progress_name(&path)).unwrap(), record);
        // With --overwrite the stale file is replaced by a fresh one.
        let w =
            ForecastWriter::open_resumable(&path, small_layout(), &other_seed, OVERWRITE).unwrap();
        assert_eq!(w.resumed(), None);
        assert!(!w.step_complete(0, 0));
        drop(w);
        assert!(!tmp_name(&path).exists() && !progress_name(&path).exists());
    }

    #[test]
    fn a_partial_file_with_another_header_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.nc");
        let run = json!({"seed": 1});
        let mut w = ForecastWriter::open_resumable(&path, small_layout(), &run, FRESH).unwrap();
        write_step(&mut w, 0, 0);
        drop(w);
        // Same settings recorded, but one header byte changed on disk.
        let tmp = tmp_name(&path);
        let mut bytes = std::fs::read(&tmp).unwrap();
        bytes[40] ^= 1;
        std::fs::write(&tmp, &bytes).unwrap();
        let err = ForecastWriter::open_resumable(&path, small_layout(), &run, RESUME)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("header differs"), "{err}");
    }

    #[test]
    fn a_second_writer_is_refused_and_leaves_the_first_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.nc");
        let run = json!({"seed": 1});
        let mut first = ForecastWriter::open_resumable(&path, small_layout(), &run, FRESH).unwrap();
        write_step(&mut first, 0, 0);
        let before = std::fs::read(tmp_name(&path)).unwrap();
        for mode in [FRESH, RESUME, OVERWRITE] {
            let err = ForecastWriter::open_resumable(&path, small_layout(), &run, mode)
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains("another process is writing"), "{err}");
            let err = preflight(&path, mode).unwrap_err().to_string();
            assert!(err.contains("another process is writing"), "{err}");
        }
        assert_eq!(std::fs::read(tmp_name(&path)).unwrap(), before);
        for (m, s) in [(0, 1), (1, 0), (1, 1)] {
            write_step(&mut first, m, s);
        }
        first.finish().unwrap();
        // The finished file is replaced only with --overwrite.
        let err = ForecastWriter::open_resumable(&path, small_layout(), &run, FRESH)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("already exists") && err.contains("WriteMode::overwrite"),
            "{err}"
        );
        assert!(!tmp_name(&path).exists(), "a refused run leaves no file");
    }

    #[test]
    fn slots_a_resumable_file_never_recorded_are_filled_on_finishing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.nc");
        let run = json!({"seed": 1});
        let mut w = ForecastWriter::open_resumable(&path, small_layout(), &run, FRESH).unwrap();
        write_step(&mut w, 1, 0);
        // Written but never recorded as complete: treated as missing.
        w.write_field(0, 1, 0, &fields(0, 1)[0]).unwrap();
        w.finish().unwrap();
        let f = netcdf_reader::NcFile::open(&path).unwrap();
        let z: Vec<f32> = f
            .read_variable::<f32>("geopotential")
            .unwrap()
            .iter()
            .copied()
            .collect();
        let t: Vec<f32> = f
            .read_variable::<f32>("2m_temperature")
            .unwrap()
            .iter()
            .copied()
            .collect();
        // Slot order (member, step): (0,0), (0,1), (1,0), (1,1); only (1,0) holds data.
        assert!(t[..24].iter().chain(&t[36..]).all(|x| x.is_nan()));
        assert_eq!(&t[24..36], &fields(1, 0)[0][..]);
        assert!(z[..48].iter().chain(&z[72..]).all(|x| x.is_nan()));
        assert_eq!(&z[48..72], &fields(1, 0)[1][..]);
    }

    #[test]
    fn unwritten_slots_read_as_the_fill_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.nc");
        let mut w = ForecastWriter::create(&path, small_layout()).unwrap();
        for (v, f) in fields(1, 1).iter().enumerate() {
            w.write_field(1, 1, v, f).unwrap();
        }
        w.finish().unwrap();
        let f = netcdf_reader::NcFile::open(&path).unwrap();
        let t: Vec<f32> = f
            .read_variable::<f32>("2m_temperature")
            .unwrap()
            .iter()
            .copied()
            .collect();
        // Slots (0,0), (0,1), (1,0) were never written; (1,1) holds its data.
        assert!(t[..36].iter().all(|x| x.is_nan()), "{:?}", &t[..36]);
        assert_eq!(&t[36..], &fields(1, 1)[0][..]);
    }

    #[test]
    fn a_resume_keeps_the_first_runs_history_and_names_a_changed_input() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.nc");
        let input = json!({"stats/mean_by_level.nc": {"size": 10, "xxh3": "ab"}});
        let run = json!({"seed": 1, "inputs": input});
        let mut w = ForecastWriter::open_resumable(&path, small_layout(), &run, FRESH).unwrap();
        write_step(&mut w, 0, 0);
        drop(w);
        // Same inputs reached through other paths: another history, accepted.
        let mut moved = small_layout();
        moved.history = "test, files read from ./elsewhere".into();
        let w = ForecastWriter::open_resumable(&path, moved, &run, RESUME).unwrap();
        assert_eq!(w.layout().history, "test");
        drop(w);
        let changed = json!({"seed": 1, "inputs":
            {"stats/mean_by_level.nc": {"size": 10, "xxh3": "cd"}}});
        let err = ForecastWriter::open_resumable(&path, small_layout(), &changed, RESUME)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("input stats/mean_by_level.nc"), "{err}");
        assert!(err.contains("\"cd\"") && err.contains("\"ab\""), "{err}");
    }
}
