//! Colour maps as small anchor tables interpolated linearly in sRGB: viridis (sequential,
//! perceptually uniform), a blue–white–red diverging map for signed quantities and
//! differences, a white-to-blue map for amounts that start at zero (precipitation) and a
//! blue–yellow–red map for temperatures.

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

/// White, then ColorBrewer Blues (9 classes) from its second class: white is exactly zero.
const BLUES: [u32; 9] = [
    0xFFFFFF, 0xDEEBF7, 0xC6DBEF, 0x9ECAE1, 0x6BAED6, 0x4292C6, 0x2171B5, 0x08519C, 0x08306B,
];

/// ColorBrewer RdYlBu (11 classes), reversed so that cold is blue and warm is red.
const RDYLBU_R: [u32; 11] = [
    0x313695, 0x4575B4, 0x74ADD1, 0xABD9E9, 0xE0F3F8, 0xFFFFBF, 0xFEE090, 0xFDAE61, 0xF46D43,
    0xD73027, 0xA50026,
];

/// Which colour map to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Colormap {
    /// Sequential viridis.
    Viridis,
    /// Diverging blue–white–red, white at the middle of the range.
    Diverging,
    /// Sequential white to dark blue, white at zero (amounts such as precipitation).
    Blues,
    /// Blue–yellow–red (ColorBrewer RdYlBu reversed), for temperatures.
    Rdylbu,
}

impl Colormap {
    /// The map of a name in the quantities table (`viridis`, `diverging`, `blues`, `rdylbu`).
    pub(super) fn named(name: &str) -> Option<Colormap> {
        <Colormap as clap::ValueEnum>::from_str(name, true).ok()
    }

    /// Colour at position `t` in `[0, 1]` (clamped; NaN gives [`MISSING`]).
    pub(super) fn at(self, t: f64) -> Rgb {
        if t.is_nan() {
            return MISSING;
        }
        let table: &[u32] = match self {
            Colormap::Viridis => &VIRIDIS,
            Colormap::Diverging => &RDBU_R,
            Colormap::Blues => &BLUES,
            Colormap::Rdylbu => &RDYLBU_R,
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
        assert_eq!(Colormap::Blues.at(0.0), [255, 255, 255]);
        assert_eq!(Colormap::Blues.at(1.0), [0x08, 0x30, 0x6B]);
        assert_eq!(Colormap::Rdylbu.at(0.5), [0xFF, 0xFF, 0xBF]);
    }
}
