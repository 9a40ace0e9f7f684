//! Isotropic spherical white noise on an equiangular latitude/longitude grid, reproducing the
//! reference's `spherical_white_noise_like` (real spherical harmonics with a flat spectrum up to
//! total wavenumber `L − 1`, `L = n_lon / 2`, synthesised onto the grid).
//!
//! Coefficient layout (as drawn by `jax.random.normal` with shape `(…, L, 2M − 1)`): index
//! `(l, k)` with `k = 0 → m = 0`, `k = 2m − 1 → cos(mλ)`, `k = 2m → sin(mλ)`; coefficients with
//! `m > l` are structural zeros. Each non-zero coefficient is scaled by
//! `sqrt(1 / (L (2l + 1))) · sqrt(4π)` so that every grid value has unit variance.
//!
//! Synthesis: `f(φ_j, λ_i) = Σ_k F[i, k] Σ_l p_l^{m(k)}(sin φ_j) c[l, k]` with the unit-norm real
//! Fourier basis `F` and unit-norm associated Legendre functions `p` (Condon–Shortley phase).
//!
//! Cost per draw of `n_f` fields: the Legendre functions are evaluated once per order `m` by the
//! upward recurrence on the southern half of the latitudes (the northern half follows from
//! `p_l^m(−x) = (−1)^{l−m} p_l^m(x)`), ≈ 2.5·n_lat·L² flops in f64 shared by all fields; the
//! Legendre sums are f32 matrix products of `n_f·2 × (L − m)` by `(L − m) × n_lat/2` per `m`,
//! ≈ 2·n_f·n_lat·L² flops in total; the longitude sums are complex FFTs of length `n_lon`, one per
//! pair of rows, ≈ 2.5·n_f·n_lat·n_lon·log2(n_lon) flops; drawing the ≈ n_f·L² non-zero normals
//! costs one Threefry block and one inverse error function each. At 0.25° (721 × 1440,
//! L = 720) with the 84 GenCast channels: ≈ 3.1e10 flops of matrix products plus 4.4e7 normals
//! per draw. No table of size L² × n_lat is ever held: memory is the output plus O(L · n_lat).

use std::sync::Arc;

use rayon::prelude::*;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlannerScalar};

use crate::kernels::{matmul_packed, PackedMat};
use crate::models::gencast::sampler::prng::{self, Key, PrngMode};
use crate::{Error, Result};

/// Latitude node placement understood by the synthesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LatitudeSpacing {
    /// Equally spaced from −90° to 90° inclusive (the GenCast grids); needs `n_lon = 2(n_lat − 1)`.
    EquiangularWithPoles,
    /// Equally spaced cell centres without the poles; needs `n_lon = 2 n_lat`.
    Equiangular,
}

/// The random draw behind one noise field: the key of its variable's `normal` call and where
/// the field's `L × (2M − 1)` coefficients start in that call's flat (row-major) output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoiseField {
    /// Key of the variable's `jax.random.normal` call.
    pub key: Key,
    /// Flat index of the field's first coefficient in that call (`level · L · (2M − 1)`).
    pub offset: u64,
    /// Number of elements of the whole call (needed by the legacy counter layout only).
    pub total: u64,
}

/// Orders `m` synthesised in parallel between two scatters into the output.
const M_BLOCK: usize = 16;

/// A latitude/longitude grid prepared for spherical-harmonic noise synthesis.
pub struct SphericalGrid {
    n_lat: usize,
    n_lon: usize,
    /// Number of longitude wavenumbers M (= total wavenumbers L).
    m_count: usize,
    spacing: LatitudeSpacing,
    /// sin(latitude) of the southern half of the rows (and the equator row if `n_lat` is odd).
    x: Vec<f64>,
    /// Sectoral values `p_m^m(x_j)`, `[M][n_half]`.
    sectoral: Vec<f64>,
    /// Coefficient scale per total wavenumber `l`, as the f32 the reference multiplies by.
    multiplier: Vec<f32>,
    fft: Arc<dyn Fft<f32>>,
}

