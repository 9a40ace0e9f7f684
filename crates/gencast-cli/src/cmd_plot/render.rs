//! Drawing a lat-lon field as an equirectangular map with title, axes, coastlines and a colour
//! bar into an RGB canvas, and encoding it as PNG.

use super::colormap::{Colormap, Rgb};
use super::font::{glyph, glyph_offset, text_width, DESCENT, GLYPH_H, GLYPH_W};

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
/// Text is drawn with each font pixel as a square of this many image pixels.
const TEXT_SCALE: usize = 2;
/// Height of one line of text in image pixels, spacing included.
const LINE_H: usize = (GLYPH_H + DESCENT) * TEXT_SCALE + 4;
/// The map is at least this many pixels wide.
const MIN_MAP_WIDTH: usize = 720;

/// An RGB image, row-major, 3 bytes per pixel.
pub struct Canvas {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Pixels, row-major RGB.
    pub rgb: Vec<u8>,
}

impl Canvas {
    /// A canvas filled with one colour.
    pub fn new(width: usize, height: usize, fill: Rgb) -> Canvas {
        let rgb = fill
            .iter()
            .copied()
            .cycle()
            .take(width * height * 3)
            .collect();
        Canvas { width, height, rgb }
    }

    /// Fills a rectangle, clipped to the canvas.
    pub fn fill_rect(&mut self, x: i64, y: i64, w: i64, h: i64, c: Rgb) {
        let x0 = x.clamp(0, self.width as i64) as usize;
        let x1 = (x + w).clamp(0, self.width as i64) as usize;
        let y0 = y.clamp(0, self.height as i64) as usize;
        let y1 = (y + h).clamp(0, self.height as i64) as usize;
        for row in y0..y1 {
            let line = &mut self.rgb[(row * self.width + x0) * 3..(row * self.width + x1) * 3];
            for px in line.chunks_exact_mut(3) {
                px.copy_from_slice(&c);
            }
        }
    }

    /// Draws a line of text with its top-left corner at (x, y).
    pub fn text(&mut self, x: i64, y: i64, text: &str, c: Rgb) {
        let k = TEXT_SCALE as i64;
        for (n, ch) in text.chars().enumerate() {
            let gx = x + (n * super::font::ADVANCE) as i64 * k;
            let dy = glyph_offset(ch);
            for (r, bits) in glyph(ch).iter().enumerate() {
                let r = r + dy;
                for col in 0..GLYPH_W {
                    if bits & (1 << (GLYPH_W - 1 - col)) != 0 {
                        self.fill_rect(gx + col as i64 * k, y + r as i64 * k, k, k, c);
                    }
                }
            }
        }
    }

    /// Encodes the canvas as an 8-bit RGB PNG.
    pub fn encode_png(&self) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header()?;
            w.write_image_data(&self.rgb)?;
            w.finish()?;
        }
        Ok(out)
    }
}

/// Width in image pixels of a line of text.
fn text_px(s: &str) -> i64 {
    (text_width(s) * TEXT_SCALE) as i64
}

/// What to draw.
pub struct MapSpec<'a> {
    /// Field values, `lat × lon` row-major in the file's latitude order.
    pub field: &'a [f32],
    /// Latitudes (degrees) of the rows.
    pub lat: &'a [f32],
    /// Longitudes (degrees) of the columns, ascending with uniform spacing (e.g. 0..360 or −180..180).
    pub lon: &'a [f32],
    /// Land-sea mask on the same grid (land where ≥ 0.5), for coastlines.
    pub land_sea_mask: Option<&'a [f32]>,
    /// Title lines.
    pub title: Vec<String>,
    /// Colour-bar label (e.g. the units).
    pub bar_label: String,
    /// Colour map.
    pub colormap: Colormap,
    /// Values at the two ends of the colour map (values outside get the end colours).
    pub range: (f64, f64),
}

/// Colour range: finite min/max (symmetric about 0 for the diverging map), widened when flat.
pub fn value_range(field: &[f32], colormap: Colormap) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &v in field.iter().filter(|v| v.is_finite()) {
        lo = lo.min(f64::from(v));
        hi = hi.max(f64::from(v));
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    if colormap == Colormap::Diverging {
        let m = lo.abs().max(hi.abs());
        (lo, hi) = (-m, m);
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()).max(1e-30) {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.01 };
        (lo, hi) = (lo - pad, hi + pad);
    }
    (lo, hi)
}

