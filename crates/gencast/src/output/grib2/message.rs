//! Encoding one GRIB2 message: sections 0 to 8 for a field on a regular latitude/longitude grid
//! (grid template 3.0), with product templates 4.0/4.8 (deterministic) or 4.1/4.11 (ensemble
//! member), IEEE packing (data template 5.4) and a bitmap (section 6) where values are NaN.

use super::params::Param;
use crate::data::netcdf_time::{civil_from_days, parse_datetime};
use crate::time::{NS_PER_DAY, NS_PER_HOUR};
use crate::{Error, Result};

/// The WMO master tables version the messages follow (section 1).
const MASTER_TABLES_VERSION: u8 = 28;
/// Originating centre (common code table C-11): missing, the forecasts come from no centre.
const CENTRE: u16 = 255;
/// Code table 4.4: hour.
const HOUR: u8 = 1;
/// Octet value of a missing one-octet field.
const MISSING_U8: u8 = 0xFF;
/// Value of a missing four-octet field.
const MISSING_U32: u32 = 0xFFFF_FFFF;
/// Scanning mode (flag table 3.4): points from west to east, rows from south to north
/// (`+j`), matching the forecast's ascending latitudes.
pub const SCANNING_MODE: u8 = 0x40;

/// A regular latitude/longitude grid in micro-degrees (grid template 3.0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grid {
    /// Points along a parallel.
    pub ni: u32,
    /// Points along a meridian.
    pub nj: u32,
    /// First (southernmost) latitude.
    pub la1: i32,
    /// First longitude, in `[0, 360°)`.
    pub lo1: u32,
    /// Last (northernmost) latitude.
    pub la2: i32,
    /// Last longitude, in `[0, 360°)`.
    pub lo2: u32,
    /// Longitude increment; `None` for a single column.
    pub di: Option<u32>,
    /// Latitude increment; `None` for a single row.
    pub dj: Option<u32>,
}

/// Micro-degrees per degree (the unit of template 3.0 with basic angle 0).
const MICRO: f64 = 1e6;

/// The uniform step of `coords` in degrees, checking that every value lies on it within a
/// thousandth of the step (`wrap`: modulo 360°, for longitudes).
fn uniform_step(coords: &[f32], what: &str, wrap: bool) -> Result<Option<f64>> {
    let offset = |i: usize| {
        let d = f64::from(coords[i]) - f64::from(coords[0]);
        if wrap {
            d.rem_euclid(360.0)
        } else {
            d
        }
    };
    let n = coords.len();
    if n < 2 {
        return Ok(None);
    }
    let step = offset(n - 1) / (n - 1) as f64;
    let irregular = step <= 0.0
        || (0..n).any(|i| (offset(i) - i as f64 * step).abs() > 1e-3 * step)
        || (wrap && step * n as f64 > 360.0 + 1e-3 * step);
    if irregular {
        return Err(Error::Invalid(format!(
            "GRIB2 output needs a regular grid with ascending {what}; the forecast's {what} \
             ({} .. {}, {n} values) are not evenly spaced",
            coords[0],
            coords[n - 1]
        )));
    }
    Ok(Some(step))
}

impl Grid {
    /// The grid of ascending, evenly spaced `lat` and `lon` (degrees), or an error saying which
    /// is not.
    pub fn regular(lat: &[f32], lon: &[f32]) -> Result<Grid> {
        if lat.is_empty() || lon.is_empty() {
            return Err(Error::Invalid("GRIB2 output of an empty grid".into()));
        }
        let (ni, nj) = (lon.len(), lat.len());
        if (ni as u64) * (nj as u64) > u64::from(u32::MAX) {
            return Err(Error::Invalid(format!(
                "a {nj} × {ni} grid has more points than a GRIB2 message holds"
            )));
        }
        let dj = uniform_step(lat, "latitudes", false)?.map(|d| (d * MICRO).round() as u32);
        let di = uniform_step(lon, "longitudes", true)?.map(|d| (d * MICRO).round() as u32);
        let la1 = (f64::from(lat[0]) * MICRO).round() as i32;
        let lo1 = ((f64::from(lon[0]).rem_euclid(360.0)) * MICRO).round() as u32 % 360_000_000;
        // The last point follows from the first and the increment, so that readers that check
        // the grid's consistency find it exact.
        let la2 = la1 + dj.map_or(0, |d| d as i32 * (nj as i32 - 1));
        let lo2 = (u64::from(lo1) + u64::from(di.unwrap_or(0)) * (ni as u64 - 1)) % 360_000_000;
        Ok(Grid {
            ni: ni as u32,
            nj: nj as u32,
            la1,
            lo1,
            la2,
            lo2: lo2 as u32,
            di,
            dj,
        })
    }

