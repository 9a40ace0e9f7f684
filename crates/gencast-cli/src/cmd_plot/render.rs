//! Drawing a lat-lon field as an equirectangular map with title, axes, coastlines and a colour
//! bar into an RGB canvas, and encoding it as PNG.

use super::colormap::{Colormap, Rgb};
use super::contour;
use super::font::{glyph, glyph_offset, text_width, DESCENT, GLYPH_H, GLYPH_W};

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
/// Colour of contour lines.
pub(super) const CONTOUR: Rgb = [255, 255, 255];
/// Text is drawn with each font pixel as a square of this many image pixels.
const TEXT_SCALE: usize = 2;
/// Height of one line of text in image pixels, spacing included.
pub(super) const LINE_H: usize = (GLYPH_H + DESCENT) * TEXT_SCALE + 4;
/// The map is at least this many pixels wide.
const MIN_MAP_WIDTH: usize = 720;

/// An RGB image, row-major, 3 bytes per pixel.
pub(super) struct Canvas {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Pixels, row-major RGB.
    pub rgb: Vec<u8>,
}

impl Canvas {
    /// A canvas filled with one colour.
    pub(super) fn new(width: usize, height: usize, fill: Rgb) -> Canvas {
        let rgb = fill
            .iter()
            .copied()
            .cycle()
            .take(width * height * 3)
            .collect();
        Canvas { width, height, rgb }
    }

    /// Fills a rectangle, clipped to the canvas.
    pub(super) fn fill_rect(&mut self, x: i64, y: i64, w: i64, h: i64, c: Rgb) {
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
    pub(super) fn text(&mut self, x: i64, y: i64, text: &str, c: Rgb) {
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

    /// Blends colour `c` with weight `a` (0..1) into pixel (x, y) if it lies inside `clip`
    /// (left, top, right, bottom; right and bottom excluded).
    fn blend(&mut self, x: i64, y: i64, c: Rgb, a: f64, clip: (i64, i64, i64, i64)) {
        if x < clip.0 || y < clip.1 || x >= clip.2 || y >= clip.3 {
            return;
        }
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            return;
        }
        let i = (y as usize * self.width + x as usize) * 3;
        for (k, &ck) in c.iter().enumerate() {
            let old = f64::from(self.rgb[i + k]);
            self.rgb[i + k] = (old + (f64::from(ck) - old) * a.clamp(0.0, 1.0)).round() as u8;
        }
    }

    /// Draws an anti-aliased line about 1.5 px wide from `a` to `b` (pixel coordinates, pixel
    /// centres at half-integers), clipped to `clip`: each step along the major axis covers the
    /// two or three pixels across it in proportion to their overlap with the line's width.
    pub(super) fn line(
        &mut self,
        a: (f64, f64),
        b: (f64, f64),
        c: Rgb,
        clip: (i64, i64, i64, i64),
    ) {
        const HALF_WIDTH: f64 = 0.75;
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let steep = dy.abs() > dx.abs();
        // Work along the major axis u with the minor coordinate v.
        let (a, b) = if steep {
            ((a.1, a.0), (b.1, b.0))
        } else {
            (a, b)
        };
        let (a, b) = if a.0 > b.0 { (b, a) } else { (a, b) };
        let slope = if b.0 > a.0 {
            (b.1 - a.1) / (b.0 - a.0)
        } else {
            0.0
        };
        let u0 = (a.0 - 0.5).round() as i64;
        let u1 = (b.0 - 0.5).round() as i64;
        for u in u0..=u1 {
            let uc = u as f64 + 0.5;
            let v = a.1 + slope * (uc.clamp(a.0, b.0) - a.0);
            let (lo, hi) = (v - HALF_WIDTH, v + HALF_WIDTH);
            for p in (lo.floor() as i64)..=(hi.floor() as i64) {
                let cover = (hi.min(p as f64 + 1.0) - lo.max(p as f64)).max(0.0);
                if cover > 0.0 {
                    let (x, y) = if steep { (p, u) } else { (u, p) };
                    self.blend(x, y, c, cover, clip);
                }
            }
        }
    }

    /// Encodes the canvas as an 8-bit RGB PNG.
    pub(super) fn encode_png(&self) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            // Maps are mostly flat colour areas: the stronger deflate keeps them small at
            // little cost for images of this size.
            enc.set_compression(png::Compression::High);
            let mut w = enc.write_header()?;
            w.write_image_data(&self.rgb)?;
            w.finish()?;
        }
        Ok(out)
    }
}

