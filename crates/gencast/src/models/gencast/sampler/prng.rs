//! JAX-compatible threefry2x32 random streams: keys, `split`, `fold_in`, random bits,
//! uniforms and normals, bit-exact with `jax.random` on CPU (float32, x64 disabled).
//!
//! Two counter layouts exist in JAX, chosen by the flag `jax_threefry_partitionable`:
//! [`PrngMode::Partitionable`] (the default since JAX 0.5) and [`PrngMode::Legacy`].

use rayon::prelude::*;

use crate::kernels::isa::{active, multiversion};

/// Which of JAX's two threefry counter layouts to reproduce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PrngMode {
    /// `jax_threefry_partitionable = True`: element `j` uses the counter pair `(hi32(j), lo32(j))`.
    #[default]
    Partitionable,
    /// `jax_threefry_partitionable = False`: counters `0..n` split into two halves (arrays of
    /// fewer than 2^32 elements, the only sizes the sampler draws).
    Legacy,
}

/// A raw threefry2x32 key: two 32-bit words, as `jax.random.key_data` shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key(pub [u32; 2]);

/// Rotation amounts of the two alternating round groups.
const ROTATIONS: [[u32; 4]; 2] = [[13, 15, 26, 6], [17, 29, 16, 24]];

/// Key-schedule parity constant of Threefry.
const KS_PARITY: u32 = 0x1BD1_1BDA;

/// The Threefry-2x32 block function with 20 rounds: encrypts the counter pair `x` under `key`.
#[inline(always)]
pub fn threefry2x32(key: [u32; 2], x: [u32; 2]) -> [u32; 2] {
    let ks = [key[0], key[1], key[0] ^ key[1] ^ KS_PARITY];
    let mut x0 = x[0].wrapping_add(ks[0]);
    let mut x1 = x[1].wrapping_add(ks[1]);
    for g in 0..5u32 {
        for &r in &ROTATIONS[(g % 2) as usize] {
            x0 = x0.wrapping_add(x1);
            x1 = x1.rotate_left(r) ^ x0;
        }
        x0 = x0.wrapping_add(ks[((g + 1) % 3) as usize]);
        x1 = x1
            .wrapping_add(ks[((g + 2) % 3) as usize])
            .wrapping_add(g + 1);
    }
    [x0, x1]
}

/// `jax.random.PRNGKey(seed)` with `jax_enable_x64 = False`: the seed is first converted to a
/// 32-bit integer (keeping its low 32 bits), so the key is `[0, seed mod 2^32]`.
pub fn prng_key(seed: i64) -> Key {
    Key([0, seed as u32])
}

/// `jax.random.PRNGKey(seed)` with `jax_enable_x64 = True`: `[high 32 bits, low 32 bits]`.
pub fn prng_key_x64(seed: i64) -> Key {
    let s = seed as u64;
    Key([(s >> 32) as u32, s as u32])
}

/// `jax.random.fold_in(key, data)` (identical in both modes).
pub fn fold_in(key: Key, data: u32) -> Key {
    Key(threefry2x32(key.0, [0, data]))
}

/// `jax.random.split(key, n)` in the default (partitionable) mode.
pub fn split(key: Key, n: usize) -> Vec<Key> {
    split_with(PrngMode::Partitionable, key, n)
}

/// `jax.random.split(key, n)` in the given mode.
pub fn split_with(mode: PrngMode, key: Key, n: usize) -> Vec<Key> {
    match mode {
        PrngMode::Partitionable => (0..n as u64)
            .map(|i| Key(threefry2x32(key.0, counter_pair(i))))
            .collect(),
        PrngMode::Legacy => {
            // Flat output of the legacy block over counters 0..2n is [y0 (n words), y1 (n words)],
            // reshaped to n rows of two words.
            let flat: Vec<u32> = (0..2 * n as u64)
                .map(|j| legacy_bits_at(key, j, 2 * n as u64))
                .collect();
            flat.chunks_exact(2).map(|c| Key([c[0], c[1]])).collect()
        }
    }
}

/// `(carry, sub) = jax.random.split(key)`: row 0 and row 1 of a two-way split.
pub fn split2(mode: PrngMode, key: Key) -> (Key, Key) {
    match mode {
        PrngMode::Partitionable => (
            Key(threefry2x32(key.0, [0, 0])),
            Key(threefry2x32(key.0, [0, 1])),
        ),
        PrngMode::Legacy => {
            let y = threefry2x32(key.0, [0, 2]);
            let z = threefry2x32(key.0, [1, 3]);
            (Key([y[0], z[0]]), Key([y[1], z[1]]))
        }
    }
}

