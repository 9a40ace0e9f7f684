//! Colour maps: viridis (sequential, perceptually uniform) and a blue–white–red diverging map,
//! both as small anchor tables interpolated linearly in sRGB.

/// An sRGB colour.
pub(super) type Rgb = [u8; 3];

/// Colour of missing (NaN) cells.
pub(super) const MISSING: Rgb = [200, 200, 200];

/// Viridis at 10 evenly spaced positions.
const VIRIDIS: [u32; 10] = [
    0x440154, 0x482878, 0x3E4A89, 0x31688E, 0x26828E, 0x1F9E89, 0x35B779, 0x6DCD59, 0xB4DE2C,
    0xFDE725,
];

/// ColorBrewer RdBu (11 classes), reversed so that negative values are blue.
const RDBU_R: [u32; 11] = [
    0x053061, 0x2166AC, 0x4393C3, 0x92C5DE, 0xD1E5F0, 0xF7F7F7, 0xFDDBC7, 0xF4A582, 0xD6604D,
    0xB2182B, 0x67001F,
];

/// Which colour map to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Colormap {
    /// Sequential viridis.
    Viridis,
    /// Diverging blue–white–red, white at the middle of the range.
    Diverging,
}

impl Colormap {
    /// Colour at position `t` in `[0, 1]` (clamped; NaN gives [`MISSING`]).
    pub(super) fn at(self, t: f64) -> Rgb {
        if t.is_nan() {
            return MISSING;
        }
        let table: &[u32] = match self {
            Colormap::Viridis => &VIRIDIS,
            Colormap::Diverging => &RDBU_R,
        };
        let pos = t.clamp(0.0, 1.0) * (table.len() - 1) as f64;
        let i = (pos.floor() as usize).min(table.len() - 2);
        let f = pos - i as f64;
        let (a, b) = (table[i], table[i + 1]);
        let mut out = [0u8; 3];
        for (k, o) in out.iter_mut().enumerate() {
            let shift = 16 - 8 * k;
            let ca = f64::from((a >> shift) & 0xFF);
            let cb = f64::from((b >> shift) & 0xFF);
            *o = (ca + (cb - ca) * f).round() as u8;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_and_middle() {
        assert_eq!(Colormap::Viridis.at(0.0), [0x44, 0x01, 0x54]);
        assert_eq!(Colormap::Viridis.at(1.0), [0xFD, 0xE7, 0x25]);
        assert_eq!(Colormap::Diverging.at(0.5), [0xF7, 0xF7, 0xF7]);
        assert_eq!(Colormap::Viridis.at(f64::NAN), MISSING);
        assert_eq!(Colormap::Viridis.at(7.0), Colormap::Viridis.at(1.0));
    }
}
