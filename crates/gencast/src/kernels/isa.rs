//! The one place that chooses the instruction set the kernels run with.
//!
//! The set is detected once, at first use: AVX-512F, AVX2 + FMA, NEON (every aarch64 CPU), or
//! the portable path. `GENCAST_ISA=avx512|avx2|neon|portable` (or [`init`], which the CLI calls
//! for `--isa`) picks another path for testing and benchmarking; asking for a set the CPU lacks,
//! or an unknown name, is an error. Every path computes the same fused multiply-add chains and
//! the same fixed reduction trees, so a forecast is bitwise identical whichever path runs.

use crate::{Error, Result};
use std::sync::atomic::{AtomicU8, Ordering};

/// The environment variable that overrides the detected instruction set.
pub const ENV_VAR: &str = "GENCAST_ISA";

/// A kernel path. A value of this type is only made for a path the CPU supports, which is what
/// makes the `unsafe` calls of the dispatching kernels sound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Isa(Kind);

/// The kernel paths, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// x86-64 with AVX-512F (and AVX2 + FMA).
    Avx512,
    /// x86-64 with AVX2 and FMA.
    Avx2,
    /// aarch64 with NEON.
    Neon,
    /// Plain Rust, auto-vectorised; on x86-64 compiled with FMA where the CPU has it, so a fused
    /// multiply-add is never a software call.
    Portable,
}

impl Kind {
    /// Every path, best first.
    pub const ALL: [Kind; 4] = [Kind::Avx512, Kind::Avx2, Kind::Neon, Kind::Portable];

    /// The name used by `GENCAST_ISA` and `--isa`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Avx512 => "avx512",
            Kind::Avx2 => "avx2",
            Kind::Neon => "neon",
            Kind::Portable => "portable",
        }
    }

    /// Parses a name of [`Kind::name`].
    pub fn parse(s: &str) -> Result<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| Error::Config {
                key: ENV_VAR.to_string(),
                detail: format!(
                    "unknown instruction set `{s}` (expected avx512, avx2, neon or portable)"
                ),
            })
    }

    /// Whether this CPU can run the path.
    pub fn supported(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kind::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Kind::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "aarch64")]
            Kind::Neon => true,
            Kind::Portable => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name())
    }
}

