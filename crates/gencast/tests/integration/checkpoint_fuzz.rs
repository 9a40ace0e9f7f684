//! Deterministic random mutations of valid archives: the reader must return errors, never
//! panic, on truncations, byte flips, garbage and mangled NPY members.

use std::panic::{catch_unwind, AssertUnwindSafe};

use gencast::checkpoint::{GenCastCheckpoint, NpzArchive, NpzWriter};

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// xorshift64* generator (fixed seed: the test is reproducible).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// A small checkpoint: every config member of the fixture plus three parameters.
fn small_checkpoint(force_zip64: bool) -> Vec<u8> {
    let src = NpzArchive::open(format!("{FIX}/tiny-mha/checkpoint.npz")).unwrap();
    let mut w = NpzWriter::in_memory().force_zip64(force_zip64);
    let mut params = 0;
    for n in src.names() {
        if n.starts_with("params:") {
            if params >= 3 {
                continue;
            }
            params += 1;
        }
        w.add_array(n, &src.array(n).unwrap()).unwrap();
    }
    w.finish().unwrap()
}

/// What a case reached: (archive opened, some array failed to decode, checkpoint loaded).
type Reached = (bool, bool, bool);

/// Reads everything an archive offers, ignoring errors.
fn exercise(bytes: Vec<u8>) -> Reached {
    let Ok(a) = NpzArchive::from_bytes("fuzz.npz", bytes) else {
        return (false, false, false);
    };
    let names: Vec<String> = a.names().map(str::to_string).collect();
    let mut array_failed = false;
    for n in &names {
        let _ = a.header(n);
        let arr = a.array(n);
        array_failed |= arr.is_err();
        if let Ok(arr) = arr {
            let _ = arr.to_f64_vec();
            let _ = arr.to_i64_vec();
            let _ = arr.as_strings();
        }
    }
    let ckpt = GenCastCheckpoint::from_archive(&a);
    if let Ok(c) = &ckpt {
        let _ = c.validate();
        for (_, _, p) in c.params.iter() {
            let _ = p.data().iter().copied().fold(0.0f32, |s, x| s + x);
        }
    }
    (true, array_failed, ckpt.is_ok())
}

/// Mutates `seed` in one of several ways.
fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    match rng.below(7) {
        0 => b.truncate(rng.below(seed.len() + 1)),
        1 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
        }
        2 => {
            let start = rng.below(b.len());
            let len = rng.below(64).min(b.len() - start);
            for x in &mut b[start..start + len] {
                *x = rng.next() as u8;
            }
        }
        3 => {
            // A random 16-, 32- or 64-bit field set to an extreme value (sizes, offsets, counts).
            let i = rng.below(b.len().saturating_sub(8));
            let v: u64 = [0, u64::MAX, 0xFFFF_FFFF, 0xFFFF, 1 << 40][rng.below(5)];
            let w = [2, 4, 8][rng.below(3)];
            b[i..i + w].copy_from_slice(&v.to_le_bytes()[..w]);
        }
        4 => {
            let len = rng.below(512);
            b = (0..len).map(|_| rng.next() as u8).collect();
        }
        5 => {
            // Delete or duplicate a span.
            let start = rng.below(b.len());
            let len = rng.below(200).min(b.len() - start);
            if rng.below(2) == 0 {
                b.drain(start..start + len);
            } else {
                let span = b[start..start + len].to_vec();
                b.splice(start..start, span);
            }
        }
        _ => {
            // Keep only the tail (the end records) with garbage in front.
            let keep = rng.below(b.len());
            let tail = b[b.len() - keep..].to_vec();
            b = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
            b.extend_from_slice(&tail);
        }
    }
    b
}