/// Splits a flat element index into the (high, low) 32-bit counter words.
#[inline(always)]
fn counter_pair(j: u64) -> [u32; 2] {
    [(j >> 32) as u32, j as u32]
}

/// Element `j` of the 32-bit random bits of an array of `total` elements, partitionable layout.
#[inline(always)]
fn partitionable_bits_at(key: Key, j: u64) -> u32 {
    let y = threefry2x32(key.0, counter_pair(j));
    y[0] ^ y[1]
}

/// Element `j` of the 32-bit random bits of an array of `total` elements, legacy layout
/// (counters `0..total`, zero-padded to even length, halves encrypted pairwise).
#[inline(always)]
fn legacy_bits_at(key: Key, j: u64, total: u64) -> u32 {
    let half = total.div_ceil(2);
    if j < half {
        let partner = if half + j < total { half + j } else { 0 };
        threefry2x32(key.0, [j as u32, partner as u32])[0]
    } else {
        threefry2x32(key.0, [(j - half) as u32, j as u32])[1]
    }
}

/// Element `j` of the 32-bit random bits of an array of `total` elements drawn with `key`.
#[inline(always)]
pub fn bits_at(mode: PrngMode, key: Key, j: u64, total: u64) -> u32 {
    match mode {
        PrngMode::Partitionable => partitionable_bits_at(key, j),
        PrngMode::Legacy => legacy_bits_at(key, j, total),
    }
}

/// Elements per parallel work item when filling large buffers.
const PAR_CHUNK: usize = 1 << 14;

/// Fills `out` with the 32-bit random bits of elements `offset .. offset + out.len()` of an
/// array of `total` elements drawn with `jax.random.bits(key, shape)` (`total` = product of the
/// shape; only the legacy layout depends on it).
pub fn random_bits_into(mode: PrngMode, key: Key, total: u64, offset: u64, out: &mut [u32]) {
    out.par_chunks_mut(PAR_CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| {
            let base = offset + (c * PAR_CHUNK) as u64;
            for (i, o) in chunk.iter_mut().enumerate() {
                let j = base + i as u64;
                *o = match mode {
                    PrngMode::Partitionable => partitionable_bits_at(key, j),
                    PrngMode::Legacy => legacy_bits_at(key, j, total),
                };
            }
        });
}

/// `jax.random.bits(key, shape)` for a `uint32` array of `total` elements (row-major).
pub fn random_bits(mode: PrngMode, key: Key, total: usize) -> Vec<u32> {
    let mut out = vec![0u32; total];
    random_bits_into(mode, key, total as u64, 0, &mut out);
    out
}

/// Maps 32 random bits to a float in `[0, 1)` as JAX does: the top 23 bits become the mantissa
/// of a float in `[1, 2)`, from which 1 is subtracted.
#[inline(always)]
pub fn bits_to_unit_f32(bits: u32) -> f32 {
    f32::from_bits((bits >> 9) | 0x3F80_0000) - 1.0
}

/// `jax.random.uniform` for f32: `max(minval, u * (maxval - minval) + minval)`, where XLA on CPU
/// fuses the multiply-add into one FMA.
#[inline(always)]
pub fn bits_to_uniform_f32(bits: u32, minval: f32, maxval: f32) -> f32 {
    let u = bits_to_unit_f32(bits);
    minval.max(u.mul_add(maxval - minval, minval))
}

/// `jax.random.uniform(key, (total,), float32, minval, maxval)`.
pub fn uniform(mode: PrngMode, key: Key, total: usize, minval: f32, maxval: f32) -> Vec<f32> {
    random_bits(mode, key, total)
        .into_iter()
        .map(|b| bits_to_uniform_f32(b, minval, maxval))
        .collect()
}

/// Lower bound of the uniform draw behind `jax.random.normal`: `nextafter(-1, 0)`.
const NORMAL_LO: f32 = -0.99999994;

/// `sqrt(2)` rounded to f32, as JAX multiplies the inverse error function by it.
const SQRT_2_F32: f32 = std::f32::consts::SQRT_2;

