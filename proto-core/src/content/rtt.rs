//! A round-trip time estimator and retransmission timeout in the manner of RFC 6298.
//!
//! One estimator per download source. Arithmetic is on whole microseconds with integers, so the
//! timeouts are identical on every platform (a scenario replays byte for byte).

use core::time::Duration;

/// Bounds and starting point of the retransmission timeout (in a trace, whole microseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RtoBounds {
    /// The timeout before the first sample. RFC 6298 says 1 s for the Internet; peers on a LAN
    /// answer in microseconds, and a lost first request should not stall a download for a second
    /// (the public CJP2P node's known quirk), so downloads default to 300 ms.
    #[serde(with = "crate::config::micros")]
    pub initial: Duration,
    /// The smallest timeout, whatever the samples say (guards against a timer granularity
    /// coarser than the round trip).
    #[serde(with = "crate::config::micros")]
    pub min: Duration,
    /// The largest timeout, backoff included.
    #[serde(with = "crate::config::micros")]
    pub max: Duration,
}

impl Default for RtoBounds {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(300),
            min: Duration::from_millis(10),
            max: Duration::from_secs(10),
        }
    }
}

/// Smoothed round-trip time, its variation, and the retransmission timeout derived from them.
#[derive(Clone, Debug)]
pub struct RttEstimator {
    bounds: RtoBounds,
    /// SRTT in microseconds, `None` before the first sample.
    smoothed: Option<u64>,
    /// RTTVAR in microseconds.
    variation: u64,
    /// The exponent of the backoff applied after consecutive timeouts (RFC 6298 5.5).
    backoff: u32,
}

/// Backoff stops doubling after this many timeouts: `max` caps the timeout long before anyway.
const MAX_BACKOFF_EXPONENT: u32 = 16;

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

impl RttEstimator {
    /// An estimator with no sample yet.
    #[must_use]
    pub fn new(bounds: RtoBounds) -> Self {
        Self {
            bounds,
            smoothed: None,
            variation: 0,
            backoff: 0,
        }
    }

    /// Takes one round-trip sample (RFC 6298 2.2 and 2.3, alpha = 1/8, beta = 1/4).
    ///
    /// Callers follow Karn's rule: no sample from a block that was asked more than once, since
    /// its answer cannot be matched to one request. A sample also ends any backoff: the source
    /// answers again.
    pub fn on_sample(&mut self, rtt: Duration) {
        let sample = micros(rtt);
        match self.smoothed {
            None => {
                self.smoothed = Some(sample);
                self.variation = sample / 2;
            }
            Some(srtt) => {
                let deviation = srtt.abs_diff(sample);
                self.variation =
                    (self.variation.saturating_mul(3) / 4).saturating_add(deviation / 4);
                self.smoothed = Some((srtt.saturating_mul(7) / 8).saturating_add(sample / 8));
            }
        }
        self.backoff = 0;
    }

    /// Doubles the timeout after a timeout fired (RFC 6298 5.5).
    pub fn on_timeout(&mut self) {
        self.backoff = (self.backoff + 1).min(MAX_BACKOFF_EXPONENT);
    }

    /// The smoothed round-trip time, once there is a sample.
    #[must_use]
    pub fn smoothed(&self) -> Option<Duration> {
        self.smoothed.map(Duration::from_micros)
    }

    /// The round-trip variation (RTTVAR).
    #[must_use]
    pub fn variation(&self) -> Duration {
        Duration::from_micros(self.variation)
    }

    /// The retransmission timeout: SRTT + 4 RTTVAR, clamped to the bounds, times the backoff.
    #[must_use]
    pub fn rto(&self) -> Duration {
        let base = match self.smoothed {
            None => micros(self.bounds.initial),
            Some(srtt) => srtt.saturating_add(self.variation.saturating_mul(4)),
        };
        let clamped = base.clamp(micros(self.bounds.min), micros(self.bounds.max));
        let backed_off = clamped.saturating_mul(1u64 << self.backoff);
        Duration::from_micros(backed_off.min(micros(self.bounds.max)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn first_sample_sets_srtt_and_half_of_it_as_variation() {
        let mut rtt = RttEstimator::new(RtoBounds::default());
        assert_eq!(rtt.rto(), ms(300));
        rtt.on_sample(ms(100));
        assert_eq!(rtt.smoothed(), Some(ms(100)));
        assert_eq!(rtt.variation(), ms(50));
        assert_eq!(rtt.rto(), ms(300)); // 100 + 4 * 50
    }

    #[test]
    fn later_samples_are_smoothed_with_one_eighth_and_one_quarter() {
        let mut rtt = RttEstimator::new(RtoBounds::default());
        rtt.on_sample(ms(100));
        rtt.on_sample(ms(200));
        // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5
        assert_eq!(rtt.variation(), Duration::from_micros(62_500));
        assert_eq!(rtt.smoothed(), Some(Duration::from_micros(112_500)));
    }

    #[test]
    fn steady_samples_converge_and_the_timeout_respects_its_floor() {
        let mut rtt = RttEstimator::new(RtoBounds::default());
        for _ in 0..200 {
            rtt.on_sample(ms(1));
        }
        assert_eq!(rtt.smoothed(), Some(ms(1)));
        assert_eq!(rtt.rto(), ms(10));
    }

    #[test]
    fn timeouts_double_the_timeout_up_to_the_cap_and_a_sample_resets_it() {
        let mut rtt = RttEstimator::new(RtoBounds::default());
        rtt.on_sample(ms(100));
        rtt.on_timeout();
        assert_eq!(rtt.rto(), ms(600));
        rtt.on_timeout();
        assert_eq!(rtt.rto(), ms(1200));
        for _ in 0..40 {
            rtt.on_timeout();
        }
        assert_eq!(rtt.rto(), Duration::from_secs(10));
        rtt.on_sample(ms(100));
        assert!(rtt.rto() < ms(600));
    }
}