/// Width in image pixels of a line of text.
pub(super) fn text_px(s: &str) -> i64 {
    (text_width(s) * TEXT_SCALE) as i64
}

/// The grid shared by every panel of a page.
pub(super) struct Grid<'a> {
    /// Latitudes (degrees) of the rows, in the fields' row order.
    pub lat: &'a [f32],
    /// Longitudes (degrees) of the columns, ascending with uniform spacing (may run below 0 or
    /// past 360 for a region across the map's seam).
    pub lon: &'a [f32],
    /// Land-sea mask on the same grid (land where ≥ 0.5), for coastlines.
    pub land_sea_mask: Option<&'a [f32]>,
    /// Whether the columns go all round the globe (contours then join across the edge).
    pub global: bool,
}

/// One map of a page.
pub(super) struct Panel {
    /// Field values, `lat × lon` row-major in the grid's row order.
    pub field: Vec<f32>,
    /// Text above the map (e.g. the member), if any.
    pub label: Option<String>,
    /// Index of the panel's colour bar in [`Page::bars`].
    pub bar: usize,
    /// Contour lines drawn over the map, if any.
    pub contours: Option<Contours>,
}

/// Contour lines of a field at given values, each labelled with its value.
pub(super) struct Contours {
    /// The contoured field, on the page's grid (may differ from the coloured field).
    pub field: Vec<f32>,
    /// The values the lines follow.
    pub levels: Vec<f64>,
    /// Spacing of the values (the labels' precision).
    pub interval: f64,
}

/// A colour bar: the colour map, its value range and its label.
pub(super) struct ColourBar {
    /// Colour map.
    pub colormap: Colormap,
    /// Values at the two ends of the colour map (values outside get the end colours).
    pub range: (f64, f64),
    /// Label under the bar (name and units).
    pub label: String,
}

/// What to draw: title lines, then panels in rows of `columns`, then the colour bar(s): one
/// shared under all panels when there is one, else one under each panel.
pub(super) struct Page<'a> {
    /// Grid of every panel.
    pub grid: Grid<'a>,
    /// Title lines.
    pub title: Vec<String>,
    /// The maps.
    pub panels: Vec<Panel>,
    /// Panels per row.
    pub columns: usize,
    /// Colour bars referred to by the panels.
    pub bars: Vec<ColourBar>,
    /// Each map is at least this many pixels wide (cells are square and whole pixels).
    pub map_width: usize,
    /// Whether latitude/longitude labels are drawn around each map.
    pub axes: bool,
}

/// Width in pixels of a single map (one panel).
pub(super) const SINGLE_MAP_WIDTH: usize = MIN_MAP_WIDTH;

/// Colour range: finite min/max (symmetric about 0 for the diverging map), widened when flat.
pub(super) fn value_range(field: &[f32], colormap: Colormap) -> (f64, f64) {
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
    if colormap == Colormap::Blues {
        // Amounts: white is zero (anything below shows white too).
        (lo, hi) = (0.0, hi.max(0.0));
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()).max(1e-30) {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.01 };
        (lo, hi) = (lo - pad, hi + pad);
    }
    (lo, hi)
}