/// "Nice" tick values (multiples of 1, 2 or 5 × 10^k) inside `[lo, hi]`, about `target` of them.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, f64) {
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    let ticks = (first..=last).map(|i| i as f64 * step).collect();
    (ticks, step)
}

/// A tick label: fixed decimals suited to `step`, or scientific (with the mantissa digits that
/// resolve `step` at the scale of `max_abs`) for very small or large values.
pub fn tick_label(v: f64, step: f64, max_abs: f64) -> String {
    if v.abs() < step * 1e-6 {
        return "0".into();
    }
    if step < 1e-3 || max_abs >= 1e7 {
        let exp = |x: f64| x.abs().log10().floor() as i64;
        let digits = (exp(max_abs) - exp(step)).clamp(0, 6) as usize;
        return format!("{v:.digits$e}");
    }
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

/// Renders the map.
pub fn render_map(spec: &MapSpec) -> Canvas {
    let (nlat, nlon) = (spec.lat.len(), spec.lon.len());
    let cell = MIN_MAP_WIDTH.div_ceil(nlon.max(1)).max(1);
    let (map_w, map_h) = ((nlon * cell) as i64, (nlat * cell) as i64);
    let left = 70i64;
    let top = 12 + (spec.title.len() * LINE_H) as i64 + 8;
    let bar_top = top + map_h + 10 + LINE_H as i64 + 14;
    let bar_h = 20i64;
    let widest = spec.title.iter().map(|l| text_px(l)).max().unwrap_or(0);
    let width = (left + map_w + 50).max(widest + 20);
    let height = bar_top + bar_h + 8 + 2 * LINE_H as i64 + 8;
    let mut cv = Canvas::new(width as usize, height as usize, WHITE);

    for (i, line) in spec.title.iter().enumerate() {
        let x = (width / 2 - text_px(line) / 2).max(4);
        cv.text(x, 12 + (i * LINE_H) as i64, line, BLACK);
    }

    // Rows go top (north) to bottom (south) whatever the file's latitude order.
    let ascending = nlat < 2 || spec.lat[0] < spec.lat[nlat - 1];
    let file_row = |r: usize| if ascending { nlat - 1 - r } else { r };
    let (lo, hi) = spec.range;
    for r in 0..nlat {
        for c in 0..nlon {
            let v = spec.field[file_row(r) * nlon + c];
            let t = if v.is_finite() {
                (f64::from(v) - lo) / (hi - lo)
            } else {
                f64::NAN
            };
            let x = left + (c * cell) as i64;
            let y = top + (r * cell) as i64;
            cv.fill_rect(x, y, cell as i64, cell as i64, spec.colormap.at(t));
        }
    }

    if let Some(mask) = spec.land_sea_mask {
        let land = |r: usize, c: usize| mask[file_row(r) * nlon + c] >= 0.5;
        let t = if cell >= 8 { 2 } else { 1 };
        for r in 0..nlat {
            for c in 0..nlon {
                let x = left + (c * cell) as i64;
                let y = top + (r * cell) as i64;
                if land(r, c) != land(r, (c + 1) % nlon) {
                    cv.fill_rect(x + cell as i64 - t / 2, y, t, cell as i64, BLACK);
                    if c + 1 == nlon {
                        cv.fill_rect(left, y, t, cell as i64, BLACK);
                    }
                }
                if r + 1 < nlat && land(r, c) != land(r + 1, c) {
                    cv.fill_rect(x, y + cell as i64 - t / 2, cell as i64, t, BLACK);
                }
            }
        }
    }

    // Frame and axes.
    cv.fill_rect(left - 1, top - 1, map_w + 2, 1, BLACK);
    cv.fill_rect(left - 1, top + map_h, map_w + 2, 1, BLACK);
    cv.fill_rect(left - 1, top - 1, 1, map_h + 2, BLACK);
    cv.fill_rect(left + map_w, top - 1, 1, map_h + 2, BLACK);
    let text_h = (GLYPH_H * TEXT_SCALE) as i64;
    if nlat >= 2 {
        let (lat0, dlat) = (
            spec.lat[file_row(0)],
            spec.lat[file_row(1)] - spec.lat[file_row(0)],
        );
        for deg in (-90..=90).step_by(30) {
            let y =
                top + ((f64::from(deg - lat0 as i32) / f64::from(dlat) + 0.5) * cell as f64) as i64;
            if y < top || y > top + map_h {
                continue;
            }
            let label = match deg {
                0 => "EQ".to_string(),
                d if d > 0 => format!("{d}N"),
                d => format!("{}S", -d),
            };
            cv.fill_rect(left - 6, y, 5, 1, BLACK);
            cv.text(left - 10 - text_px(&label), y - text_h / 2, &label, BLACK);
        }
    }
    if nlon >= 2 {
        let (lon0, dlon) = (spec.lon[0], spec.lon[1] - spec.lon[0]);
        for deg in (-180..=360).step_by(60) {
            let x = left
                + ((f64::from(deg as f32 - lon0) / f64::from(dlon) + 0.5) * cell as f64) as i64;
            if x < left || x > left + map_w {
                continue;
            }
            let label = match (deg + 540) % 360 - 180 {
                0 => "0".to_string(),
                -180 => "180".to_string(),
                d if d > 0 => format!("{d}E"),
                d => format!("{}W", -d),
            };
            cv.fill_rect(x, top + map_h + 1, 1, 5, BLACK);
            cv.text(x - text_px(&label) / 2, top + map_h + 10, &label, BLACK);
        }
    }

    // Colour bar with ticks and label.
    for k in 0..map_w {
        let t = (k as f64 + 0.5) / map_w as f64;
        cv.fill_rect(left + k, bar_top, 1, bar_h, spec.colormap.at(t));
    }
    cv.fill_rect(left - 1, bar_top - 1, map_w + 2, 1, BLACK);
    cv.fill_rect(left - 1, bar_top + bar_h, map_w + 2, 1, BLACK);
    cv.fill_rect(left - 1, bar_top - 1, 1, bar_h + 2, BLACK);
    cv.fill_rect(left + map_w, bar_top - 1, 1, bar_h + 2, BLACK);
    let (ticks, step) = nice_ticks(lo, hi, (map_w / 130).max(2) as usize);
    let max_abs = lo.abs().max(hi.abs());
    for v in ticks {
        let x = left + ((v - lo) / (hi - lo) * map_w as f64).round() as i64;
        let label = tick_label(v, step, max_abs);
        cv.fill_rect(x, bar_top + bar_h, 1, 6, BLACK);
        cv.text(x - text_px(&label) / 2, bar_top + bar_h + 9, &label, BLACK);
    }
    let label_y = bar_top + bar_h + 9 + LINE_H as i64;
    cv.text(
        left + map_w / 2 - text_px(&spec.bar_label) / 2,
        label_y,
        &spec.bar_label,
        BLACK,
    );
    cv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_and_labels_distinct() {
        let (ticks, step) = nice_ticks(251.3, 304.9, 6);
        assert_eq!(step, 10.0);
        assert_eq!(ticks, vec![260.0, 270.0, 280.0, 290.0, 300.0]);
        let (ticks, step) = nice_ticks(1.2e-4, 2.1e-3, 4);
        assert!((step - 5e-4).abs() < 1e-12, "{step}");
        let labels: Vec<String> = ticks.iter().map(|&v| tick_label(v, step, 2.1e-3)).collect();
        assert_eq!(labels, ["5.0e-4", "1.0e-3", "1.5e-3", "2.0e-3"]);
        assert_eq!(tick_label(0.5, 0.5, 2.0), "0.5");
        assert_eq!(tick_label(-20.0, 10.0, 22.0), "-20");
        assert_eq!(tick_label(1e-17, 10.0, 22.0), "0");
    }

    #[test]
    fn ranges_are_widened_and_symmetric() {
        assert_eq!(
            value_range(&[f32::NAN, 3.0, -1.0], Colormap::Diverging),
            (-3.0, 3.0)
        );
        assert_eq!(value_range(&[f32::NAN], Colormap::Viridis), (0.0, 1.0));
        let (lo, hi) = value_range(&[0.0, 0.0], Colormap::Viridis);
        assert!(lo < 0.0 && hi > 0.0);
    }

    #[test]
    fn canvas_is_wide_enough_and_encodes() {
        let (lat, lon) = ([-45.0f32, 45.0], [0.0f32, 90.0, 180.0, 270.0]);
        let field = [1.0, 2.0, f32::NAN, 4.0, 5.0, 6.0, 7.0, 8.0];
        let spec = MapSpec {
            field: &field,
            lat: &lat,
            lon: &lon,
            land_sea_mask: None,
            title: vec!["t".into()],
            bar_label: "x [K]".into(),
            colormap: Colormap::Viridis,
            range: (1.0, 8.0),
        };
        let cv = render_map(&spec);
        assert!(cv.width >= MIN_MAP_WIDTH);
        assert_eq!(cv.rgb.len(), cv.width * cv.height * 3);
        let png = cv.encode_png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
}
