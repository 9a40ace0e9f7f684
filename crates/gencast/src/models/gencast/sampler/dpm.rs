//! DPM-Solver++ 2S with stochastic churn (the reference's `dpm_solver_plus_plus_2s.Sampler`),
//! driving a preconditioned denoiser over the sampler state `[Ng, C]` (node-major, channel
//! fastest, channels in sorted target-variable order with levels).
//!
//! Random stream: one key per `hk.next_rng_key()` request from a linear split chain started at
//! the step key. Every iteration draws the initial-noise fields (used only at iteration 0) and,
//! when S_churn > 0, the churn fields (also where γ_i = 0), each as one `normal` call per
//! variable in alphabetical order. Draws whose contribution is exactly zero are not
//! synthesised, but their keys are still consumed, so the stream matches the reference.
//!
//! Arithmetic follows what XLA generates on CPU for the reference's f32 expressions:
//! `a·x + b·y` is `fma(a, x, b·y)`, `x + w·e` is `fma(w, e, x)`, and the churn variance
//! `ŝ² − s²` is `fma(ŝ, ŝ, −s·s)` (see [`ChurnArithmetic`]), clamped at 0 before the sqrt.

use rayon::prelude::*;

use crate::kernels::isa::{active, multiversion};

use crate::models::gencast::sampler::prng::{self, Key, KeyChain, PrngMode};
use crate::models::gencast::sampler::schedule::Schedule;
use crate::models::gencast::sampler::spherical::{NoiseField, SphericalGrid};
use crate::{Error, Result};

/// A preconditioned denoiser `D(x; σ)` on the sampler state `[Ng, C]`.
pub trait Denoise {
    /// Writes `D(x; sigma)` into `out` (same layout and length as `x`).
    fn denoise(&mut self, x: &[f32], sigma: f32, out: &mut [f32]) -> Result<()>;
}

/// How the churn variance increment `ŝ² − s²` is rounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChurnArithmetic {
    /// `fma(ŝ, ŝ, −round(s·s))`, as XLA on CPU evaluates the reference: where γ = 0 this is minus
    /// the rounding error of `s·s`, i.e. tiny positive or negative (negative clamps to 0).
    #[default]
    FusedXlaCpu,
    /// `round(ŝ·ŝ) − round(s·s)`: exactly 0 where γ = 0.
    Separate,
}

/// The two noise draws of an iteration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrawKind {
    /// The initial noise (scaled by σ_0 and added at iteration 0 only).
    Initial,
    /// The stochastic-churn noise.
    Churn,
}

/// A target variable's place in the sampler state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateVariable {
    /// Variable name (its byte-wise order fixes the random stream).
    pub name: String,
    /// State channel of its first field.
    pub first_channel: usize,
    /// Number of fields (pressure levels, or 1 for surface variables).
    pub fields: usize,
}

/// Channel layout of the sampler state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateLayout {
    n_grid: usize,
    channels: usize,
    /// Variables in the order they draw keys: byte-wise sorted names.
    variables: Vec<StateVariable>,
}

impl StateLayout {
    /// A layout for `n_grid` grid nodes whose channels hold `variables` (name, number of fields)
    /// consecutively in the given order.
    pub fn new(n_grid: usize, variables: &[(&str, usize)]) -> Result<StateLayout> {
        let mut vars = Vec::with_capacity(variables.len());
        let mut channel = 0;
        for &(name, fields) in variables {
            if fields == 0 {
                return Err(Error::Invalid(format!(
                    "sampler state: variable `{name}` has no fields"
                )));
            }
            vars.push(StateVariable {
                name: name.to_string(),
                first_channel: channel,
                fields,
            });
            channel += fields;
        }
        vars.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        if let Some(w) = vars.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(Error::Invalid(format!(
                "sampler state: variable `{}` listed twice",
                w[0].name
            )));
        }
        Ok(StateLayout {
            n_grid,
            channels: channel,
            variables: vars,
        })
    }

    /// Number of grid nodes Ng.
    pub fn n_grid(&self) -> usize {
        self.n_grid
    }

    /// Number of channels C.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Variables in random-stream (byte-wise sorted) order.
    pub fn variables(&self) -> &[StateVariable] {
        &self.variables
    }
}

