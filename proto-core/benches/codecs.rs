//! The codec crates the core uses against the hand-written codecs they replaced, side by side in
//! one run.
//!
//! `cargo bench -p ejtp-proto --bench codecs` prints, on one core, MB/s of input for:
//! - base64 encode and decode of 4 KiB (one CJP2P block) and 40 KiB (one `Content` datagram's
//!   worth) through `ejtp_proto::cjp2p::base64` (the `base64` crate under our padding rules),
//!   and through the hand-written table codec kept in `codecs/hand_base64.rs`;
//! - XXH64 of 4 KiB and 64 KiB blocks through `ejtp_proto::content::block_checksum` (the
//!   `xxhash-rust` crate) and through the hand-written version in `codecs/hand_xxh64.rs`;
//!
//! each pair as the crate's rate over ours (above 1.00x: the crate is faster). Each figure is the
//! median of the rounds, and the rounds alternate between the two sides so that a busy machine
//! slows them alike; the spread (slowest and fastest round of each side) is printed too.
//! `EJTP_BENCH_QUICK=1` makes a short smoke run.

// The bench times the core from outside: the clock ban that keeps the core pure does not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

#[path = "codecs/hand_base64.rs"]
mod hand_base64;
#[path = "codecs/hand_xxh64.rs"]
mod hand_xxh64;

use std::hint::black_box;
use std::time::{Duration, Instant as Clock};

use ejtp_proto::cjp2p::base64;
use ejtp_proto::content::block_checksum;

/// How long one side runs in one round, and how many rounds: from the environment's quick flag.
fn settings() -> (Duration, usize) {
    if std::env::var_os("EJTP_BENCH_QUICK").is_some() {
        (Duration::from_millis(20), 3)
    } else {
        (Duration::from_millis(300), 7)
    }
}

/// Runs `step` (which handles `len` input bytes) for about `time`; returns input bytes per second.
fn rate(time: Duration, len: usize, step: &mut dyn FnMut()) -> f64 {
    let start = Clock::now();
    let mut count = 0u64;
    while start.elapsed() < time {
        for _ in 0..16 {
            step();
        }
        count += 16;
    }
    (count as f64 * len as f64) / start.elapsed().as_secs_f64()
}

/// The rates of each side's rounds, sorted.
struct Rounds {
    crate_rates: Vec<f64>,
    ours: Vec<f64>,
}

fn median(sorted: &[f64]) -> f64 {
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

/// Alternates rounds of the crate's `theirs` and our `ours` over `len`-byte inputs.
fn compare(len: usize, theirs: &mut dyn FnMut(), ours: &mut dyn FnMut()) -> Rounds {
    let (time, rounds) = settings();
    let mut result = Rounds {
        crate_rates: Vec::new(),
        ours: Vec::new(),
    };
    for _ in 0..rounds {
        result.crate_rates.push(rate(time, len, theirs));
        result.ours.push(rate(time, len, ours));
    }
    result.crate_rates.sort_by(f64::total_cmp);
    result.ours.sort_by(f64::total_cmp);
    result
}

fn report(name: &str, rounds: &Rounds) {
    let mb = |rate: f64| rate / 1e6;
    let spread = |sorted: &[f64]| {
        format!(
            "{:.0}-{:.0}",
            mb(sorted.first().copied().unwrap_or(0.0)),
            mb(sorted.last().copied().unwrap_or(0.0))
        )
    };
    let (theirs, ours) = (median(&rounds.crate_rates), median(&rounds.ours));
    println!(
        "  {name:<26} crate {:8.0} MB/s ({:>11})   ours {:8.0} MB/s ({:>11})   {:.2}x",
        mb(theirs),
        spread(&rounds.crate_rates),
        mb(ours),
        spread(&rounds.ours),
        theirs / ours
    );
}

/// Bytes with no pattern a codec could exploit.
fn input(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

fn base64_pair(len: usize) {
    let bytes = input(len);
    let text = base64::encode(&bytes);
    // Both sides must agree before their speed means anything.
    assert_eq!(hand_base64::decode_bytes(text.as_bytes()).unwrap(), bytes);
    let mut ours_text = Vec::new();
    hand_base64::encode_to_vec(&bytes, &mut ours_text);
    assert_eq!(ours_text, text.as_bytes());

    let mut out = Vec::with_capacity(hand_base64::encoded_len(len));
    let mut ours_out = out.clone();
    let encode = compare(
        len,
        &mut || {
            out.clear();
            base64::encode_to_vec(black_box(&bytes), &mut out);
            black_box(&out);
        },
        &mut || {
            ours_out.clear();
            hand_base64::encode_to_vec(black_box(&bytes), &mut ours_out);
            black_box(&ours_out);
        },
    );
    report(&format!("base64 encode {} KiB", len / 1024), &encode);
    // Decode rates count the decoded bytes, like the encode rates, so the two read alike.
    let decode = compare(
        len,
        &mut || {
            black_box(base64::decode_bytes(black_box(text.as_bytes())).ok());
        },
        &mut || {
            black_box(hand_base64::decode_bytes(black_box(text.as_bytes())).ok());
        },
    );
    report(&format!("base64 decode {} KiB", len / 1024), &decode);
}

fn xxh64_pair(len: usize) {
    let bytes = input(len);
    assert_eq!(block_checksum(&bytes), hand_xxh64::block_checksum(&bytes));
    let rounds = compare(
        len,
        &mut || {
            black_box(block_checksum(black_box(&bytes)));
        },
        &mut || {
            black_box(hand_xxh64::block_checksum(black_box(&bytes)));
        },
    );
    report(&format!("XXH64 {} KiB", len / 1024), &rounds);
}

fn main() {
    let (time, rounds) = settings();
    println!(
        "one core, median of {rounds} alternating rounds of {} ms (slowest-fastest round in brackets), crate / ours:",
        time.as_millis()
    );
    base64_pair(4096);
    base64_pair(40 * 1024);
    xxh64_pair(4096);
    xxh64_pair(64 * 1024);
}