/// Maps 32 random bits to a standard normal exactly as `jax.random.normal` does for f32 on CPU.
#[inline(always)]
pub fn bits_to_normal_f32(bits: u32) -> f32 {
    let u = bits_to_uniform_f32(bits, NORMAL_LO, 1.0);
    SQRT_2_F32 * erfinv_f32(u)
}

/// Fills `out` with elements `offset .. offset + out.len()` of `jax.random.normal(key, shape)`
/// for an f32 array of `total` elements (row-major flat indices).
pub fn normal_into(mode: PrngMode, key: Key, total: u64, offset: u64, out: &mut [f32]) {
    out.par_chunks_mut(PAR_CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| {
            let base = offset + (c * PAR_CHUNK) as u64;
            normals_strided(mode, key, total, base, 1, chunk);
        });
}

/// Fills `out[i]` with element `start + i·stride` of `jax.random.normal(key, shape)` for an
/// f32 array of `total` elements (single-threaded; uses FMA instructions when the CPU has them,
/// which give the same correctly rounded results as the portable path).
pub fn normals_strided(
    mode: PrngMode,
    key: Key,
    total: u64,
    start: u64,
    stride: u64,
    out: &mut [f32],
) {
    normals_strided_with(active(), mode, key, total, start, stride, out);
}

multiversion! {
    /// [`normals_strided`] compiled for `isa` (hardware FMA wherever the CPU has it; the results
    /// are correctly rounded on every path).
    fn normals_strided_with(
        mode: PrngMode,
        key: Key,
        total: u64,
        start: u64,
        stride: u64,
        out: &mut [f32],
    ) = normals_strided_portable;
}

/// Portable body of [`normals_strided`]: random bits for the whole slice first (a loop free of
/// calls, which the compiler can vectorise), then the conversion to normals.
#[inline(always)]
fn normals_strided_portable(
    mode: PrngMode,
    key: Key,
    total: u64,
    start: u64,
    stride: u64,
    out: &mut [f32],
) {
    let mut bits = [0u32; 256];
    for (b, chunk) in out.chunks_mut(256).enumerate() {
        let first = start + (b * 256) as u64 * stride;
        let bits = &mut bits[..chunk.len()];
        match mode {
            PrngMode::Partitionable => {
                let last = first + (bits.len() as u64 - 1) * stride;
                if first >> 32 == last >> 32 {
                    // All counters share the high word: 32-bit lanes the compiler vectorises.
                    let (hi, lo0, st) = ((first >> 32) as u32, first as u32, stride as u32);
                    for (i, o) in bits.iter_mut().enumerate() {
                        let lo = lo0.wrapping_add((i as u32).wrapping_mul(st));
                        let y = threefry2x32(key.0, [hi, lo]);
                        *o = y[0] ^ y[1];
                    }
                } else {
                    for (i, o) in bits.iter_mut().enumerate() {
                        *o = partitionable_bits_at(key, first + i as u64 * stride);
                    }
                }
            }
            PrngMode::Legacy => {
                for (i, o) in bits.iter_mut().enumerate() {
                    *o = legacy_bits_at(key, first + i as u64 * stride, total);
                }
            }
        }
        for (o, &v) in chunk.iter_mut().zip(bits.iter()) {
            *o = bits_to_normal_f32(v);
        }
    }
}

/// `jax.random.normal(key, shape, float32)` for an array of `total` elements (row-major).
pub fn normal(mode: PrngMode, key: Key, total: usize) -> Vec<f32> {
    let mut out = vec![0f32; total];
    normal_into(mode, key, total as u64, 0, &mut out);
    out
}

/// Coefficients of the inverse error function for `w < 5` (Giles' single-precision fit).
const ERFINV_SMALL: [f32; 9] = [
    2.810_226_4e-8,
    3.432_739_4e-7,
    -3.523_387_7e-6,
    -4.391_506_5e-6,
    2.185_808_7e-4,
    -1.253_725e-3,
    -4.177_681_6e-3,
    0.246_640_73,
    1.501_409_4,
];

/// Coefficients of the inverse error function for `w >= 5`.
const ERFINV_LARGE: [f32; 9] = [
    -2.002_142_6e-4,
    1.009_505_6e-4,
    1.349_343_2e-3,
    -3.673_428_4e-3,
    5.739_507_7e-3,
    -7.622_461_3e-3,
    9.438_870_5e-3,
    1.001_674,
    2.832_976_8,
];

