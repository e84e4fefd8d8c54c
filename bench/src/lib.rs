//! Helpers shared by the benchmarks of `bench/benches/`: the quick-mode switch, latency
//! summaries, a counting global allocator, and what the soak needs (a seeded generator, a
//! hostile datagram mix, real datagrams to replay, readings of `/proc/self`, a trend line).
//!
//! The benchmarks themselves are the `[[bench]]` targets (`cargo bench -p ejtp-bench --bench rtt`,
//! `peer_memory`, `transfer`, `soak`); this crate has no other use.

pub mod alloc_counter;
pub mod hostile;
pub mod process;
pub mod replay_capture;
pub mod splitmix;
pub mod trend;

use std::time::Duration;

/// Whether `EJTP_BENCH_QUICK` is set (to anything but `0`): benches then run a few seconds
/// each, for a smoke run; their figures are not the ones to quote.
#[must_use]
pub fn quick() -> bool {
    std::env::var_os("EJTP_BENCH_QUICK").is_some_and(|value| value != "0")
}

/// Median and 99th percentile of a set of durations, in microseconds.
#[derive(Clone, Copy, Debug)]
pub struct Latency {
    /// The median, µs.
    pub median_us: f64,
    /// The 99th percentile, µs.
    pub p99_us: f64,
    /// How many samples.
    pub samples: usize,
}

impl Latency {
    /// Summarises `samples` (sorted in place). All zero when there are none.
    #[must_use]
    pub fn of(samples: &mut [Duration]) -> Self {
        samples.sort_unstable();
        let at = |fraction: f64| {
            let last = samples.len().saturating_sub(1);
            // Nearest rank: the sample below which `fraction` of them lie.
            let index = ((samples.len() as f64 * fraction).ceil() as usize)
                .saturating_sub(1)
                .min(last);
            samples
                .get(index)
                .map_or(0.0, |sample| sample.as_secs_f64() * 1e6)
        };
        Self {
            median_us: at(0.5),
            p99_us: at(0.99),
            samples: samples.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_the_nearest_rank() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_micros).collect();
        let latency = Latency::of(&mut samples);
        assert_eq!(latency.median_us, 50.0);
        assert_eq!(latency.p99_us, 99.0);
        assert_eq!(latency.samples, 100);
        assert_eq!(Latency::of(&mut []).median_us, 0.0);
    }
}