impl Isa {
    /// The path `kind`, if this CPU supports it; otherwise an error naming what is missing.
    pub fn new(kind: Kind) -> Result<Isa> {
        if kind.supported() {
            Ok(Isa(kind))
        } else {
            Err(Error::Config {
                key: ENV_VAR.to_string(),
                detail: format!(
                    "this CPU cannot run the `{}` kernels (supported here: {})",
                    kind.name(),
                    Isa::supported()
                        .iter()
                        .map(|i| i.0.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
        }
    }

    /// The best path this CPU supports.
    pub fn detect() -> Isa {
        Isa(Kind::ALL
            .into_iter()
            .find(|k| k.supported())
            .unwrap_or(Kind::Portable))
    }

    /// Every path this CPU supports, best first (the portable path is always last).
    pub fn supported() -> Vec<Isa> {
        Kind::ALL
            .into_iter()
            .filter(|k| k.supported())
            .map(Isa)
            .collect()
    }

    /// The path's kind.
    pub fn kind(self) -> Kind {
        self.0
    }

    /// The path's name (`avx512`, `avx2`, `neon`, `portable`).
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The portable path.
    pub fn portable() -> Isa {
        Isa(Kind::Portable)
    }

    /// Whether the portable path may use hardware FMA (x86-64 CPUs with FMA; aarch64 always).
    #[inline]
    pub fn has_fma() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            true
        }
    }
}

/// The path in use: 0 until fixed, else `1 + index in Kind::ALL`.
static ACTIVE: AtomicU8 = AtomicU8::new(0);

fn encode(isa: Isa) -> u8 {
    1 + Kind::ALL.iter().position(|&k| k == isa.0).unwrap_or(3) as u8
}

fn decode(v: u8) -> Option<Isa> {
    // Only values made by `encode` from a supported `Isa` are ever stored.
    Kind::ALL
        .get(usize::from(v).checked_sub(1)?)
        .map(|&k| Isa(k))
}

/// The path named by `GENCAST_ISA`, or the detected one when it is unset or empty.
fn from_env() -> Result<Isa> {
    match std::env::var(ENV_VAR) {
        Ok(s) if !s.trim().is_empty() => Isa::new(Kind::parse(&s)?),
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(Isa::detect()),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::Config {
            key: ENV_VAR.to_string(),
            detail: "not valid UTF-8".to_string(),
        }),
    }
}

/// Fixes the process's path: `requested` if given, else `GENCAST_ISA`, else the detected one.
/// Fails if the path is unknown or unsupported, or if a different path is already in use.
pub fn init(requested: Option<Kind>) -> Result<Isa> {
    let want = match requested {
        Some(k) => Isa::new(k)?,
        None => from_env()?,
    };
    match ACTIVE.compare_exchange(0, encode(want), Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => Ok(want),
        Err(v) => match decode(v) {
            Some(got) if got == want => Ok(got),
            Some(got) => Err(Error::Config {
                key: ENV_VAR.to_string(),
                detail: format!(
                    "the `{}` kernels are already in use; `{}` must be chosen before the first \
                     computation",
                    got.name(),
                    want.name()
                ),
            }),
            None => Ok(want),
        },
    }
}

/// Checks that `GENCAST_ISA` (if set) names a path this CPU supports, and fixes the path.
/// Model loading calls this, so a bad setting stops a run before any computation.
pub fn ensure() -> Result<Isa> {
    match decode(ACTIVE.load(Ordering::Relaxed)) {
        Some(isa) => Ok(isa),
        None => init(None),
    }
}

/// The path in use. The first call fixes it (from `GENCAST_ISA`, or detected); a bad
/// `GENCAST_ISA` is reported by [`ensure`], which model loading runs before any kernel.
#[inline]
pub fn active() -> Isa {
    if let Some(isa) = decode(ACTIVE.load(Ordering::Relaxed)) {
        return isa;
    }
    let isa = from_env().unwrap_or_else(|_| Isa::detect());
    match ACTIVE.compare_exchange(0, encode(isa), Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => isa,
        Err(v) => decode(v).unwrap_or(isa),
    }
}

/// Switches the path for the computations that start after this call. Benchmarks use it to
/// alternate paths within one run; since every path gives the same bits, a switch never
/// changes a result.
pub fn switch(isa: Isa) {
    ACTIVE.store(encode(isa), Ordering::Relaxed);
}

/// Defines `fn $name(isa: Isa, args…)` that runs the `#[inline(always)]` function `$body`
/// compiled for `isa`: AVX-512F, AVX2 + FMA, or (portable) FMA where the CPU has it. The body is
/// written once; the variants differ only in the instructions the compiler may use, so with no
/// `mul_add` contraction left to the compiler (Rust never contracts) they return the same bits.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? = $body:path;) => {
        $(#[$m])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name(isa: $crate::kernels::isa::Isa, $($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn v_avx512($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn v_avx2($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                #[target_feature(enable = "fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn v_fma($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                use $crate::kernels::isa::{Isa, Kind};
                match isa.kind() {
                    // SAFETY: an `Isa` of this kind exists only where the CPU supports it.
                    Kind::Avx512 => return unsafe { v_avx512($($arg),*) },
                    // SAFETY: as above.
                    Kind::Avx2 => return unsafe { v_avx2($($arg),*) },
                    // SAFETY: FMA support is checked just before.
                    _ if Isa::has_fma() => return unsafe { v_fma($($arg),*) },
                    _ => {}
                }
            }
            let _ = isa;
            $body($($arg),*)
        }
    };
}
pub(crate) use multiversion;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_fail() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.name()).unwrap(), k);
        }
        assert_eq!(Kind::parse(" AVX2 ").unwrap(), Kind::Avx2);
        let e = Kind::parse("sse9").unwrap_err().to_string();
        assert!(e.contains("sse9") && e.contains("GENCAST_ISA"), "{e}");
    }

    #[test]
    fn supported_paths_are_constructible_and_others_refused() {
        let all = Isa::supported();
        assert_eq!(all.last().map(|i| i.kind()), Some(Kind::Portable));
        assert_eq!(all[0], Isa::detect());
        for k in Kind::ALL {
            match Isa::new(k) {
                Ok(i) => assert!(all.contains(&i)),
                Err(e) => {
                    assert!(!k.supported());
                    assert!(e.to_string().contains(k.name()));
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        assert!(Isa::new(Kind::Neon).is_err());
    }
}
