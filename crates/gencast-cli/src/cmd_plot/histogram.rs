//! The rank histogram page: one bar per rank of the truth among the members, with labelled
//! axes and the flat histogram of a calibrated ensemble as a grey line.

use super::colormap::Rgb;
use super::render::{nice_ticks, text_px, tick_label, wrap, Canvas, LINE_H};

/// Colour of the bars.
pub(super) const BAR: Rgb = [70, 130, 180];
/// Colour of the flat-histogram line.
const FLAT: Rgb = [150, 150, 150];
const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
/// Height of the plot area in pixels.
pub(super) const PLOT_H: usize = 400;
/// Width of the plot area in pixels.
const PLOT_W: usize = 720;
/// Left margin (room for the count labels).
const LEFT: usize = 110;

/// Draws the histogram of `counts` (bin k: the truth has k members below it) under `title`.
pub(super) fn render(title: &[String], counts: &[f64]) -> Canvas {
    let width = LEFT + PLOT_W + 30;
    let title: Vec<String> = title
        .iter()
        .flat_map(|l| wrap(l, width as i64 - 20))
        .collect();
    let title_h = 12 + title.len() * LINE_H + 8;
    let top = title_h + LINE_H + 6;
    let height = top + PLOT_H + 10 + 2 * LINE_H + 16;
    let mut cv = Canvas::new(width, height, WHITE);
    for (i, line) in title.iter().enumerate() {
        let x = (width as i64 / 2 - text_px(line) / 2).max(4);
        cv.text(x, 12 + (i * LINE_H) as i64, line, BLACK);
    }
    let (left, top, plot_h) = (LEFT as i64, top as i64, PLOT_H as i64);
    let bottom = top + plot_h;
    let total: f64 = counts.iter().sum();
    let max = counts.iter().copied().fold(0f64, f64::max).max(1.0);
    // The axis ends at the first round value at or above the tallest bar.
    let (_, step) = nice_ticks(0.0, max, 5);
    let y_max = (max / step).ceil() * step;
    let (ticks, step) = nice_ticks(0.0, y_max, 5);
    let y_of = |v: f64| bottom - (v / y_max * plot_h as f64).round() as i64;
    cv.text(left - 90, top - LINE_H as i64 - 2, "points", BLACK);
    for v in ticks {
        let label = tick_label(v, step, y_max);
        let y = y_of(v);
        cv.fill_rect(left - 6, y, 5, 1, BLACK);
        cv.text(left - 10 - text_px(&label), y - 7, &label, BLACK);
    }
    let bins = counts.len().max(1) as i64;
    let slot = PLOT_W as i64 / bins;
    let bar_w = (slot * 4 / 5).max(1);
    // The flat histogram of a calibrated ensemble, behind the bars.
    if total > 0.0 {
        let flat = y_of(total / bins as f64);
        cv.fill_rect(left, flat, slot * bins, 1, FLAT);
    }
    for (k, &c) in counts.iter().enumerate() {
        let x = left + k as i64 * slot + (slot - bar_w) / 2;
        let y = y_of(c);
        cv.fill_rect(x, y, bar_w, bottom - y, BAR);
        let label = k.to_string();
        cv.text(
            x + bar_w / 2 - text_px(&label) / 2,
            bottom + 8,
            &label,
            BLACK,
        );
    }
    cv.fill_rect(left - 1, top, 1, plot_h + 1, BLACK);
    cv.fill_rect(left - 1, bottom, slot * bins + 1, 1, BLACK);
    let members = counts.len().saturating_sub(1);
    let axis = format!("rank of the truth among the {members} members (members below it)");
    cv.text(
        left + slot * bins / 2 - text_px(&axis) / 2,
        bottom + 8 + LINE_H as i64,
        &axis,
        BLACK,
    );
    cv
}
