//! A uniform 3-D cell index over points near the unit sphere, for radius queries.

/// Smallest cell side.
pub const MIN_CELL: f64 = 1.0 / 64.0;

/// Points bucketed into cubic cells of side `h` covering `[-1-h, 1+h]³`; each cell lists its
/// points in ascending index order.
#[derive(Debug, Clone)]
pub struct CellIndex {
    h: f64,
    n: usize,
    origin: f64,
    offsets: Vec<u32>,
    items: Vec<u32>,
}

impl CellIndex {
    /// Buckets `points` into cells of side `h` (at least [`MIN_CELL`], which caps the table at
    /// about 2.3M cells). Points beyond the covered cube are clamped into its border cells.
    pub fn new(points: &[[f64; 3]], h: f64) -> CellIndex {
        let h = if h.is_finite() { h.max(MIN_CELL) } else { 2.0 };
        let origin = -1.0 - h;
        let n = ((2.0 + 2.0 * h) / h).ceil() as usize + 1;
        let mut idx = CellIndex {
            h,
            n,
            origin,
            offsets: Vec::new(),
            items: Vec::new(),
        };
        let cell_of: Vec<usize> = points.iter().map(|p| idx.cell(p)).collect();
        let mut offsets = vec![0u32; n * n * n + 1];
        for &c in &cell_of {
            offsets[c + 1] += 1;
        }
        for i in 0..n * n * n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut items = vec![0u32; points.len()];
        for (i, &c) in cell_of.iter().enumerate() {
            items[fill[c] as usize] = i as u32;
            fill[c] += 1;
        }
        idx.offsets = offsets;
        idx.items = items;
        idx
    }

    fn coord(&self, x: f64) -> usize {
        (((x - self.origin) / self.h).floor().max(0.0) as usize).min(self.n - 1)
    }

    fn cell(&self, p: &[f64; 3]) -> usize {
        (self.coord(p[0]) * self.n + self.coord(p[1])) * self.n + self.coord(p[2])
    }

    /// Calls `f(i)` for every point in a cell that intersects the cube `p ± r` (a superset of
    /// the points within distance `r` of `p`), in no particular order.
    pub fn for_each_candidate(&self, p: &[f64; 3], r: f64, mut f: impl FnMut(u32)) {
        let lo = [
            self.coord(p[0] - r),
            self.coord(p[1] - r),
            self.coord(p[2] - r),
        ];
        let hi = [
            self.coord(p[0] + r),
            self.coord(p[1] + r),
            self.coord(p[2] + r),
        ];
        for cx in lo[0]..=hi[0] {
            for cy in lo[1]..=hi[1] {
                let base = (cx * self.n + cy) * self.n;
                let start = self.offsets[base + lo[2]] as usize;
                let end = self.offsets[base + hi[2] + 1] as usize;
                for &i in &self.items[start..end] {
                    f(i);
                }
            }
        }
    }
}
