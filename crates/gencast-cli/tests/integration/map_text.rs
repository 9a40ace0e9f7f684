//! Reading the text of a map back from its PNG: the plot's own 5×7 font (the same source file,
//! compiled into the tests) matched pixel for pixel at scale 2, black on white.

use crate::support::Image;

#[allow(dead_code)]
#[path = "../../src/cmd_plot/font.rs"]
mod font;

/// Pixels per font pixel.
const SCALE: usize = 2;
/// Horizontal advance of one character in image pixels.
const ADVANCE: usize = font::ADVANCE * SCALE;
/// The characters looked for (the space is found from the gaps).
const CHARS: &str =
    "!\"#%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]_abcdefghijklmnopqrstuvwxyz°";

/// One line of text found: its top row, its left column and the text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Text {
    /// Top row of the line's glyph boxes.
    pub y: usize,
    /// Left column of the first character.
    pub x: usize,
    /// The characters, spaces included.
    pub text: String,
}

const BLACK: [u8; 3] = [0, 0, 0];
const WHITE: [u8; 3] = [255, 255, 255];

/// Whether character `c`'s glyph is drawn with its top-left corner at (x, y): each font pixel a
/// 2 × 2 square, black where set and white where not.
fn matches(img: &Image, c: char, x: usize, y: usize) -> bool {
    let dy = font::glyph_offset(c) * SCALE;
    let rows = font::glyph(c);
    if x + font::GLYPH_W * SCALE > img.width || y + dy + font::GLYPH_H * SCALE > img.height {
        return false;
    }
    for (r, bits) in rows.iter().enumerate() {
        for col in 0..font::GLYPH_W {
            let want = if bits & (1 << (font::GLYPH_W - 1 - col)) != 0 {
                BLACK
            } else {
                WHITE
            };
            for (px, py) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                if img.pixel(x + col * SCALE + px, y + dy + r * SCALE + py) != want {
                    return false;
                }
            }
        }
    }
    true
}

/// Every line of text whose top row lies in `rows`, in reading order.
pub(crate) fn read(img: &Image, rows: std::ops::Range<usize>) -> Vec<Text> {
    // Black pixels above and left of each pixel (summed-area table), to skip blank boxes.
    let (w, h) = (img.width, img.height);
    let mut sum = vec![0u32; (w + 1) * (h + 1)];
    for y in 0..h {
        for x in 0..w {
            let b = u32::from(img.pixel(x, y) == BLACK);
            sum[(y + 1) * (w + 1) + x + 1] =
                b + sum[y * (w + 1) + x + 1] + sum[(y + 1) * (w + 1) + x] - sum[y * (w + 1) + x];
        }
    }
    let black_in = |x0: usize, y0: usize, x1: usize, y1: usize| {
        let (x1, y1) = (x1.min(w), y1.min(h));
        sum[y1 * (w + 1) + x1] + sum[y0 * (w + 1) + x0]
            - sum[y0 * (w + 1) + x1]
            - sum[y1 * (w + 1) + x0]
    };
    let mut found: Vec<(usize, usize, char)> = Vec::new();
    for y in rows {
        for x in 0..w {
            // Every glyph but the space has a black pixel in its 5 × 9 font pixels.
            if black_in(x, y, x + 10, y + 18) == 0 {
                continue;
            }
            // Where several glyphs fit (`.` inside the box of `!`), the one with the most ink.
            let ink = |c: char| font::glyph(c).iter().map(|r| r.count_ones()).sum::<u32>();
            if let Some(c) = CHARS
                .chars()
                .filter(|&c| matches(img, c, x, y))
                .max_by_key(|&c| ink(c))
            {
                found.push((y, x, c));
            }
        }
    }
    found.sort();
    let mut out: Vec<Text> = Vec::new();
    let mut next_x = None;
    for (y, x, c) in found {
        match out.last_mut() {
            Some(t)
                if t.y == y
                    && next_x.is_some_and(|n: usize| {
                        x >= n && (x - n).is_multiple_of(ADVANCE) && x - n <= 3 * ADVANCE
                    }) =>
            {
                let gap = (x - next_x.unwrap_or(x)) / ADVANCE;
                t.text.extend(std::iter::repeat_n(' ', gap));
                t.text.push(c);
            }
            _ => out.push(Text {
                y,
                x,
                text: c.to_string(),
            }),
        }
        next_x = Some(x + ADVANCE);
    }
    out
}

/// The texts of `read` only.
pub(crate) fn strings(img: &Image, rows: std::ops::Range<usize>) -> Vec<String> {
    read(img, rows).into_iter().map(|t| t.text).collect()
}