impl std::fmt::Debug for SphericalGrid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SphericalGrid")
            .field("n_lat", &self.n_lat)
            .field("n_lon", &self.n_lon)
            .field("wavenumbers", &self.m_count)
            .field("spacing", &self.spacing)
            .finish()
    }
}

/// numpy's `allclose(a, b)` element test with its default tolerances.
fn is_close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-8 + 1e-5 * b.abs()
}

/// `numpy.linspace(start, stop, num)` including the endpoint.
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    crate::models::gencast::sampler::schedule::linspace(start, stop, num)
}

impl SphericalGrid {
    /// Prepares the synthesis for a dataset's `lat` / `lon` coordinates (degrees), applying the
    /// reference's checks: latitudes strictly increasing and evenly spaced, longitudes
    /// `360·i/n_lon` starting at 0, and `n_lon = 2(n_lat − 1)` (with poles) or `2 n_lat`.
    pub fn new(lat_deg: &[f32], lon_deg: &[f32]) -> Result<SphericalGrid> {
        let n_lat = lat_deg.len();
        let n_lon = lon_deg.len();
        let bad = |detail: String| Err(Error::Invalid(format!("spherical noise grid: {detail}")));
        if n_lat < 2 || n_lon < 2 {
            return bad(format!(
                "need at least 2 latitudes and 2 longitudes, found {n_lat} x {n_lon}"
            ));
        }
        let lat: Vec<f64> = lat_deg.iter().map(|&v| f64::from(v)).collect();
        let lon: Vec<f64> = lon_deg.iter().map(|&v| f64::from(v)).collect();
        if lat
            .windows(2)
            .any(|w| w[1].partial_cmp(&w[0]) != Some(std::cmp::Ordering::Greater))
        {
            return bad("latitudes must be strictly increasing (south to north)".into());
        }
        let d0 = lat[1] - lat[0];
        if !lat.windows(2).all(|w| is_close(w[1] - w[0], d0)) {
            return bad(
                "latitudes are not evenly spaced (Gaussian grids are not supported)".into(),
            );
        }
        let max_lat = lat[n_lat - 1];
        let spacing = if is_close(max_lat, 90.0) {
            LatitudeSpacing::EquiangularWithPoles
        } else {
            LatitudeSpacing::Equiangular
        };
        let want_lon = match spacing {
            LatitudeSpacing::EquiangularWithPoles => 2 * (n_lat - 1),
            LatitudeSpacing::Equiangular => 2 * n_lat,
        };
        if n_lon != want_lon {
            return bad(format!(
                "{n_lat} latitudes ({spacing:?}) need {want_lon} longitudes, found {n_lon}"
            ));
        }
        let theta = match spacing {
            LatitudeSpacing::EquiangularWithPoles => linspace(
                -std::f64::consts::FRAC_PI_2,
                std::f64::consts::FRAC_PI_2,
                n_lat,
            ),
            LatitudeSpacing::Equiangular => {
                let s = std::f64::consts::PI / n_lat as f64;
                linspace(
                    -std::f64::consts::FRAC_PI_2 + s / 2.0,
                    std::f64::consts::FRAC_PI_2 - s / 2.0,
                    n_lat,
                )
            }
        };
        let nodes: Vec<f64> = theta.iter().map(|t| t.sin()).collect();
        for (j, (&node, &l)) in nodes.iter().zip(&lat).enumerate() {
            if !is_close(node, l.to_radians().sin()) {
                return bad(format!(
                    "latitude {j} = {l} does not match the {spacing:?} node"
                ));
            }
        }
        let two_pi = 2.0 * std::f64::consts::PI;
        for (i, &l) in lon.iter().enumerate() {
            let node = i as f64 * (two_pi / n_lon as f64);
            if !is_close(node, l.to_radians()) {
                return bad(format!(
                    "longitude {i} = {l} does not match 360*{i}/{n_lon} (longitudes must start at 0)"
                ));
            }
        }
        let m_count = n_lon / 2;
        let n_half = n_lat.div_ceil(2);
        let x: Vec<f64> = nodes[..n_half].to_vec();
        // p_0^0 = 1/√2; p_m^m = −sqrt(1 + 1/(2m)) · y · p_{m−1}^{m−1}, with y = sqrt(1 − x²).
        let mut sectoral = vec![0f64; m_count * n_half];
        for (j, &xj) in x.iter().enumerate() {
            let y = (1.0 - xj * xj).sqrt();
            let mut p = 1.0 / 2f64.sqrt();
            sectoral[j] = p;
            for m in 1..m_count {
                p *= -(1.0 + 1.0 / (2 * m) as f64).sqrt() * y;
                sectoral[m * n_half + j] = p;
            }
        }
        let power = 1.0 / m_count as f64;
        let sqrt_4pi = (4.0 * std::f64::consts::PI).sqrt();
        let multiplier = (0..m_count)
            .map(|l| ((power / (2 * l + 1) as f64).sqrt() * sqrt_4pi) as f32)
            .collect();
        // The scalar planner: the SIMD planners pick different algorithms by CPU (AVX, SSE,
        // NEON), which would make the noise, and so the forecast, depend on the machine.
        let fft = FftPlannerScalar::<f32>::new().plan_fft_inverse(n_lon);
        Ok(SphericalGrid {
            n_lat,
            n_lon,
            m_count,
            spacing,
            x,
            sectoral,
            multiplier,
            fft,
        })
    }

