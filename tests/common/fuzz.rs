//! The seeded mutation fuzzer of tests/fuzz_parsers.rs and tests/fuzz_decoders.rs: mutations of
//! seeds from tests/fuzz/corpus for `STEWARD_FUZZ_SECONDS` seconds (default 3) per target; a panic,
//! or one input taking more than 10 s, fails and saves the input under target/fuzz-crashes/. The
//! generator's seed is `STEWARD_FUZZ_SEED` (default fixed, so CI runs repeat).

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use super::Rng;

/// A number in 0..n.
fn below(rng: &mut Rng, n: usize) -> usize {
    rng.below(n as u64) as usize
}

const SPECIAL: &[u8] = b"\"\",,\n\r\n{}[]:\\\0\xff\xfe\t #=|e-.+0123456789NaNInf";

/// One to four mutations of `seed` (with `other` for splices).
pub fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + below(rng, 4) {
        let n = b.len();
        match below(rng, 8) {
            0 if n > 0 => {
                let i = below(rng, n);
                b[i] ^= 1 << below(rng, 8);
            }
            1 => {
                let i = below(rng, n + 1);
                b.insert(i, SPECIAL[below(rng, SPECIAL.len())]);
            }
            2 if n > 0 => {
                let i = below(rng, n);
                let j = (i + 1 + below(rng, 16)).min(n);
                b.drain(i..j);
            }
            3 if n > 0 => {
                let i = below(rng, n);
                let j = (i + 1 + below(rng, 64)).min(n);
                let part = b[i..j].to_vec();
                let at = below(rng, n + 1);
                b.splice(at..at, part);
            }
            4 if !other.is_empty() => {
                let i = below(rng, other.len());
                let j = (i + 1 + below(rng, 64)).min(other.len());
                let at = below(rng, n + 1);
                b.splice(at..at, other[i..j].iter().copied());
            }
            5 if n > 0 => b.truncate(below(rng, n)),
            6 if n > 0 => {
                let i = below(rng, n);
                b[i] = SPECIAL[below(rng, SPECIAL.len())];
            }
            _ => {
                let at = below(rng, n + 1);
                let repeat = vec![b'"'; 1 + below(rng, 3)];
                b.splice(at..at, repeat);
            }
        }
    }
    b
}

pub fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(super::repo().join("tests/fuzz/corpus").join(name)).unwrap()
}

pub fn budget() -> Duration {
    Duration::from_secs_f64(std::env::var("STEWARD_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0))
}

pub fn seed() -> u64 {
    std::env::var("STEWARD_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_cafe_f00d_0001)
}

/// Runs `target` on mutations of `seeds` for the budget; returns how many inputs ran.
pub fn fuzz(name: &str, seeds: &[Vec<u8>], mut target: impl FnMut(&[u8])) -> u64 {
    let mut rng = Rng(seed() ^ name.bytes().fold(0u64, |h, c| h.rotate_left(5) ^ c as u64));
    let end = Instant::now() + budget();
    let mut runs = 0u64;
    // The seeds themselves first, then mutations.
    let mut inputs: Vec<Vec<u8>> = seeds.to_vec();
    while Instant::now() < end || !inputs.is_empty() {
        let input = match inputs.pop() {
            Some(i) => i,
            None => {
                let s = &seeds[below(&mut rng, seeds.len())];
                let o = &seeds[below(&mut rng, seeds.len())];
                mutate(&mut rng, s, o)
            }
        };
        let t = Instant::now();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| target(&input)));
        let took = t.elapsed();
        if outcome.is_err() || took > Duration::from_secs(10) {
            let dir = super::repo().join("target/fuzz-crashes");
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join(format!("{name}-{runs}"));
            std::fs::write(&file, &input).unwrap();
            panic!("{name}: {} on input {runs}, saved as {}", if outcome.is_err() { "a panic" } else { "more than 10 s" }, file.display());
        }
        runs += 1;
    }
    eprintln!("fuzz {name}: {runs} inputs in {:.1} s", budget().as_secs_f64());
    runs
}