    /// Number of points.
    pub fn points(&self) -> usize {
        self.ni as usize * self.nj as usize
    }
}

/// What kind of forecast the messages hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    /// One deterministic forecast (templates 4.0 and 4.8, `typeOfProcessedData` 1).
    Deterministic,
    /// Members of an ensemble of `size` perturbed forecasts (templates 4.1 and 4.11,
    /// `typeOfProcessedData` 4, `typeOfEnsembleForecast` 3).
    Ensemble {
        /// `numberOfForecastsInEnsemble`.
        size: u8,
    },
}

/// What is common to the messages of one forecast: grid, reference time and product kind.
#[derive(Clone, Debug)]
pub struct Encoder {
    grid: Grid,
    init_ns: i64,
    product: Product,
}

/// One message's field: which parameter, level, lead and member.
#[derive(Clone, Copy, Debug)]
pub struct FieldId<'a> {
    /// Its parameter.
    pub param: &'a Param,
    /// Pressure level in hPa, for an isobaric parameter.
    pub level_hpa: Option<i32>,
    /// Lead time in hours (the end of an accumulation period).
    pub lead_hours: i32,
    /// Ensemble member `number` (ignored for a deterministic forecast).
    pub number: u8,
}

/// Appends big-endian integers.
struct Bytes(Vec<u8>);

impl Bytes {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend(v.to_be_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend(v.to_be_bytes());
    }
    /// A GRIB2 signed integer: sign bit, then the magnitude.
    fn i32(&mut self, v: i32) {
        let m = v.unsigned_abs() & 0x7FFF_FFFF;
        self.u32(if v < 0 { m | 0x8000_0000 } else { m });
    }
    /// A date and time: year (2 octets), month, day, hour, minute, second.
    fn time(&mut self, ns: i64) {
        let (y, mo, d) = civil_from_days(ns.div_euclid(NS_PER_DAY));
        let secs = ns.rem_euclid(NS_PER_DAY) / 1_000_000_000;
        self.u16(y as u16);
        self.0.extend([
            mo as u8,
            d as u8,
            (secs / 3600) as u8,
            (secs / 60 % 60) as u8,
            (secs % 60) as u8,
        ]);
    }
    /// Starts a section: a length placeholder and the section number; returns its start.
    fn section(&mut self, number: u8) -> usize {
        let start = self.0.len();
        self.u32(0);
        self.u8(number);
        start
    }
    /// Fills in the length of the section that started at `start`.
    fn close(&mut self, start: usize) {
        let len = (self.0.len() - start) as u32;
        self.0[start..start + 4].copy_from_slice(&len.to_be_bytes());
    }
}