    /// Number of latitude rows.
    pub fn n_lat(&self) -> usize {
        self.n_lat
    }

    /// Number of longitude columns.
    pub fn n_lon(&self) -> usize {
        self.n_lon
    }

    /// Truncation L (= M): total wavenumbers 0..L−1, longitude wavenumbers 0..M−1.
    pub fn num_wavenumbers(&self) -> usize {
        self.m_count
    }

    /// Latitude node placement inferred from the coordinates.
    pub fn spacing(&self) -> LatitudeSpacing {
        self.spacing
    }

    /// Coefficients drawn per field: `L · (2M − 1)`.
    pub fn coefficients_per_field(&self) -> usize {
        self.m_count * (2 * self.m_count - 1)
    }

    /// The fields of one variable's draw: `count` consecutive fields (e.g. its pressure levels,
    /// in template order) of one `normal(key, (count, L, 2M − 1))` call.
    pub fn variable_fields(&self, key: Key, count: usize) -> Vec<NoiseField> {
        let per = self.coefficients_per_field() as u64;
        let total = per * count as u64;
        (0..count as u64)
            .map(|i| NoiseField {
                key,
                offset: i * per,
                total,
            })
            .collect()
    }

    /// Draws the noise of every field in `fields` into `out` (`[field][lat][lon]`, row-major),
    /// bit-for-bit the same coefficients as the reference and the same synthesis up to f32
    /// rounding.
    pub fn sample_into(
        &self,
        mode: PrngMode,
        fields: &[NoiseField],
        out: &mut [f32],
    ) -> Result<()> {
        let source = RandomCoefficients {
            mode,
            fields,
            k_count: 2 * self.m_count as u64 - 1,
            multiplier: &self.multiplier,
        };
        self.synthesize(fields.len(), &source, out)
    }

    /// Synthesises `n_fields` fields from coefficients given by `coefficient(field, l, k)` (already
    /// scaled; only called for `m(k) ≤ l`) into `out` (`[field][lat][lon]`).
    pub fn synthesize_with<C>(&self, n_fields: usize, coefficient: C, out: &mut [f32]) -> Result<()>
    where
        C: Fn(usize, usize, usize) -> f32 + Sync,
    {
        self.synthesize(n_fields, &FnCoefficients(coefficient), out)
    }

