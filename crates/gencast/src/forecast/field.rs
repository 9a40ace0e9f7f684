//! One variable's predicted values at one lead time, as a sink receives them.

/// A physical field of one variable at one time: `data` is `[level][lat][lon]` (surface
/// variables have no levels and `n_lat · n_lon` values).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Variable name.
    pub name: String,
    /// Pressure levels in hPa (empty for surface variables).
    pub levels: Vec<i32>,
    /// Values, level-major then latitude then longitude.
    pub data: Vec<f32>,
}