/// Key of ensemble member `member` for seed `seed`: `fold_in(PRNGKey(seed), member)`.
pub fn member_key(seed: i64, member: u32) -> Key {
    prng::fold_in(prng::prng_key(seed), member)
}

/// Keys of the first `n_steps` forecast steps of a member: `(r_{t+1}, k_t) = split(r_t)` with
/// `r_0` = the member key; step `t` uses `k_t`.
pub fn step_keys(mode: PrngMode, member_key: Key, n_steps: usize) -> Vec<Key> {
    let mut r = member_key;
    (0..n_steps)
        .map(|_| {
            let (carry, step) = prng::split2(mode, r);
            r = carry;
            step
        })
        .collect()
}

/// DPM-Solver++ 2S with stochastic churn over a fixed schedule, grid and state layout.
#[derive(Debug)]
pub struct Sampler {
    schedule: Schedule,
    grid: SphericalGrid,
    layout: StateLayout,
    mode: PrngMode,
    churn: ChurnArithmetic,
}

impl Sampler {
    /// Builds a sampler; the grid's `n_lat · n_lon` must equal the layout's Ng.
    pub fn new(
        schedule: Schedule,
        grid: SphericalGrid,
        layout: StateLayout,
        mode: PrngMode,
    ) -> Result<Sampler> {
        let ng = grid.n_lat() * grid.n_lon();
        if ng != layout.n_grid() {
            return Err(Error::Shape {
                what: "sampler state grid".into(),
                expected: vec![grid.n_lat(), grid.n_lon()],
                found: vec![layout.n_grid()],
            });
        }
        Ok(Sampler {
            schedule,
            grid,
            layout,
            mode,
            churn: ChurnArithmetic::default(),
        })
    }

    /// Chooses how the churn variance increment is rounded (default [`ChurnArithmetic::FusedXlaCpu`]).
    pub fn with_churn_arithmetic(mut self, churn: ChurnArithmetic) -> Sampler {
        self.churn = churn;
        self
    }

    /// The schedule in use.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The noise grid in use.
    pub fn grid(&self) -> &SphericalGrid {
        &self.grid
    }

    /// The state layout in use.
    pub fn layout(&self) -> &StateLayout {
        &self.layout
    }

    /// Number of keys one iteration takes from the chain.
    fn keys_per_iteration(&self) -> usize {
        let v = self.layout.variables.len();
        if self.schedule.stochastic_churn {
            2 * v
        } else {
            v
        }
    }

    /// Keys (one per variable, sorted order) of a draw of iteration `iteration` of the step with
    /// key `step_key`. Fails for churn draws when churn is off.
    pub fn draw_keys(&self, step_key: Key, iteration: usize, kind: DrawKind) -> Result<Vec<Key>> {
        if kind == DrawKind::Churn && !self.schedule.stochastic_churn {
            return Err(Error::Invalid(
                "no churn draws: stochastic_churn_rate is 0".into(),
            ));
        }
        if iteration >= self.schedule.num_steps() {
            return Err(Error::Invalid(format!(
                "sampler iteration {iteration} out of range 0..{}",
                self.schedule.num_steps()
            )));
        }
        let v = self.layout.variables.len();
        let skip =
            iteration * self.keys_per_iteration() + if kind == DrawKind::Churn { v } else { 0 };
        let mut chain = KeyChain::new(self.mode, step_key);
        for _ in 0..skip {
            chain.next();
        }
        Ok((0..v).map(|_| chain.next()).collect())
    }

    /// The noise fields of one draw for all channels, `[C][Ng]` (unit variance, unscaled).
    pub fn draw_noise(&self, keys: &[Key], out: &mut [f32]) -> Result<()> {
        let fields = self.draw_fields(keys)?;
        self.grid.sample_into(self.mode, &fields, out)
    }