    /// Synthesis from any coefficient source into `[field][lat][lon]`.
    fn synthesize(
        &self,
        n_fields: usize,
        source: &dyn Coefficients,
        out: &mut [f32],
    ) -> Result<()> {
        let plane = self.n_lat * self.n_lon;
        if out.len() != n_fields * plane {
            return Err(Error::Shape {
                what: "spherical noise output".into(),
                expected: vec![n_fields, self.n_lat, self.n_lon],
                found: vec![out.len()],
            });
        }
        if n_fields == 0 {
            return Ok(());
        }
        let inv_sqrt_2pi = (1.0 / (2.0 * std::f64::consts::PI).sqrt()) as f32;
        let inv_sqrt_pi = (1.0 / std::f64::consts::PI.sqrt()) as f32;
        let n_half = self.x.len();
        // Phase 1: Legendre sums per order m, stored as the complex Fourier coefficient of each
        // (field, row) in slots 2m, 2m+1 of the row.
        let orders: Vec<usize> = (0..self.m_count).collect();
        let n_lat = self.n_lat;
        let n_lon = self.n_lon;
        for block in orders.chunks(M_BLOCK) {
            let sums: Vec<OrderSums> = block
                .par_iter()
                .map(|&m| self.order_sums(m, n_fields, source))
                .collect();
            // Scatter field by field so that each (field, row) receives the whole block of
            // orders in one contiguous run.
            out.par_chunks_mut(plane)
                .enumerate()
                .for_each(|(f, field)| {
                    for h in 0..n_half {
                        let mirror = n_lat - 1 - h;
                        for sm in &sums {
                            let m = sm.m;
                            let i_cos = (f * sm.nk) * n_half + h;
                            let (ce, co) = (sm.even[i_cos], sm.odd[i_cos]);
                            let (se, so) = if sm.nk == 2 {
                                (sm.even[i_cos + n_half], sm.odd[i_cos + n_half])
                            } else {
                                (0.0, 0.0)
                            };
                            let mut put = |row: usize, gc: f32, gs: f32| {
                                let base = row * n_lon + 2 * m;
                                if m == 0 {
                                    field[base] = gc * inv_sqrt_2pi;
                                    field[base + 1] = 0.0;
                                } else {
                                    field[base] = gc * inv_sqrt_pi;
                                    field[base + 1] = -gs * inv_sqrt_pi;
                                }
                            };
                            put(h, ce + co, se + so);
                            if mirror != h {
                                put(mirror, ce - co, se - so);
                            }
                        }
                    }
                });
        }
        // Phase 2: longitude synthesis, one complex inverse FFT per pair of rows.
        let m_count = self.m_count;
        let fft = &self.fft;
        out.par_chunks_mut(2 * n_lon).for_each_init(
            || {
                let buf = vec![Complex::new(0f32, 0f32); n_lon];
                let scratch = vec![Complex::new(0f32, 0f32); fft.get_inplace_scratch_len()];
                (buf, scratch)
            },
            |(buf, scratch), rows| {
                let two = rows.len() == 2 * n_lon;
                buf.fill(Complex::new(0.0, 0.0));
                let a0 = rows[0];
                let b0 = if two { rows[n_lon] } else { 0.0 };
                buf[0] = Complex::new(a0, b0);
                for m in 1..m_count {
                    let xa = Complex::new(rows[2 * m], rows[2 * m + 1]) * 0.5;
                    let xb = if two {
                        Complex::new(rows[n_lon + 2 * m], rows[n_lon + 2 * m + 1]) * 0.5
                    } else {
                        Complex::new(0.0, 0.0)
                    };
                    let i_xb = Complex::new(-xb.im, xb.re);
                    buf[m] = xa + i_xb;
                    let i_xb_conj = Complex::new(xb.im, xb.re);
                    buf[n_lon - m] = xa.conj() + i_xb_conj;
                }
                fft.process_with_scratch(buf, scratch);
                for (i, v) in buf.iter().enumerate() {
                    rows[i] = v.re;
                    if two {
                        rows[n_lon + i] = v.im;
                    }
                }
            },
        );
        Ok(())
    }

