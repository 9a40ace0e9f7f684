//! The fuzz harness: a seeded generator, byte corruptions, a runner that fails on a panic or a
//! hang, and the isolation of each reader's cases in a child process under an address-space
//! limit, so that an abort (an impossible allocation) fails the test instead of the machine.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::Duration;

use gencast::data::bounds::MAX_READ_BYTES_ENV;

/// Corrupted copies tried per reader (fixed seeds: the test is reproducible).
pub(super) const CASES: usize = 300;

/// A case taking longer than this counts as a hang (a healthy one takes milliseconds).
const HANG: Duration = Duration::from_secs(20);

/// The environment variable that marks a child run; it holds the name of the test to run.
const CHILD: &str = "GENCAST_READER_FUZZ_CHILD";

/// Address-space limit of a child, in bytes (as `ulimit -v 4000000`): every case must stay
/// within it, or the child aborts and the test fails.
const ADDRESS_SPACE: u64 = 4_000_000 * 1024;

/// The read limit the library is given in a child (bytes): well under the address-space limit,
/// so that any read the library lets through fits, and one that escapes the check does not.
const CHILD_READ_LIMIT: &str = "268435456";

/// xorshift64* generator.
pub(super) struct Rng(pub u64);

impl Rng {
    /// The generator of case `i` of the reader seeded `seed`.
    pub(super) fn for_case(seed: u64, i: usize) -> Rng {
        Rng(seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The next 64 random bits.
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// One of `items`.
    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A corrupted copy of `bytes`: a truncation, a few flipped bits (mostly in the first 64 KiB,
/// where headers and metadata live), a run of garbage, or an extreme 32-bit number (0, 2³¹,
/// 2³²−1) written over a header word, where sizes and offsets live.
pub(super) fn corrupt(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = bytes.to_vec();
    if b.is_empty() {
        return b;
    }
    match rng.below(5) {
        0 => b.truncate(rng.below(b.len())),
        1 | 2 => {
            let span = if rng.below(4) == 0 {
                b.len()
            } else {
                b.len().min(1 << 16)
            };
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(span);
                b[at] ^= 1 << rng.below(8);
            }
        }
        3 => {
            let at = rng.below(b.len());
            let end = (at + 1 + rng.below(64)).min(b.len());
            for x in &mut b[at..end] {
                *x = rng.next() as u8;
            }
        }
        _ => {
            let word: u32 = *rng.pick(&[0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF]);
            let at = rng.below(b.len().min(4096));
            for (x, w) in b[at..].iter_mut().zip(word.to_be_bytes()) {
                *x = w;
            }
        }
    }
    b
}

/// Runs `case(i)` for every case on a worker thread, failing with every panicking case (or the
/// first hanging one) named.
pub(super) fn run_cases(what: &str, case: impl Fn(usize) + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        for i in 0..CASES {
            // Names the case an abort cut short (the parent shows the child's output).
            eprintln!("{i}");
            let ok = catch_unwind(AssertUnwindSafe(|| case(i))).is_ok();
            if tx.send((i, ok)).is_err() {
                return;
            }
        }
    });
    let mut panicked = Vec::new();
    for expected in 0..CASES {
        match rx.recv_timeout(HANG) {
            Ok((i, ok)) => {
                if !ok {
                    panicked.push(i);
                }
            }
            Err(_) => panic!("{what}: case {expected} hung (or the worker died)"),
        }
    }
    worker.join().unwrap();
    assert!(
        panicked.is_empty(),
        "{what}: cases {panicked:?} of {CASES} panicked"
    );
    println!("{what}: {CASES} cases done");
}

/// Runs `body` (which calls [`run_cases`] for `what`) in a child process: this test binary run
/// again for the test `test` alone, under an address-space limit and with the library's read
/// limit lowered to fit it. The test fails unless the child exits normally with every case done.
/// Inside the child, `body` runs directly.
pub(super) fn isolated(test: &str, what: &str, body: impl FnOnce()) {
    // `module_path!` starts with the test binary's name; libtest names tests without it.
    let test = test.split_once("::").map_or(test, |(_, rest)| rest);
    if std::env::var(CHILD).as_deref() == Ok(test) {
        body();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let mut cmd = std::process::Command::new(exe);
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, test)
        .env(MAX_READ_BYTES_ENV, CHILD_READ_LIMIT)
        .env("RUST_BACKTRACE", "1");
    limit_address_space(&mut cmd);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let done = format!("{what}: {CASES} cases done");
    if !(out.status.success() && stdout.contains(&done)) {
        let tail = |s: &str| s[s.len().saturating_sub(6000)..].to_string();
        panic!(
            "{what}: the child run of `{test}` ended with {} (an abort is an allocation the \
             readers let through)\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            tail(&stdout),
            tail(&stderr)
        );
    }
}

#[cfg(unix)]
fn limit_address_space(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: `setrlimit` is async-signal-safe and touches only the child's own limits.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: ADDRESS_SPACE as libc::rlim_t,
                rlim_max: ADDRESS_SPACE as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn limit_address_space(_cmd: &mut std::process::Command) {}