    /// The noise fields of a draw in state-channel order.
    fn draw_fields(&self, keys: &[Key]) -> Result<Vec<NoiseField>> {
        if keys.len() != self.layout.variables.len() {
            return Err(Error::Invalid(format!(
                "noise draw needs {} keys, got {}",
                self.layout.variables.len(),
                keys.len()
            )));
        }
        let mut fields = vec![None; self.layout.channels];
        for (var, &key) in self.layout.variables.iter().zip(keys) {
            for (i, f) in self
                .grid
                .variable_fields(key, var.fields)
                .into_iter()
                .enumerate()
            {
                fields[var.first_channel + i] = Some(f);
            }
        }
        fields
            .into_iter()
            .enumerate()
            .map(|(c, f)| {
                f.ok_or_else(|| {
                    Error::Invalid(format!("sampler state channel {c} has no variable"))
                })
            })
            .collect()
    }

    /// The churn noise standard deviation `sqrt(max(ŝ² − s², 0)) · S_noise` and the raised
    /// level `ŝ = s·(1 + γ)` of iteration `i`.
    pub fn churn(&self, i: usize) -> (f32, f32) {
        let s = self.schedule.noise_levels[i];
        let s_hat = s * (1.0 + self.schedule.churn_rates[i]);
        let v = churn_variance(self.churn, s_hat, s);
        (
            v.max(0.0).sqrt() * self.schedule.noise_level_inflation_factor,
            s_hat,
        )
    }

    /// Draws one sample for the step with key `step_key` (the member's key for this step):
    /// returns the final state `[Ng, C]` in normalised target space.
    pub fn sample(&self, denoiser: &mut dyn Denoise, step_key: Key) -> Result<Vec<f32>> {
        let n = self.layout.n_grid * self.layout.channels;
        let c = self.layout.channels;
        let ng = self.layout.n_grid;
        let mut x = vec![0f32; n];
        let mut x0 = vec![0f32; n];
        let mut xm = vec![0f32; n];
        let mut noise = vec![0f32; n];
        let mut chain = KeyChain::new(self.mode, step_key);
        let v = self.layout.variables.len();
        let sigma = &self.schedule.noise_levels;
        for i in 0..self.schedule.num_steps() {
            // (a) initial noise: drawn every iteration, contributes only at i = 0.
            let keys: Vec<Key> = (0..v).map(|_| chain.next()).collect();
            if i == 0 {
                self.draw_noise(&keys, &mut noise)?;
                let s0 = sigma[0];
                add_transposed(&mut x, &noise, c, ng, NoiseUpdate::AddScaled(s0));
            }
            // (b) churn: executed every iteration when S_churn > 0.
            let mut s = sigma[i];
            if self.schedule.stochastic_churn {
                let keys: Vec<Key> = (0..v).map(|_| chain.next()).collect();
                let (e, s_hat) = self.churn(i);
                if e != 0.0 {
                    self.draw_noise(&keys, &mut noise)?;
                    add_transposed(&mut x, &noise, c, ng, NoiseUpdate::Fused(e));
                }
                s = s_hat;
            }
            // (c) DPM-Solver++ 2S step from s to the next level.
            let next = sigma[i + 1];
            denoiser.denoise(&x, s, &mut x0)?;
            check_finite(&x0, c, i, "first denoiser output")?;
            if next == 0.0 {
                std::mem::swap(&mut x, &mut x0);
                continue;
            }
            let mid = (s * next).sqrt();
            let r = mid / s;
            convex(&mut xm, r, &x, &x0);
            denoiser.denoise(&xm, mid, &mut x0)?;
            check_finite(&x0, c, i, "second denoiser output")?;
            let q = next / s;
            convex(&mut xm, q, &x, &x0);
            std::mem::swap(&mut x, &mut xm);
        }
        check_finite(&x, c, self.schedule.num_steps(), "sample")?;
        Ok(x)
    }
}