    /// Legendre sums of order `m` for every field: `Σ_l p_l^m(x_j) c[f, l, k]` over even and odd
    /// `l − m` separately, on the southern half rows.
    fn order_sums(&self, m: usize, n_fields: usize, source: &dyn Coefficients) -> OrderSums {
        let n_half = self.x.len();
        let l_count = self.m_count;
        let nk = if m == 0 { 1 } else { 2 };
        let rows = n_fields * nk;
        let n_l = l_count - m;
        let n_even = n_l.div_ceil(2);
        let n_odd = n_l / 2;
        // Legendre functions p_l^m(x_j), l = m..L−1, rows split by parity of l − m.
        let mut p_even = vec![0f32; n_even * n_half];
        let mut p_odd = vec![0f32; n_odd * n_half];
        let mut prev2 = vec![0f64; n_half];
        let mut prev1: Vec<f64> = self.sectoral[m * n_half..(m + 1) * n_half].to_vec();
        let mut cur = vec![0f64; n_half];
        for (d, v) in prev1.iter().enumerate() {
            p_even[d] = to_f32_flushed(*v);
        }
        let m2 = (m * m) as f64;
        for k in 1..n_l {
            let l = m + k;
            let mk2 = (l * l) as f64;
            let mkp2 = ((l - 1) * (l - 1)) as f64;
            let a = ((4.0 * mk2 - 1.0) / (mk2 - m2)).sqrt();
            let b = ((mkp2 - m2) / (4.0 * mkp2 - 1.0)).sqrt();
            for j in 0..n_half {
                cur[j] = a * (self.x[j] * prev1[j] - b * prev2[j]);
            }
            let dst = if k % 2 == 0 {
                &mut p_even[(k / 2) * n_half..(k / 2 + 1) * n_half]
            } else {
                &mut p_odd[(k / 2) * n_half..(k / 2 + 1) * n_half]
            };
            for (d, v) in dst.iter_mut().zip(&cur) {
                *d = to_f32_flushed(*v);
            }
            std::mem::swap(&mut prev2, &mut prev1);
            std::mem::swap(&mut prev1, &mut cur);
        }
        // Coefficients c[f, l, k] as matrices [f·nk + s, l] for each parity.
        let k_of = |s: usize| if m == 0 { 0 } else { 2 * m - 1 + s };
        let mut c_even = vec![0f32; rows * n_even];
        let mut c_odd = vec![0f32; rows * n_odd];
        let mut column = vec![0f32; n_l];
        for f in 0..n_fields {
            for s in 0..nk {
                let r = f * nk + s;
                source.fill(f, k_of(s), m, &mut column);
                for (i, &v) in column.iter().enumerate() {
                    if i % 2 == 0 {
                        c_even[r * n_even + i / 2] = v;
                    } else {
                        c_odd[r * n_odd + i / 2] = v;
                    }
                }
            }
        }
        let mut even = vec![0f32; rows * n_half];
        let mut odd = vec![0f32; rows * n_half];
        // The products run on the packed kernels, whose bits do not depend on the CPU.
        let p_even = PackedMat::pack(&p_even, n_even, n_half);
        let p_odd = PackedMat::pack(&p_odd, n_odd, n_half);
        matmul_packed(&c_even, p_even.view(), &mut even, rows, false, None);
        matmul_packed(&c_odd, p_odd.view(), &mut odd, rows, false, None);
        OrderSums { m, nk, even, odd }
    }
}

/// Legendre values below this magnitude are set to zero in the f32 tables.
const LEGENDRE_FLUSH: f64 = 1e-30;

/// Casts a Legendre value to f32, flushing magnitudes below [`LEGENDRE_FLUSH`] to zero: such
/// values contribute nothing at f32 precision to sums of O(1) terms, while they (and their
/// products with the coefficients) would be f32 subnormals, which XLA on CPU flushes as well and
/// which slow the matrix products down by orders of magnitude.
#[inline]
fn to_f32_flushed(v: f64) -> f32 {
    if v.abs() < LEGENDRE_FLUSH {
        0.0
    } else {
        v as f32
    }
}