/// The inverse error function in f32 as XLA evaluates it on CPU: `w = -log1p(-x²)`, a degree-8
/// polynomial in `w - 2.5` or `sqrt(w) - 3` evaluated by Horner's rule with fused multiply-adds,
/// times `x`; `±inf` at `|x| = 1`.
#[inline(always)]
pub fn erfinv_f32(x: f32) -> f32 {
    let w = -log1p_f32(-(x * x));
    let (w, c) = if w < 5.0 {
        (w - 2.5, &ERFINV_SMALL)
    } else {
        (w.sqrt() - 3.0, &ERFINV_LARGE)
    };
    let mut p = c[0];
    for &ci in &c[1..] {
        p = p.mul_add(w, ci);
    }
    if x.abs() == 1.0 {
        x * f32::MAX * f32::MAX
    } else {
        p * x
    }
}

/// Cephes numerator coefficients of XLA's `log1p` for small arguments (highest power first).
const LOG1P_NUM: [f64; 7] = [
    4.527_000_086_244_52e-5,
    4.985_410_282_319_337_6e-1,
    6.578_732_594_206_104,
    2.991_191_932_855_307_3e1,
    6.094_966_798_098_779e1,
    5.711_296_359_058_554e1,
    2.003_955_349_920_128e1,
];

/// Cephes denominator coefficients of XLA's `log1p` for small arguments (highest power first).
const LOG1P_DEN: [f64; 7] = [
    1.0,
    1.506_290_908_346_919_2e1,
    8.304_756_596_796_721e1,
    2.217_623_982_373_285_6e2,
    3.090_987_222_531_206e2,
    2.164_278_861_449_594_8e2,
    6.011_866_049_760_384e1,
];

/// `log1p` in f32 as XLA's CPU backend computes it: for `|x| < sqrt(2) - 1` a Cephes rational
/// approximation (polynomials by Horner's rule with fused multiply-adds), otherwise the
/// platform's f32 `log(1 + x)`.
#[inline(always)]
pub fn log1p_f32(x: f32) -> f32 {
    const SMALL: f32 = 0.414_213_57;
    if x.abs() < SMALL {
        let x2 = x * x;
        let mut num = 0.0f32;
        for &c in &LOG1P_NUM {
            num = num.mul_add(x, c as f32);
        }
        let mut den = 0.0f32;
        for &c in &LOG1P_DEN {
            den = den.mul_add(x, c as f32);
        }
        let r = (x * x2) * (num / den);
        x + (-0.5f32).mul_add(x2, r)
    } else {
        (x + 1.0).ln()
    }
}

/// A linear chain of keys as Haiku's `next_rng_key` hands them out inside one model call:
/// `(c_n, u_n) = split(c_{n-1})`, the n-th request gets `u_n`.
#[derive(Clone, Debug)]
pub struct KeyChain {
    mode: PrngMode,
    state: Key,
}

impl KeyChain {
    /// Starts a chain from the key given to the model call.
    pub fn new(mode: PrngMode, key: Key) -> Self {
        KeyChain { mode, state: key }
    }