/// Rebuilds an archive of `src`'s members with one member's NPY bytes mangled (the ZIP layer
/// stays valid, so the NPY parser and decoders see the damage).
fn mangle_member(rng: &mut Rng, raw: &[(String, Vec<u8>)]) -> Vec<u8> {
    let victim = rng.below(raw.len());
    let mut w = NpzWriter::in_memory();
    for (i, (name, content)) in raw.iter().enumerate() {
        let mut c = content.clone();
        if i == victim && !c.is_empty() {
            // Mostly hit the header (first 128 bytes), sometimes anywhere.
            let span = if rng.below(4) == 0 {
                c.len()
            } else {
                c.len().min(128)
            };
            match rng.below(3) {
                0 => c.truncate(rng.below(c.len())),
                1 => {
                    for _ in 0..1 + rng.below(4) {
                        let j = rng.below(span);
                        c[j] = b"{}()[],:'\"TrueFalse0123456789<>|fUib -"[rng.below(38)];
                    }
                }
                _ => {
                    let j = rng.below(span);
                    c[j] ^= 1 << rng.below(8);
                }
            }
        }
        let _ = w.add_raw(name, &c);
    }
    w.finish().unwrap()
}

#[test]
fn random_mutations_never_panic() {
    let t0 = std::time::Instant::now();
    let seeds = [
        small_checkpoint(false),
        small_checkpoint(true),
        std::fs::read(format!("{FIX}/mesh2grid-ties/mesh2_res10deg.npz")).unwrap(),
        std::fs::read(format!("{FIX}/tiny-mha/sampler_schedule.npz")).unwrap(),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut cases = 0;
    let mut reached = [0usize; 3];
    let mut tally = |r: Reached| {
        reached[0] += usize::from(r.0);
        reached[1] += usize::from(r.1);
        reached[2] += usize::from(r.2);
    };
    for seed in &seeds {
        for _ in 0..800 {
            let b = mutate(&mut rng, seed);
            let r = catch_unwind(AssertUnwindSafe(|| exercise(b.clone())));
            assert!(
                r.is_ok(),
                "panic on mutated archive (case {cases}, {} bytes)",
                b.len()
            );
            tally(r.unwrap_or_default());
            cases += 1;
        }
    }

    // NPY-level damage inside an otherwise valid container.
    for seed in [&seeds[0], &seeds[2]] {
        let raw: Vec<(String, Vec<u8>)> = raw_members(seed);
        for _ in 0..600 {
            let b = mangle_member(&mut rng, &raw);
            let r = catch_unwind(AssertUnwindSafe(|| exercise(b.clone())));
            assert!(r.is_ok(), "panic on mangled member (case {cases})");
            tally(r.unwrap_or_default());
            cases += 1;
        }
    }
    assert_eq!(cases, 4 * 800 + 2 * 600);
    // The mutations must reach every layer: containers that still open, members that fail
    // to decode, and checkpoints that still load.
    eprintln!(
        "opened {}, array errors {}, checkpoints loaded {}",
        reached[0], reached[1], reached[2]
    );
    assert!(
        reached[0] > cases / 4 && reached[1] > cases / 10 && reached[2] > cases / 50,
        "{reached:?}"
    );
    // About 1.5 s on an idle 2-core machine; not asserted, as shared machines vary.
    eprintln!("{cases} cases in {:?}", t0.elapsed());
}

/// The uncompressed NPY bytes of every member, via a stored re-encoding of each array.
fn raw_members(seed: &[u8]) -> Vec<(String, Vec<u8>)> {
    let a = NpzArchive::from_bytes("seed.npz", seed.to_vec()).unwrap();
    a.names()
        .map(|n| {
            let mut w = NpzWriter::in_memory();
            w.add_array(n, &a.array(n).unwrap()).unwrap();
            let bytes = w.finish().unwrap();
            // The single member's content starts after its local header and ends at the
            // central directory; recover it by re-reading through the archive API.
            let one = NpzArchive::from_bytes("one.npz", bytes.clone()).unwrap();
            let h = one.header(n).unwrap();
            let start = bytes.windows(6).position(|w| w == b"\x93NUMPY").unwrap();
            let len = h.data_offset + h.data_len().unwrap();
            (format!("{n}.npy"), bytes[start..start + len].to_vec())
        })
        .collect()
}