/// "Nice" tick values (multiples of 1, 2 or 5 × 10^k) inside `[lo, hi]`, about `target` of them.
pub(super) fn nice_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, f64) {
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
pub(super) fn tick_label(v: f64, step: f64, max_abs: f64) -> String {
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

/// Degrees between axis labels for a span of `span` degrees: about six labels.
fn degree_step(span: f64) -> i64 {
    [1, 2, 5, 10, 20, 30, 60]
        .into_iter()
        .find(|&s| span / s as f64 <= 6.5)
        .unwrap_or(90)
}

/// Pixel size of a cell: maps at least `map_width` wide, but no taller than 1.2 × that
/// (regions much taller than wide), and at least one pixel.
fn cell_size(nlat: usize, nlon: usize, map_width: usize) -> usize {
    let cell = map_width.div_ceil(nlon.max(1)).max(1);
    let max_h = map_width * 6 / 5;
    if nlat * cell > max_h {
        (max_h / nlat.max(1)).max(1)
    } else {
        cell
    }
}

/// Positions of one panel on the page.
struct Frame {
    /// Left edge of the map.
    left: i64,
    /// Top edge of the map.
    top: i64,
    /// Cell size in pixels.
    cell: usize,
}

/// Renders the page.
pub(super) fn render_page(page: &Page) -> Canvas {
    let g = &page.grid;
    let (nlat, nlon) = (g.lat.len(), g.lon.len());
    let cell = cell_size(nlat, nlon, page.map_width);
    let (map_w, map_h) = ((nlon * cell) as i64, (nlat * cell) as i64);
    let (margin_l, margin_r) = if page.axes { (70i64, 50i64) } else { (10, 10) };
    let shared_bar = page.bars.len() == 1;
    let label_h = if page.panels.iter().any(|p| p.label.is_some()) {
        LINE_H as i64
    } else {
        0
    };
    let axes_h = if page.axes { 10 + LINE_H as i64 } else { 0 };
    let bar_h = 20i64;
    let bar_block = 14 + bar_h + 8 + 2 * LINE_H as i64 + 8;
    let panel_w = margin_l + map_w + margin_r;
    let panel_h = label_h + map_h + axes_h + if shared_bar { 0 } else { bar_block };
    let columns = page.columns.clamp(1, page.panels.len().max(1));
    let rows = page.panels.len().div_ceil(columns).max(1);
    // Long titles wrap at spaces to the panels' width rather than widen the image.
    let title: Vec<String> = page
        .title
        .iter()
        .flat_map(|l| wrap(l, columns as i64 * panel_w - 20))
        .collect();
    let title_h = 12 + (title.len() * LINE_H) as i64 + 8;
    let widest = title.iter().map(|l| text_px(l)).max().unwrap_or(0);
    let width = (columns as i64 * panel_w).max(widest + 20);
    let height = title_h + rows as i64 * panel_h + if shared_bar { bar_block } else { 0 };
    let mut cv = Canvas::new(width as usize, height as usize, WHITE);

    for (i, line) in title.iter().enumerate() {
        let x = (width / 2 - text_px(line) / 2).max(4);
        cv.text(x, 12 + (i * LINE_H) as i64, line, BLACK);
    }
    for (i, panel) in page.panels.iter().enumerate() {
        let (row, col) = ((i / columns) as i64, (i % columns) as i64);
        let f = Frame {
            left: col * panel_w + margin_l,
            top: title_h + row * panel_h + label_h,
            cell,
        };
        if let Some(label) = &panel.label {
            let x = f.left + map_w / 2 - text_px(label) / 2;
            cv.text(x, f.top - LINE_H as i64 + 2, label, BLACK);
        }
        let bar = &page.bars[panel.bar.min(page.bars.len() - 1)];
        draw_map(&mut cv, g, &f, panel, bar);
        if page.axes {
            draw_axes(&mut cv, g, &f);
        }
        if !shared_bar {
            draw_bar(
                &mut cv,
                bar,
                f.left,
                f.top + map_h + axes_h + 14,
                map_w,
                bar_h,
            );
        }
    }
    if shared_bar {
        let right = (columns as i64 - 1) * panel_w + margin_l + map_w;
        let y = title_h + rows as i64 * panel_h + 14;
        draw_bar(&mut cv, &page.bars[0], margin_l, y, right - margin_l, bar_h);
    }
    cv
}

/// `line` broken at spaces into lines at most `max_px` wide (a word wider than that stays
/// whole on its own line).
pub(super) fn wrap(line: &str, max_px: i64) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in line.split(' ') {
        let joined = if current.is_empty() {
            word.to_string()
        } else {
            format!("{current} {word}")
        };
        if text_px(&joined) <= max_px || current.is_empty() {
            current = joined;
        } else {
            out.push(std::mem::replace(&mut current, word.to_string()));
        }
    }
    out.push(current);
    out
}

/// Rows go top (north) to bottom (south) whatever the file's latitude order: the grid row drawn
/// at map row `r`.
fn file_row(lat: &[f32], r: usize) -> usize {
    let n = lat.len();
    if n < 2 || lat[0] < lat[n - 1] {
        n - 1 - r
    } else {
        r
    }
}

/// Cells, coastlines, contours and frame of one panel.
fn draw_map(cv: &mut Canvas, g: &Grid, f: &Frame, panel: &Panel, bar: &ColourBar) {
    let (nlat, nlon) = (g.lat.len(), g.lon.len());
    let cell = f.cell;
    let (map_w, map_h) = ((nlon * cell) as i64, (nlat * cell) as i64);
    let (lo, hi) = bar.range;
    for r in 0..nlat {
        for c in 0..nlon {
            let v = panel.field[file_row(g.lat, r) * nlon + c];
            let t = if v.is_finite() {
                (f64::from(v) - lo) / (hi - lo)
            } else {
                f64::NAN
            };
            let x = f.left + (c * cell) as i64;
            let y = f.top + (r * cell) as i64;
            cv.fill_rect(x, y, cell as i64, cell as i64, bar.colormap.at(t));
        }
    }
    if let Some(mask) = g.land_sea_mask {
        let land = |r: usize, c: usize| mask[file_row(g.lat, r) * nlon + c] >= 0.5;
        let t = if cell >= 8 { 2 } else { 1 };
        for r in 0..nlat {
            for c in 0..nlon {
                let x = f.left + (c * cell) as i64;
                let y = f.top + (r * cell) as i64;
                if c + 1 < nlon && land(r, c) != land(r, c + 1) {
                    cv.fill_rect(x + cell as i64 - t / 2, y, t, cell as i64, BLACK);
                }
                if g.global && c + 1 == nlon && land(r, c) != land(r, 0) {
                    cv.fill_rect(x + cell as i64 - t / 2, y, t, cell as i64, BLACK);
                    cv.fill_rect(f.left, y, t, cell as i64, BLACK);
                }
                if r + 1 < nlat && land(r, c) != land(r + 1, c) {
                    cv.fill_rect(x, y + cell as i64 - t / 2, cell as i64, t, BLACK);
                }
            }
        }
    }
    if let Some(c) = &panel.contours {
        let rows: Vec<f32> = (0..nlat)
            .flat_map(|r| {
                let start = file_row(g.lat, r) * nlon;
                c.field[start..start + nlon].iter().copied()
            })
            .collect();
        let clip = (f.left, f.top, f.left + map_w, f.top + map_h);
        let px = |(r, c): (f64, f64)| {
            (
                f.left as f64 + (c + 0.5) * cell as f64,
                f.top as f64 + (r + 0.5) * cell as f64,
            )
        };
        let mut lines = Vec::with_capacity(c.levels.len());
        for level in &c.levels {
            let segs: Vec<Segment> = contour::segments(&rows, nlat, nlon, g.global, *level)
                .into_iter()
                .map(|(a, b)| (px(a), px(b)))
                .collect();
            for &(a, b) in &segs {
                cv.line(a, b, CONTOUR, clip);
                if g.global {
                    // A segment across the right edge reappears at the left edge.
                    let shift = map_w as f64;
                    cv.line((a.0 - shift, a.1), (b.0 - shift, b.1), CONTOUR, clip);
                }
            }
            lines.push((*level, segs));
        }
        label_contours(cv, c, &lines, clip);
    }
    cv.fill_rect(f.left - 1, f.top - 1, map_w + 2, 1, BLACK);
    cv.fill_rect(f.left - 1, f.top + map_h, map_w + 2, 1, BLACK);
    cv.fill_rect(f.left - 1, f.top - 1, 1, map_h + 2, BLACK);
    cv.fill_rect(f.left + map_w, f.top - 1, 1, map_h + 2, BLACK);
}

/// A segment of a contour line in pixel coordinates.
type Segment = ((f64, f64), (f64, f64));

/// Most labels per contour value.
const LABELS_PER_LEVEL: usize = 2;

/// Labels (the value, black on a white box) at the middle of some segments of each contour:
/// at most [`LABELS_PER_LEVEL`] per value, whole inside the map, none overlapping another.
fn label_contours(
    cv: &mut Canvas,
    c: &Contours,
    lines: &[(f64, Vec<Segment>)],
    clip: (i64, i64, i64, i64),
) {
    let max_abs = c.levels.iter().fold(0f64, |m, v| m.max(v.abs()));
    let text_h = (GLYPH_H * TEXT_SCALE) as i64;
    let mut placed: Vec<(i64, i64, i64, i64)> = Vec::new();
    for (level, segs) in lines {
        let label = tick_label(*level, c.interval, max_abs);
        let (w, h) = (text_px(&label) + 4, text_h + 4);
        let mut count = 0;
        for (a, b) in segs {
            let (x, y) = (
                ((a.0 + b.0) / 2.0).round() as i64 - w / 2,
                ((a.1 + b.1) / 2.0).round() as i64 - h / 2,
            );
            let inside = x >= clip.0 && y >= clip.1 && x + w <= clip.2 && y + h <= clip.3;
            // Keep a label's width of room around every other label.
            let apart = placed.iter().all(|&(px, py, pw, ph)| {
                x + w + w < px || px + pw + pw < x || y + h + h < py || py + ph + ph < y
            });
            if inside && apart {
                cv.fill_rect(x, y, w, h, WHITE);
                cv.text(x + 2, y + 2, &label, BLACK);
                placed.push((x, y, w, h));
                count += 1;
                if count == LABELS_PER_LEVEL {
                    break;
                }
            }
        }
    }
}

/// Latitude labels left of the map and longitude labels under it.
fn draw_axes(cv: &mut Canvas, g: &Grid, f: &Frame) {
    let (nlat, nlon) = (g.lat.len(), g.lon.len());
    let cell = f.cell as f64;
    let (map_w, map_h) = ((nlon * f.cell) as i64, (nlat * f.cell) as i64);
    let text_h = (GLYPH_H * TEXT_SCALE) as i64;
    if nlat >= 2 {
        let (lat0, dlat) = (
            f64::from(g.lat[file_row(g.lat, 0)]),
            f64::from(g.lat[file_row(g.lat, 1)] - g.lat[file_row(g.lat, 0)]),
        );
        let step = degree_step((nlat as f64 * dlat).abs());
        for deg in (-90..=90).filter(|d| d % step == 0) {
            let y = f.top + (((deg as f64 - lat0) / dlat + 0.5) * cell) as i64;
            if y < f.top || y > f.top + map_h {
                continue;
            }
            let label = match deg {
                0 => "EQ".to_string(),
                d if d > 0 => format!("{d}N"),
                d => format!("{}S", -d),
            };
            cv.fill_rect(f.left - 6, y, 5, 1, BLACK);
            cv.text(f.left - 10 - text_px(&label), y - text_h / 2, &label, BLACK);
        }
    }
    if nlon >= 2 {
        let (lon0, dlon) = (f64::from(g.lon[0]), f64::from(g.lon[1] - g.lon[0]));
        let step = degree_step(nlon as f64 * dlon);
        let first = (lon0 / step as f64).floor() as i64 * step;
        let last = f64::from(g.lon[nlon - 1]).ceil() as i64 + step;
        for deg in (first..=last).step_by(step as usize) {
            let x = f.left + (((deg as f64 - lon0) / dlon + 0.5) * cell) as i64;
            if x < f.left || x > f.left + map_w {
                continue;
            }
            let label = match (deg.rem_euclid(360) + 180) % 360 - 180 {
                0 => "0".to_string(),
                -180 => "180".to_string(),
                d if d > 0 => format!("{d}E"),
                d => format!("{}W", -d),
            };
            cv.fill_rect(x, f.top + map_h + 1, 1, 5, BLACK);
            cv.text(x - text_px(&label) / 2, f.top + map_h + 10, &label, BLACK);
        }
    }
}

/// A colour bar of width `w` with its top-left corner at (`left`, `top`), ticks and label.
fn draw_bar(cv: &mut Canvas, bar: &ColourBar, left: i64, top: i64, w: i64, h: i64) {
    for k in 0..w {
        let t = (k as f64 + 0.5) / w as f64;
        cv.fill_rect(left + k, top, 1, h, bar.colormap.at(t));
    }
    cv.fill_rect(left - 1, top - 1, w + 2, 1, BLACK);
    cv.fill_rect(left - 1, top + h, w + 2, 1, BLACK);
    cv.fill_rect(left - 1, top - 1, 1, h + 2, BLACK);
    cv.fill_rect(left + w, top - 1, 1, h + 2, BLACK);
    let (lo, hi) = bar.range;
    let (ticks, step) = nice_ticks(lo, hi, (w / 130).max(4) as usize);
    let max_abs = lo.abs().max(hi.abs());
    for v in ticks {
        let x = left + ((v - lo) / (hi - lo) * w as f64).round() as i64;
        let label = tick_label(v, step, max_abs);
        cv.fill_rect(x, top + h, 1, 6, BLACK);
        cv.text(x - text_px(&label) / 2, top + h + 9, &label, BLACK);
    }
    let label_y = top + h + 9 + LINE_H as i64;
    cv.text(
        left + w / 2 - text_px(&bar.label) / 2,
        label_y,
        &bar.label,
        BLACK,
    );
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
        // Amounts start at zero whatever their minimum.
        assert_eq!(value_range(&[2.0, 5.0], Colormap::Blues), (0.0, 5.0));
        let (lo, hi) = value_range(&[0.0, 0.0], Colormap::Viridis);
        assert!(lo < 0.0 && hi > 0.0);
    }

    #[test]
    fn canvas_is_wide_enough_and_encodes() {
        let (lat, lon) = ([-45.0f32, 45.0], [0.0f32, 90.0, 180.0, 270.0]);
        let field = vec![1.0, 2.0, f32::NAN, 4.0, 5.0, 6.0, 7.0, 8.0];
        let page = Page {
            grid: Grid {
                lat: &lat,
                lon: &lon,
                land_sea_mask: None,
                global: true,
            },
            title: vec!["t".into()],
            panels: vec![Panel {
                field,
                label: None,
                bar: 0,
                contours: None,
            }],
            columns: 1,
            bars: vec![ColourBar {
                colormap: Colormap::Viridis,
                range: (1.0, 8.0),
                label: "x [K]".into(),
            }],
            map_width: SINGLE_MAP_WIDTH,
            axes: true,
        };
        let cv = render_page(&page);
        assert!(cv.width >= MIN_MAP_WIDTH);
        assert_eq!(cv.rgb.len(), cv.width * cv.height * 3);
        let png = cv.encode_png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }

    #[test]
    fn lines_are_anti_aliased_and_clipped() {
        let mut cv = Canvas::new(20, 10, [0, 0, 0]);
        cv.line((2.0, 5.5), (30.0, 5.5), WHITE, (0, 0, 15, 10));
        // The line through the centres of row 5 (1.5 px wide) covers it fully and rows 4 and 6 by
        // a quarter.
        assert_eq!(cv.rgb[(5 * 20 + 8) * 3], 255);
        assert_eq!(cv.rgb[(4 * 20 + 8) * 3], 64);
        assert_eq!(cv.rgb[(6 * 20 + 8) * 3], 64);
        // Clipped at x = 15.
        assert_eq!(cv.rgb[(5 * 20 + 16) * 3], 0);
        assert_eq!(cv.rgb[(3 * 20 + 8) * 3], 0);
    }

    #[test]
    fn titles_wrap_at_spaces() {
        // Twelve px per character at scale 2 (the last one without its spacing column).
        assert_eq!(wrap("ab cd ef", 5 * 12), ["ab cd", "ef"]);
        assert_eq!(wrap("ab cd ef", 1000), ["ab cd ef"]);
        assert_eq!(wrap("abcdefgh ij", 24), ["abcdefgh", "ij"]);
    }

    #[test]
    fn regions_get_taller_cells_but_stay_bounded() {
        assert_eq!(cell_size(19, 36, 720), 20);
        assert_eq!(cell_size(4, 6, 720), 120);
        // A tall narrow region: cells shrink so the map stays under 1.2 × 720 px.
        assert_eq!(cell_size(10, 2, 720), 86);
        assert_eq!(degree_step(360.0), 60);
        assert_eq!(degree_step(50.0), 10);
    }
}
