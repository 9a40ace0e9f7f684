//! Tables recorded from the reference stack, stored as compact binary files next to this module
//! and embedded at build time.
//!
//! - `tables/mesh2grid_ties.bin` (written by `tools/gen_ties_table.py` from the reference's
//!   mesh2grid tie fixtures): grid points whose reference triangle depends on trimesh's R-tree
//!   candidate order or on rounding, with the face the reference chose. Layout, little-endian:
//!   `b"GCTIES01"`, u32 table count, then per table u32 `mesh_size, n_lat, n_lon, n_rows` and
//!   `n_rows` rows of u32 `grid_index, lat_bits, lon_bits, ref_face`.
//! - `tables/mesh_angle_ulps.bin` (written by `tools/gen_mesh_angles_table.py`): for mesh sizes
//!   0..=6 and each vertex (un-permuted numbering), by how many float32 ulps NumPy's float32
//!   `arctan2(y, x)` and `arccos(z)` (AVX-512 SIMD routines, NumPy 2.4.6) differ from the
//!   correctly rounded values, one byte per vertex: `(d_phi + 4) * 8 + (d_theta + 4)`. Layout:
//!   `b"GCMANG01"`, u32 mesh count, then per mesh u32 vertex count and one byte per vertex.

use std::sync::OnceLock;

/// One overridden grid point of the mesh2grid tie table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TieRow {
    /// Flat grid index `i_lat * n_lon + i_lon`.
    pub grid_index: u32,
    /// Bits of the point's float32 latitude.
    pub lat_bits: u32,
    /// Bits of the point's float32 longitude.
    pub lon_bits: u32,
    /// Face index (row of the finest mesh's face array) the reference chose.
    pub ref_face: u32,
}

/// The tie rows of one `(mesh_size, n_lat, n_lon)` configuration.
#[derive(Debug, Clone)]
pub struct TieTable {
    /// Number of mesh refinements.
    pub mesh_size: usize,
    /// Number of latitudes of the grid.
    pub n_lat: usize,
    /// Number of longitudes of the grid.
    pub n_lon: usize,
    /// Rows, ascending in grid index.
    pub rows: Vec<TieRow>,
}

const TIES: &[u8] = include_bytes!("tables/mesh2grid_ties.bin");
const ANGLES: &[u8] = include_bytes!("tables/mesh_angle_ulps.bin");

/// Reads little-endian u32s and byte runs from an embedded table.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn count(&mut self) -> Option<usize> {
        self.u32().map(|n| n as usize)
    }
}

fn parse_ties(bytes: &[u8]) -> Option<Vec<TieTable>> {
    let mut c = Cursor { bytes };
    (c.take(8)? == b"GCTIES01").then_some(())?;
    let n_tables = c.count()?;
    let mut tables = Vec::with_capacity(n_tables);
    for _ in 0..n_tables {
        let (mesh_size, n_lat, n_lon, n_rows) = (c.count()?, c.count()?, c.count()?, c.count()?);
        let rows = (0..n_rows)
            .map(|_| {
                Some(TieRow {
                    grid_index: c.u32()?,
                    lat_bits: c.u32()?,
                    lon_bits: c.u32()?,
                    ref_face: c.u32()?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        tables.push(TieTable {
            mesh_size,
            n_lat,
            n_lon,
            rows,
        });
    }
    c.bytes.is_empty().then_some(tables)
}

fn parse_angles(bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut c = Cursor { bytes };
    (c.take(8)? == b"GCMANG01").then_some(())?;
    let n_meshes = c.count()?;
    let mut meshes = Vec::with_capacity(n_meshes);
    for _ in 0..n_meshes {
        let n = c.count()?;
        meshes.push(c.take(n)?.to_vec());
    }
    c.bytes.is_empty().then_some(meshes)
}

/// Every configuration with a tie table.
pub fn tie_tables() -> &'static [TieTable] {
    static TABLES: OnceLock<Vec<TieTable>> = OnceLock::new();
    // The file is part of the build and checked by the tests below; it cannot be malformed in
    // a built binary.
    TABLES.get_or_init(|| parse_ties(TIES).expect("embedded mesh2grid_ties.bin is well formed"))
}

/// Tie rows of one configuration, or `None` when none were recorded for it.
pub fn ties(mesh_size: usize, n_lat: usize, n_lon: usize) -> Option<&'static [TieRow]> {
    tie_tables()
        .iter()
        .find(|t| t.mesh_size == mesh_size && t.n_lat == n_lat && t.n_lon == n_lon)
        .map(|t| t.rows.as_slice())
}

/// Angle corrections of one mesh size, one code per vertex, or `None` beyond the table.
pub fn mesh_angle_ulps(mesh_size: usize) -> Option<&'static [u8]> {
    static MESHES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    MESHES
        .get_or_init(|| parse_angles(ANGLES).expect("embedded mesh_angle_ulps.bin is well formed"))
        .get(mesh_size)
        .map(Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tie_tables_are_sorted_and_within_their_grids() {
        let tables = tie_tables();
        assert_eq!(tables.len(), 6);
        for t in tables {
            assert!(!t.rows.is_empty());
            assert!(t.rows.windows(2).all(|w| w[0].grid_index < w[1].grid_index));
            assert!(t
                .rows
                .iter()
                .all(|r| (r.grid_index as usize) < t.n_lat * t.n_lon));
            // Latitudes of the grid rows are the equiangular grid's, -90 + i * 180 / (n - 1).
            for r in &t.rows {
                let i_lat = r.grid_index as usize / t.n_lon;
                let lat = -90.0 + i_lat as f64 * 180.0 / (t.n_lat - 1) as f64;
                assert_eq!(f32::from_bits(r.lat_bits), lat as f32);
            }
        }
        assert!(ties(6, 721, 1440).is_some());
        assert!(ties(7, 721, 1440).is_none());
    }

    #[test]
    fn angle_tables_have_one_code_per_vertex() {
        for s in 0..=6 {
            let codes = mesh_angle_ulps(s).unwrap();
            assert_eq!(codes.len(), 10 * 4usize.pow(s as u32) + 2, "mesh {s}");
            // Corrections are at most 3 ulps either way: codes (d + 4) stay in 1..=7.
            assert!(codes
                .iter()
                .all(|&c| (1..=7).contains(&(c / 8)) && (1..=7).contains(&(c % 8))));
        }
        assert!(mesh_angle_ulps(7).is_none());
    }

    #[test]
    fn truncated_or_foreign_tables_are_refused() {
        assert!(parse_ties(&TIES[..TIES.len() - 1]).is_none());
        assert!(parse_ties(b"GCTIES02\0\0\0\0").is_none());
        assert!(parse_angles(&ANGLES[..ANGLES.len() - 1]).is_none());
    }
}