/// `ŝ² − s²` rounded as chosen.
pub fn churn_variance(arith: ChurnArithmetic, s_hat: f32, s: f32) -> f32 {
    match arith {
        ChurnArithmetic::FusedXlaCpu => s_hat.mul_add(s_hat, -(s * s)),
        ChurnArithmetic::Separate => s_hat * s_hat - s * s,
    }
}

/// Grid nodes per parallel work item in element-wise state updates.
const NODE_CHUNK: usize = 256;

/// How a noise field enters the state.
#[derive(Clone, Copy)]
enum NoiseUpdate {
    /// `x + round(s·w)` (the σ_0-scaled initial noise).
    AddScaled(f32),
    /// `fma(w, e, x)` (the churn noise, as XLA on CPU fuses it).
    Fused(f32),
}

/// Adds channel-major noise `w` (`[C][Ng]`) to the node-major state `x` (`[Ng, C]`).
fn add_transposed(x: &mut [f32], w: &[f32], c: usize, ng: usize, update: NoiseUpdate) {
    let isa = active();
    x.par_chunks_mut(NODE_CHUNK * c)
        .enumerate()
        .for_each(|(b, chunk)| {
            add_transposed_chunk_with(isa, chunk, w, c, ng, b * NODE_CHUNK, update)
        });
}

multiversion! {
    /// [`add_transposed_chunk`] compiled for `isa` (hardware FMA on every x86 path that has it).
    fn add_transposed_chunk_with(
        chunk: &mut [f32],
        w: &[f32],
        c: usize,
        ng: usize,
        g0: usize,
        update: NoiseUpdate,
    ) = add_transposed_chunk;
}

/// One block of grid nodes of [`add_transposed`].
#[inline(always)]
fn add_transposed_chunk(
    chunk: &mut [f32],
    w: &[f32],
    c: usize,
    ng: usize,
    g0: usize,
    update: NoiseUpdate,
) {
    for (gi, row) in chunk.chunks_exact_mut(c).enumerate() {
        let g = g0 + gi;
        for (ch, xv) in row.iter_mut().enumerate() {
            let wv = w[ch * ng + g];
            *xv = match update {
                NoiseUpdate::AddScaled(s) => *xv + s * wv,
                NoiseUpdate::Fused(e) => wv.mul_add(e, *xv),
            };
        }
    }
}

/// Elements per parallel work item of [`convex`].
const CONVEX_CHUNK: usize = 1 << 14;

/// `out = a·x + (1 − a)·y`, evaluated as `fma(a, x, (1 − a)·y)` like XLA on CPU.
fn convex(out: &mut [f32], a: f32, x: &[f32], y: &[f32]) {
    let isa = active();
    out.par_chunks_mut(CONVEX_CHUNK)
        .zip(x.par_chunks(CONVEX_CHUNK).zip(y.par_chunks(CONVEX_CHUNK)))
        .for_each(|(o, (xs, ys))| convex_chunk_with(isa, o, a, xs, ys));
}

multiversion! {
    /// [`convex_chunk`] compiled for `isa`.
    fn convex_chunk_with(out: &mut [f32], a: f32, x: &[f32], y: &[f32]) = convex_chunk;
}

/// One block of [`convex`].
#[inline(always)]
fn convex_chunk(out: &mut [f32], a: f32, x: &[f32], y: &[f32]) {
    let b = 1.0 - a;
    for ((o, &xv), &yv) in out.iter_mut().zip(x).zip(y) {
        *o = a.mul_add(xv, b * yv);
    }
}

/// Fails with [`Error::NonFinite`] naming the first non-finite value.
fn check_finite(x: &[f32], c: usize, iteration: usize, what: &str) -> Result<()> {
    match x.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(p) => Err(Error::NonFinite {
            stage: format!("sampler iteration {iteration}"),
            detail: format!(
                "{what}: value {} at grid node {}, channel {}",
                x[p],
                p / c.max(1),
                p % c.max(1)
            ),
        }),
    }
}
