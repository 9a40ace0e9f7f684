//! The forecast data model: what a forecast output holds ([`ForecastLayout`]: variables,
//! levels, grid, members, lead times, names) and the values and attributes of its coordinate
//! variables, shared by the NetCDF, Zarr and GRIB2 writers and the in-memory sink.

/// One predicted variable.
#[derive(Clone, Debug)]
pub struct OutputVariable {
    /// The reference's variable name (e.g. `2m_temperature`).
    pub name: String,
    /// Whether it has a `level` dimension.
    pub levelled: bool,
    /// Its units, when known.
    pub units: Option<String>,
    /// For an ensemble statistic (e.g. `mean`, `q10`) of variable `{statistic}__{base}`: the
    /// statistic; such a variable has no member dimension. `None` for a per-member variable.
    pub statistic: Option<String>,
}

impl OutputVariable {
    /// The predicted variable this one holds or summarises (the name without a statistic's
    /// `{statistic}__` prefix).
    pub fn base_name(&self) -> &str {
        match &self.statistic {
            Some(s) => self
                .name
                .strip_prefix(s.as_str())
                .and_then(|n| n.strip_prefix("__"))
                .unwrap_or(&self.name),
            None => &self.name,
        }
    }

    /// Whether the variable has the member dimension.
    pub fn per_member(&self) -> bool {
        self.statistic.is_none()
    }
}

/// What a forecast file holds.
#[derive(Clone, Debug)]
pub struct ForecastLayout {
    /// Predicted variables, in file order.
    pub variables: Vec<OutputVariable>,
    /// Pressure levels (hPa) of the levelled variables.
    pub levels: Vec<i32>,
    /// Latitudes, ascending.
    pub lat: Vec<f32>,
    /// Longitudes.
    pub lon: Vec<f32>,
    /// Ensemble member numbers (the `sample` coordinate, offset included).
    pub members: Vec<i32>,
    /// Lead time of each step, in hours.
    pub lead_hours: Vec<i32>,
    /// Initialisation time as `YYYY-MM-DDTHH:MM:SS` (UTC).
    pub init_time: String,
    /// Free-text provenance stored in the global `history` attribute.
    pub history: String,
    /// The dimension and coordinate names.
    pub naming: Naming,
    /// Static `lat × lon` fields copied from the input dataset (e.g. the land-sea mask, for
    /// coastlines), stored after the predicted variables and written when the output is created.
    pub statics: Vec<StaticField>,
}

/// The dimension and coordinate names of a forecast file or store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Naming {
    /// The reference's rollout names: `sample, batch, time[, level], lat, lon`, with `datetime`
    /// and `init_time` coordinates.
    #[default]
    Reference,
    /// WeatherBench-2's names: `realization, time, prediction_timedelta[, level], latitude,
    /// longitude`, where `time` is the initialisation time and `valid_time` the valid time.
    WeatherBench2,
}

/// The names a [`Naming`] gives to the dimensions and time coordinates.
#[derive(Clone, Copy, Debug)]
pub struct Names {
    /// Ensemble member dimension.
    pub member: &'static str,
    /// Initialisation dimension (length 1).
    pub init_dim: &'static str,
    /// Lead time dimension and coordinate.
    pub lead: &'static str,
    /// Pressure level dimension.
    pub level: &'static str,
    /// Latitude dimension.
    pub lat: &'static str,
    /// Longitude dimension.
    pub lon: &'static str,
    /// Valid time coordinate, `(init, lead)`.
    pub valid_time: &'static str,
    /// Initialisation time coordinate, `(init)`.
    pub init_time: &'static str,
}

impl Naming {
    /// The names of this naming.
    pub fn names(self) -> Names {
        match self {
            Naming::Reference => Names {
                member: "sample",
                init_dim: "batch",
                lead: "time",
                level: "level",
                lat: "lat",
                lon: "lon",
                valid_time: "datetime",
                init_time: "init_time",
            },
            Naming::WeatherBench2 => Names {
                member: "realization",
                init_dim: "time",
                lead: "prediction_timedelta",
                level: "level",
                lat: "latitude",
                lon: "longitude",
                valid_time: "valid_time",
                init_time: "time",
            },
        }
    }
}

/// The values of one coordinate variable of a forecast file.
#[derive(Clone, Debug, PartialEq)]
pub enum CoordValues {
    /// 32-bit integers (`NC_INT`).
    Int(Vec<i32>),
    /// 32-bit floats (`NC_FLOAT`).
    Float(Vec<f32>),
    /// 64-bit floats (`NC_DOUBLE`).
    Double(Vec<f64>),
}

/// An attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    /// A text attribute (`NC_CHAR`).
    Text(String),
    /// One or more doubles.
    Double(Vec<f64>),
    /// One or more 32-bit integers.
    Int(Vec<i32>),
    /// One or more floats.
    Float(Vec<f32>),
}

/// A `lat × lon` field without member or time dimension.
#[derive(Clone, Debug, PartialEq)]
pub struct StaticField {
    /// Variable name (e.g. `land_sea_mask`).
    pub name: String,
    /// Units from the dataset, when it gives them.
    pub units: Option<String>,
    /// Values on the output's grid, `lat × lon` row-major.
    pub data: Vec<f32>,
}