    /// Returns the next key of the chain.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Key {
        let (carry, sub) = split2(self.mode, self.state);
        self.state = carry;
        sub
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values marked "JAX 0.7.2" were printed by jax 0.7.2 (CPU, x64 disabled, partitionable
    // threefry) with `jax.random.key_data`, `jax.random.bits` and `jax.random.normal`.

    #[test]
    fn block_function_known_answer() {
        // Known-answer vector of the Threefry-2x32 (20 rounds) reference implementation.
        let y = threefry2x32([0x1319_8a2e, 0x0370_7344], [0x243f_6a88, 0x85a3_08d3]);
        assert_eq!(y, [0xc492_3a9c, 0x483d_f7a0]);
    }

    #[test]
    fn seeds() {
        // JAX 0.7.2: PRNGKey(s) for s = 0, 42, -1, 2**32 + 5, 2**40 + 7, -(2**33).
        assert_eq!(prng_key(0), Key([0, 0]));
        assert_eq!(prng_key(42), Key([0, 42]));
        assert_eq!(prng_key(-1), Key([0, 4294967295]));
        assert_eq!(prng_key((1 << 32) + 5), Key([0, 5]));
        assert_eq!(prng_key((1 << 40) + 7), Key([0, 7]));
        assert_eq!(prng_key(-(1 << 33)), Key([0, 0]));
        assert_eq!(prng_key_x64((1 << 32) + 5), Key([1, 5]));
    }

    #[test]
    fn split_and_fold_in() {
        // JAX 0.7.2: split(PRNGKey(0), 3), split(PRNGKey(42), 5), fold_in(PRNGKey(42), 123456789).
        let k0 = prng_key(0);
        assert_eq!(
            split(k0, 3),
            vec![
                Key([1797259609, 2579123966]),
                Key([928981903, 3453687069]),
                Key([4146024105, 2718843009])
            ]
        );
        assert_eq!(fold_in(k0, 1), Key([928981903, 3453687069]));
        assert_eq!(fold_in(k0, 2), Key([4146024105, 2718843009]));
        assert_eq!(
            split2(PrngMode::Partitionable, k0).0,
            Key([1797259609, 2579123966])
        );
        let k42 = prng_key(42);
        assert_eq!(
            split(k42, 5),
            vec![
                Key([1832780943, 270669613]),
                Key([64467757, 2916123636]),
                Key([2465931498, 255383827]),
                Key([3134548294, 894150801]),
                Key([2954079971, 3276725750])
            ]
        );
        assert_eq!(fold_in(k42, 123456789), Key([801338215, 1032655946]));
    }

    #[test]
    fn legacy_split_and_normal() {
        // Legacy-mode vectors of JAX's threefry2x32 PRNG, as computed by JAX itself.
        let k0 = prng_key(0);
        assert_eq!(
            split_with(PrngMode::Legacy, k0, 2),
            vec![Key([4146024105, 967050713]), Key([2718843009, 1272950319])]
        );
        let (a, b) = split2(PrngMode::Legacy, k0);
        assert_eq!(
            (a, b),
            (Key([4146024105, 967050713]), Key([2718843009, 1272950319]))
        );
        // JAX 0.7.2 with jax_threefry_partitionable = False: bits and normals of odd length 5
        // (exercises the zero padding of the counter halves).
        let b = random_bits(PrngMode::Legacy, k0, 5);
        assert_eq!(
            b,
            vec![2467461003, 428148500, 1688610540, 3840466878, 2562233961]
        );
        let want5: Vec<f32> = [
            0x3E40_5A23,
            0xBFA4_4492,
            0xBE8A_CC88,
            0x3F9F_E12E,
            0x3E7A_565A,
        ]
        .iter()
        .map(|&h| f32::from_bits(h))
        .collect();
        assert_eq!(normal(PrngMode::Legacy, k0, 5), want5);
        let n = normal(PrngMode::Legacy, k0, 4);
        let want = [1.8160863f32, -0.7548851, 0.3398891, -0.5348353];
        for (g, w) in n.iter().zip(want) {
            // The reference values are printed to 8 significant digits.
            assert!((g - w).abs() <= 1e-7, "{g} vs {w}");
        }
    }

    #[test]
    fn bits_and_uniform() {
        // JAX 0.7.2: bits(PRNGKey(0), (5,)), bits(PRNGKey(42), (2, 3)), uniform(PRNGKey(0), (5,)).
        let b = random_bits(PrngMode::Partitionable, prng_key(0), 5);
        assert_eq!(
            b,
            vec![4070199207, 4202968722, 1427181096, 2012915765, 2447653815]
        );
        let b = random_bits(PrngMode::Partitionable, prng_key(42), 6);
        assert_eq!(
            b,
            vec![2098992034, 2919706841, 2646866425, 2409546199, 1935504149, 2516274904]
        );
        let u = uniform(PrngMode::Partitionable, prng_key(0), 5, 0.0, 1.0);
        let want = [
            f32::from_bits(0x3F72_9A4E),
            f32::from_bits(0x3F7A_8436),
            f32::from_bits(0x3EAA_221C),
            f32::from_bits(0x3EEF_F550),
            f32::from_bits(0x3F11_E43A),
        ];
        assert_eq!(u, want);
    }

    #[test]
    fn normals_bit_exact() {
        // JAX 0.7.2: normal(PRNGKey(0), (4,)) and normal(PRNGKey(7), (3, 4)) as exact f32 bits.
        let n = normal(PrngMode::Partitionable, prng_key(0), 4);
        let want: Vec<f32> = [0x3FCF_B2BD, 0x4001_9DF0, 0xBEDE_0017, 0xBDA1_0222]
            .iter()
            .map(|&h| f32::from_bits(h))
            .collect();
        assert_eq!(n, want);
        let n = normal(PrngMode::Partitionable, prng_key(7), 12);
        let hex = [
            0x3EE7_084B,
            0x3FFA_0AAE,
            0xBF04_2845,
            0xBE10_52A7,
            0x3F1D_9131,
            0x3EAB_2B88,
            0xBE04_6DB0,
            0xBE65_1B2E,
            0xBFBD_2061,
            0xBFAB_D3F7,
            0xBEA8_4A7B,
            0x3F7F_E6A7,
        ];
        let want: Vec<f32> = hex.iter().map(|&h| f32::from_bits(h)).collect();
        assert_eq!(n, want);
    }

    #[test]
    fn two_million_normals_bit_exact() {
        // JAX 0.7.2 (CPU, glibc): normal(PRNGKey(123), (2_000_000,)) has XOR of all f32 bit
        // patterns 0x7416e171 and wrapping u64 sum of the bit patterns 4_260_516_960_800_743.
        // Both only match if every element is bit-identical (the large-|u| branch of log1p
        // uses the platform's logf, as XLA does).
        let n = normal(PrngMode::Partitionable, prng_key(123), 2_000_000);
        let xor = n.iter().fold(0u32, |a, v| a ^ v.to_bits());
        let sum = n
            .iter()
            .fold(0u64, |a, v| a.wrapping_add(u64::from(v.to_bits())));
        assert_eq!(xor, 0x7416_e171);
        assert_eq!(sum, 4_260_516_960_800_743);
    }

    #[test]
    fn erfinv_edge_cases_and_values() {
        // JAX 0.7.2 (CPU, jit): jax.scipy.special.erfinv on f32 inputs, as bit patterns.
        let cases = [
            (0x3F7F_FFFE, 0x406F_9C68),
            (0x0DA2_4260, 0x0D8F_CC6C),
            (0x3F00_0000, 0x3EF4_30FE),
            (0xBE99_999A, 0xBE8B_803D),
            (0x3F33_3333, 0x3F3B_9D4F),
            (0x3F73_3333, 0x3FB1_654B),
        ];
        for (x, y) in cases {
            assert_eq!(
                erfinv_f32(f32::from_bits(x)).to_bits(),
                y,
                "x = {}",
                f32::from_bits(x)
            );
        }
        assert_eq!(erfinv_f32(1.0), f32::INFINITY);
        assert_eq!(erfinv_f32(-1.0), f32::NEG_INFINITY);
        assert!(erfinv_f32(1.5).is_nan());
        assert!(erfinv_f32(f32::NAN).is_nan());
        assert_eq!(erfinv_f32(-0.0).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn offsets_match_whole_array() {
        let key = prng_key(3);
        for mode in [PrngMode::Partitionable, PrngMode::Legacy] {
            let whole = normal(mode, key, 101);
            let mut part = vec![0f32; 40];
            normal_into(mode, key, 101, 37, &mut part);
            assert_eq!(&whole[37..77], &part[..]);
        }
    }

    #[test]
    fn key_chain() {
        // The first in-model key of member 0's first step (key flow of
        // `chunked_prediction_generator_multiple_runs` in
        // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/rollout.py>): u_1
        // where k_0 = split(fold_in(PRNGKey(0), 0))[1].
        let k_m = fold_in(prng_key(0), 0);
        assert_eq!(k_m, Key([1797259609, 2579123966]));
        let (_, k0) = split2(PrngMode::Partitionable, k_m);
        assert_eq!(k0, Key([1353695780, 2116000888]));
        let mut chain = KeyChain::new(PrngMode::Partitionable, k0);
        let u1 = chain.next();
        assert_eq!(u1, Key([3254170493, 2583240948]));
        let n = normal(PrngMode::Partitionable, u1, 3);
        let want = [1.0646981f32, -0.0349715, 1.8180065];
        for (g, w) in n.iter().zip(want) {
            // The reference values are printed to 8 significant digits.
            assert!((g - w).abs() <= 1e-7, "{g} vs {w}");
        }
    }
}