impl Encoder {
    /// An encoder for forecasts initialised at `init_time` (`YYYY-MM-DDTHH:MM:SS`, UTC).
    pub fn new(grid: Grid, init_time: &str, product: Product) -> Result<Encoder> {
        let init_ns = parse_datetime(init_time)
            .filter(|ns| ns % 1_000_000_000 == 0)
            .filter(|&ns| {
                let (y, _, _) = civil_from_days(ns.div_euclid(NS_PER_DAY));
                (0..=i64::from(u16::MAX)).contains(&y)
            })
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "initialisation time `{init_time}` is not a whole second of years 0 to 65535, \
                     as a GRIB2 reference time must be"
                ))
            })?;
        Ok(Encoder {
            grid,
            init_ns,
            product,
        })
    }

    /// The grid of the messages.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// Encodes one message of `values` (the grid's points, latitude rows from south to north);
    /// NaN values are marked missing in a bitmap.
    pub fn message(&self, id: FieldId<'_>, values: &[f32]) -> Result<Vec<u8>> {
        let p = id.param;
        let what = || match id.level_hpa {
            Some(l) => format!("`{}` at {l} hPa, lead {} h", p.name, id.lead_hours),
            None => format!("`{}`, lead {} h", p.name, id.lead_hours),
        };
        if values.len() != self.grid.points() {
            return Err(Error::Shape {
                what: format!("GRIB2 field {}", what()),
                expected: vec![self.grid.nj as usize, self.grid.ni as usize],
                found: vec![values.len()],
            });
        }
        let start_hours = id.lead_hours - p.accumulation_hours.map_or(0, |h| h as i32);
        if start_hours < 0 {
            return Err(Error::Invalid(format!(
                "GRIB2 field {}: the accumulation starts before the initialisation time",
                what()
            )));
        }
        let mut b = Bytes(Vec::with_capacity(200 + values.len() * 8));
        // Section 0: indicator; the total length is filled in at the end.
        b.0.extend(b"GRIB");
        b.u16(0);
        b.u8(p.discipline);
        b.u8(2);
        b.0.extend([0u8; 8]);
        self.identification(&mut b);
        self.grid_section(&mut b);
        self.product_section(&mut b, id, start_hours)?;
        data_sections(&mut b, values, p);
        b.0.extend(b"7777");
        let total = b.0.len() as u64;
        b.0[8..16].copy_from_slice(&total.to_be_bytes());
        Ok(b.0)
    }

    /// Section 1: identification, with the initialisation time as reference time.
    fn identification(&self, b: &mut Bytes) {
        let s = b.section(1);
        b.u16(CENTRE);
        b.u16(0); // sub-centre
        b.u8(MASTER_TABLES_VERSION);
        b.u8(0); // no local tables
        b.u8(1); // code table 1.2: start of forecast
        b.time(self.init_ns);
        b.u8(MISSING_U8); // production status
        b.u8(match self.product {
            Product::Deterministic => 1,   // code table 1.4: forecast products
            Product::Ensemble { .. } => 4, // perturbed forecast products
        });
        b.close(s);
    }

    /// Section 3: grid definition template 3.0 on a sphere of radius 6 371 229 m.
    fn grid_section(&self, b: &mut Bytes) {
        let g = &self.grid;
        let s = b.section(3);
        b.u8(0); // source: template
        b.u32(g.ni * g.nj);
        b.u8(0); // no list of numbers of points
        b.u8(0);
        b.u16(0); // template 3.0
        b.u8(6); // code table 3.2: sphere of radius 6 371 229 m
        b.u8(MISSING_U8);
        b.u32(MISSING_U32);
        b.u8(MISSING_U8);
        b.u32(MISSING_U32);
        b.u8(MISSING_U8);
        b.u32(MISSING_U32);
        b.u32(g.ni);
        b.u32(g.nj);
        b.u32(0); // basic angle: micro-degrees
        b.u32(MISSING_U32);
        b.i32(g.la1);
        b.u32(g.lo1);
        // Flag table 3.3: i and j increments given; winds relative to east and north.
        b.u8(if g.di.is_some() { 0x20 } else { 0 } | if g.dj.is_some() { 0x10 } else { 0 });
        b.i32(g.la2);
        b.u32(g.lo2);
        b.u32(g.di.unwrap_or(MISSING_U32));
        b.u32(g.dj.unwrap_or(MISSING_U32));
        b.u8(SCANNING_MODE);
        b.close(s);
    }

    /// Section 4: product definition, instantaneous (4.0/4.1) or accumulated (4.8/4.11).
    fn product_section(&self, b: &mut Bytes, id: FieldId<'_>, start_hours: i32) -> Result<()> {
        let p = id.param;
        let ensemble = match self.product {
            Product::Deterministic => None,
            Product::Ensemble { size } => Some(size),
        };
        let template: u16 = match (p.accumulation_hours.is_some(), ensemble.is_some()) {
            (false, false) => 0,
            (false, true) => 1,
            (true, false) => 8,
            (true, true) => 11,
        };
        let s = b.section(4);
        b.u16(0); // no coordinate values
        b.u16(template);
        b.u8(p.category);
        b.u8(p.number);
        b.u8(if ensemble.is_some() { 4 } else { 2 }); // code table 4.3
        b.u8(MISSING_U8); // background process
        b.u8(MISSING_U8); // forecast process
        b.u16(0xFFFF); // observation cut-off
        b.u8(MISSING_U8);
        b.u8(HOUR);
        b.u32(start_hours as u32);
        b.u8(p.surface);
        if p.isobaric() {
            let hpa = id.level_hpa.ok_or_else(|| {
                Error::Invalid(format!("GRIB2 field `{}` needs a pressure level", p.name))
            })?;
            b.u8(0);
            b.i32(hpa.checked_mul(100).ok_or_else(|| {
                Error::Invalid(format!("pressure level {hpa} hPa is out of range"))
            })?);
        } else if let Some(v) = p.surface_value {
            b.u8(0);
            b.u32(v);
        } else {
            b.u8(MISSING_U8);
            b.u32(MISSING_U32);
        }
        b.u8(MISSING_U8); // no second surface
        b.u8(MISSING_U8);
        b.u32(MISSING_U32);
        if let Some(size) = ensemble {
            b.u8(3); // code table 4.6: positively perturbed forecast
            b.u8(id.number);
            b.u8(size);
        }
        if let Some(hours) = p.accumulation_hours {
            b.time(self.init_ns + i64::from(id.lead_hours) * NS_PER_HOUR);
            b.u8(1); // one time range
            b.u32(0); // no missing values in the process
            b.u8(1); // code table 4.10: accumulation
            b.u8(2); // code table 4.11: forecast time incremented, same start
            b.u8(HOUR);
            b.u32(hours);
            b.u8(MISSING_U8); // no increment between fields
            b.u32(0);
        }
        b.close(s);
        Ok(())
    }
}