/// A source of (already scaled) spectral coefficients.
trait Coefficients: Sync {
    /// Writes `c[field, l, k]` for `l = l0 .. l0 + out.len()` into `out`.
    fn fill(&self, field: usize, k: usize, l0: usize, out: &mut [f32]);
}

/// Coefficients given by a closure `(field, l, k) -> value`.
struct FnCoefficients<C>(C);

impl<C: Fn(usize, usize, usize) -> f32 + Sync> Coefficients for FnCoefficients<C> {
    fn fill(&self, field: usize, k: usize, l0: usize, out: &mut [f32]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = (self.0)(field, l0 + i, k);
        }
    }
}

/// The reference's random coefficients: standard normals of each field's `normal` call
/// (flat index `offset + l·(2M − 1) + k`) times the per-`l` scale.
struct RandomCoefficients<'a> {
    mode: PrngMode,
    fields: &'a [NoiseField],
    k_count: u64,
    multiplier: &'a [f32],
}

impl Coefficients for RandomCoefficients<'_> {
    fn fill(&self, field: usize, k: usize, l0: usize, out: &mut [f32]) {
        let fd = &self.fields[field];
        let start = fd.offset + l0 as u64 * self.k_count + k as u64;
        prng::normals_strided(self.mode, fd.key, fd.total, start, self.k_count, out);
        for (o, &s) in out.iter_mut().zip(&self.multiplier[l0..]) {
            *o *= s;
        }
    }
}

/// Legendre sums of one order for all fields: `[field·nk + s][half row]` per parity.
struct OrderSums {
    m: usize,
    nk: usize,
    even: Vec<f32>,
    odd: Vec<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid_1deg_like(n_lat: usize) -> (Vec<f32>, Vec<f32>) {
        let d = 180.0 / (n_lat - 1) as f64;
        let lat = (0..n_lat).map(|j| (-90.0 + j as f64 * d) as f32).collect();
        let n_lon = 2 * (n_lat - 1);
        let lon = (0..n_lon).map(|i| (i as f64 * d) as f32).collect();
        (lat, lon)
    }

    /// Direct f64 evaluation of one basis function's synthesis, for comparison.
    fn naive(grid: &SphericalGrid, lat: &[f32], l: usize, k: usize) -> Vec<f64> {
        let m = if k == 0 { 0 } else { k.div_ceil(2) };
        let mut out = vec![0f64; grid.n_lat * grid.n_lon];
        for (j, &la) in lat.iter().enumerate() {
            let x = (la as f64).to_radians().sin();
            let x = x.clamp(-1.0, 1.0);
            let y = (1.0 - x * x).sqrt();
            let mut pmm = 1.0 / 2f64.sqrt();
            for i in 1..=m {
                pmm *= -(1.0 + 1.0 / (2 * i) as f64).sqrt() * y;
            }
            let (mut p2, mut p1) = (0.0, pmm);
            for ll in (m + 1)..=l {
                let (lf, mf) = (ll as f64, m as f64);
                let a = ((4.0 * lf * lf - 1.0) / (lf * lf - mf * mf)).sqrt();
                let b = (((lf - 1.0).powi(2) - mf * mf) / (4.0 * (lf - 1.0).powi(2) - 1.0)).sqrt();
                let p = a * (x * p1 - b * p2);
                p2 = p1;
                p1 = p;
            }
            for i in 0..grid.n_lon {
                let lam = 2.0 * std::f64::consts::PI * i as f64 / grid.n_lon as f64;
                let f = if k == 0 {
                    1.0 / (2.0 * std::f64::consts::PI).sqrt()
                } else if k % 2 == 1 {
                    (m as f64 * lam).cos() / std::f64::consts::PI.sqrt()
                } else {
                    (m as f64 * lam).sin() / std::f64::consts::PI.sqrt()
                };
                out[j * grid.n_lon + i] = f * p1;
            }
        }
        out
    }