/// Sections 5, 6 and 7: IEEE packing (template 5.4), the bitmap of non-NaN values (or none)
/// and the values.
fn data_sections(b: &mut Bytes, values: &[f32], p: &Param) {
    let present = values.iter().filter(|v| !v.is_nan()).count();
    let s = b.section(5);
    b.u32(present as u32);
    b.u16(4); // template 5.4
    b.u8(if p.float64() { 2 } else { 1 }); // code table 5.7: 64- or 32-bit IEEE
    b.close(s);
    let s = b.section(6);
    if present == values.len() {
        b.u8(MISSING_U8); // no bitmap
    } else {
        b.u8(0);
        for chunk in values.chunks(8) {
            let mut byte = 0u8;
            for (i, v) in chunk.iter().enumerate() {
                if !v.is_nan() {
                    byte |= 0x80 >> i;
                }
            }
            b.u8(byte);
        }
    }
    b.close(s);
    let s = b.section(7);
    for v in values.iter().filter(|v| !v.is_nan()) {
        if p.float64() {
            // Exact: a float32 times a factor of at most 30 significant bits fits in 53.
            b.0.extend((f64::from(*v) * p.units_factor).to_be_bytes());
        } else {
            b.0.extend(v.to_be_bytes());
        }
    }
    b.close(s);
}

/// Decodes the values of a message this module wrote, with `grib-reader`, back into the
/// forecast's units (NaN where the bitmap marks a value missing).
pub fn decode(bytes: &[u8], param: &Param) -> Result<Vec<f32>> {
    let bad =
        |e: grib_reader::Error| Error::Invalid(format!("GRIB2 message of `{}`: {e}", param.name));
    let file = grib_reader::GribFile::builder()
        .without_limits()
        .from_bytes(bytes.to_vec())
        .map_err(bad)?;
    let values = file
        .message(0)
        .map_err(bad)?
        .read_flat_data_as_f64()
        .map_err(bad)?;
    Ok(values
        .into_iter()
        .map(|v| (v / param.units_factor) as f32)
        .collect())
}