    #[test]
    fn single_harmonics_match_direct_evaluation() {
        let (lat, lon) = grid_1deg_like(19);
        let g = SphericalGrid::new(&lat, &lon).unwrap();
        assert_eq!(g.num_wavenumbers(), 18);
        for &(l, k) in &[
            (0usize, 0usize),
            (1, 0),
            (1, 1),
            (1, 2),
            (5, 7),
            (17, 33),
            (17, 34),
            (12, 0),
            (9, 18),
        ] {
            let mut out = vec![0f32; 19 * 36];
            g.synthesize_with(
                1,
                |_, ll, kk| if ll == l && kk == k { 1.0 } else { 0.0 },
                &mut out,
            )
            .unwrap();
            let want = naive(&g, &lat, l, k);
            let err = out
                .iter()
                .zip(&want)
                .map(|(a, b)| (*a as f64 - b).abs())
                .fold(0.0, f64::max);
            // f32 tables and f32 FFT: errors of a few f32 ulps of the O(1) basis values.
            assert!(err < 2e-6, "(l={l}, k={k}) max err {err}");
        }
    }

    #[test]
    fn unit_variance_and_constant_poles() {
        let (lat, lon) = grid_1deg_like(37);
        let g = SphericalGrid::new(&lat, &lon).unwrap();
        let n = 20;
        let fields: Vec<NoiseField> = (0..n)
            .flat_map(|i| g.variable_fields(prng::fold_in(prng::prng_key(9), i), 1))
            .collect();
        let mut out = vec![0f32; n as usize * 37 * 72];
        g.sample_into(PrngMode::Partitionable, &fields, &mut out)
            .unwrap();
        let mean_sq = out.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / out.len() as f64;
        // 20 fields of 36² ≈ 1300 independent coefficients each: the sample mean square has a
        // relative standard error of roughly sqrt(2/26000) ≈ 1%, so 5% is a wide margin.
        assert!((mean_sq - 1.0).abs() < 0.05, "mean square {mean_sq}");
        for f in 0..n as usize {
            for row in [0usize, 36] {
                let r = &out[f * 37 * 72 + row * 72..f * 37 * 72 + (row + 1) * 72];
                let spread = r.iter().fold(0f32, |a, v| a.max((v - r[0]).abs()));
                // Only m = 0 survives at the poles; the FFT leaves f32 round-off.
                assert!(
                    spread < 1e-5,
                    "pole row {row} of field {f} varies by {spread}"
                );
            }
        }
    }

    #[test]
    fn rejects_bad_grids() {
        let (lat, lon) = grid_1deg_like(19);
        let rev: Vec<f32> = lat.iter().rev().copied().collect();
        assert!(SphericalGrid::new(&rev, &lon).is_err());
        let shifted: Vec<f32> = lon.iter().map(|v| v + 5.0).collect();
        assert!(SphericalGrid::new(&lat, &shifted).is_err());
        assert!(SphericalGrid::new(&lat, &lon[..30]).is_err());
    }
}

#[cfg(test)]
mod timing {
    use super::*;

    /// One draw of the 84 noise fields of a 1° step, timed (`cargo test --release -- --ignored
    /// noise_timing --nocapture`).
    #[test]
    #[ignore = "timing; run with cargo test --release -- --ignored noise_timing --nocapture"]
    fn noise_timing() {
        let lat: Vec<f32> = (0..181).map(|i| -90.0 + i as f32).collect();
        let lon: Vec<f32> = (0..360).map(|i| i as f32).collect();
        let grid = SphericalGrid::new(&lat, &lon).unwrap();
        let key = prng::prng_key(0);
        let fields = grid.variable_fields(key, 84);
        let mut out = vec![0.0f32; 84 * 181 * 360];
        grid.sample_into(PrngMode::Partitionable, &fields, &mut out)
            .unwrap();
        let t = std::time::Instant::now();
        for _ in 0..5 {
            grid.sample_into(PrngMode::Partitionable, &fields, &mut out)
                .unwrap();
        }
        eprintln!(
            "noise draw of 84 fields at 1°: {:.1} ms",
            t.elapsed().as_secs_f64() / 5.0 * 1e3
        );
    }
}
