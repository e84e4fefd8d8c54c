//! Token buckets: how many frames a node may send, to one peer and overall.
//!
//! A bucket holds up to `burst` tokens and gains `rate` tokens a second; each frame takes one.
//! Over any interval of `T` seconds a bucket lets through at most `rate x T + burst` frames.
//! Tokens are counted in millionths so that refilling by the microsecond is exact integer
//! arithmetic (no floats in the core).

use alloc::collections::BTreeMap;

use crate::time::Instant;
use crate::transport::TransportAddr;

/// Millionths of a token per token.
const UNIT: u64 = 1_000_000;

/// Frames per second and burst of one bucket; a rate of 0 means unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Tokens gained per second; 0 turns the bucket off (everything passes).
    pub per_second: u32,
    /// Most tokens held (at least 1 when the rate is not 0).
    pub burst: u32,
}

impl Rate {
    /// Whether this rate limits anything.
    #[must_use]
    pub fn is_limited(self) -> bool {
        self.per_second > 0
    }

    fn capacity(self) -> u64 {
        u64::from(self.burst.max(1)).saturating_mul(UNIT)
    }
}

/// One token bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenBucket {
    /// Millionths of a token.
    tokens: u64,
    /// When `tokens` was last brought up to date.
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    #[must_use]
    pub fn full(rate: Rate, now: Instant) -> Self {
        Self {
            tokens: rate.capacity(),
            updated: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        if now <= self.updated {
            return;
        }
        let elapsed = now.saturating_duration_since(self.updated);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        // rate tokens a second = rate millionths of a token a microsecond.
        let gained = micros.saturating_mul(u64::from(rate.per_second));
        self.tokens = self.tokens.saturating_add(gained).min(rate.capacity());
        self.updated = now;
    }

    /// Whether a token is available at `now` (without taking it).
    pub fn has_token(&mut self, rate: Rate, now: Instant) -> bool {
        if !rate.is_limited() {
            return true;
        }
        self.refill(rate, now);
        self.tokens >= UNIT
    }

    /// Takes a token if one is available at `now`.
    pub fn take(&mut self, rate: Rate, now: Instant) -> bool {
        if !self.has_token(rate, now) {
            return false;
        }
        if rate.is_limited() {
            self.tokens -= UNIT;
        }
        true
    }

    /// Whether the bucket is full at `now`: it then limits nothing a fresh bucket would not.
    pub fn is_full(&mut self, rate: Rate, now: Instant) -> bool {
        self.refill(rate, now);
        self.tokens >= rate.capacity()
    }

    /// When the bucket will be full again.
    #[must_use]
    pub fn full_at(&self, rate: Rate) -> Instant {
        let missing = rate.capacity().saturating_sub(self.tokens);
        if !rate.is_limited() || missing == 0 {
            return self.updated;
        }
        let micros = missing.div_ceil(u64::from(rate.per_second));
        self.updated
            .saturating_add(core::time::Duration::from_micros(micros))
    }

    /// When the next token will be available (now if one is).
    #[must_use]
    pub fn next_token_at(&self, rate: Rate) -> Instant {
        if !rate.is_limited() || self.tokens >= UNIT {
            return self.updated;
        }
        let missing = UNIT - self.tokens;
        let per_micro = u64::from(rate.per_second);
        let micros = missing.div_ceil(per_micro);
        self.updated
            .saturating_add(core::time::Duration::from_micros(micros))
    }
}

/// A bucket per destination and one overall, with a bound on the per-destination table.
///
/// When the table is full, buckets that have refilled are forgotten (a full bucket limits
/// nothing a fresh one would not); if none has, a frame to a new destination waits until one
/// has, so that no destination ever gets a second burst by being forgotten.
#[derive(Clone, Debug)]
pub struct Throttle {
    per_peer: Rate,
    total: Rate,
    max_peers: usize,
    overall: TokenBucket,
    peers: BTreeMap<TransportAddr, TokenBucket>,
}

impl Throttle {
    /// Throttles at `per_peer` to each destination and `total` overall, keeping at most
    /// `max_peers` per-destination buckets.
    #[must_use]
    pub fn new(per_peer: Rate, total: Rate, max_peers: usize, now: Instant) -> Self {
        Self {
            per_peer,
            total,
            max_peers,
            overall: TokenBucket::full(total, now),
            peers: BTreeMap::new(),
        }
    }

    /// Whether a frame to `peer` may go now (nothing is taken).
    pub fn admits(&mut self, peer: TransportAddr, now: Instant) -> bool {
        if !self.overall.has_token(self.total, now) {
            return false;
        }
        if !self.per_peer.is_limited() {
            return true;
        }
        let rate = self.per_peer;
        match self.peers.get_mut(&peer) {
            Some(bucket) => bucket.has_token(rate, now),
            None => self.make_room(now),
        }
    }

    /// Takes the tokens for one frame to `peer`; false (and nothing taken) if it may not go.
    pub fn take(&mut self, peer: TransportAddr, now: Instant) -> bool {
        if !self.admits(peer, now) {
            return false;
        }
        if self.per_peer.is_limited() {
            let rate = self.per_peer;
            self.peers
                .entry(peer)
                .or_insert_with(|| TokenBucket::full(rate, now))
                .take(rate, now);
        }
        self.overall.take(self.total, now);
        true
    }

    /// Frees a slot in a full table by forgetting buckets that have refilled; false if none
    /// has.
    fn make_room(&mut self, now: Instant) -> bool {
        if self.peers.len() < self.max_peers {
            return true;
        }
        let rate = self.per_peer;
        self.peers.retain(|_, bucket| !bucket.is_full(rate, now));
        self.peers.len() < self.max_peers
    }

    /// When a frame to `peer` may go next (at the earliest: call [`admits`](Self::admits)
    /// then).
    #[must_use]
    pub fn next_admit_at(&self, peer: TransportAddr) -> Instant {
        let overall = self.overall.next_token_at(self.total);
        if !self.per_peer.is_limited() {
            return overall;
        }
        let peer_at = match self.peers.get(&peer) {
            Some(bucket) => bucket.next_token_at(self.per_peer),
            None if self.peers.len() < self.max_peers => overall,
            // Waiting for a slot: the first bucket to refill frees one.
            None => self
                .peers
                .values()
                .map(|bucket| bucket.full_at(self.per_peer))
                .min()
                .unwrap_or(overall),
        };
        peer_at.max(overall)
    }

    /// Per-destination buckets held (bounded by `max_peers`).
    #[must_use]
    pub fn peers_tracked(&self) -> usize {
        self.peers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    fn addr(port: u16) -> TransportAddr {
        TransportAddr::udp(core::net::SocketAddr::from(([127, 0, 0, 1], port)))
    }

    const TEN_BURST_FOUR: Rate = Rate {
        per_second: 10,
        burst: 4,
    };

    #[test]
    fn a_bucket_lets_its_burst_through_then_its_rate() {
        let mut bucket = TokenBucket::full(TEN_BURST_FOUR, Instant::ZERO);
        let passed = (0..10)
            .filter(|_| bucket.take(TEN_BURST_FOUR, Instant::ZERO))
            .count();
        assert_eq!(passed, 4);
        assert_eq!(
            bucket.next_token_at(TEN_BURST_FOUR),
            Instant::from_millis(100)
        );
        assert!(!bucket.take(TEN_BURST_FOUR, Instant::from_millis(99)));
        assert!(bucket.take(TEN_BURST_FOUR, Instant::from_millis(100)));
        // A long idle refills only up to the burst.
        let later = Instant::from_millis(100) + Duration::from_secs(60);
        let passed = (0..10)
            .filter(|_| bucket.take(TEN_BURST_FOUR, later))
            .count();
        assert_eq!(passed, 4);
    }

    #[test]
    fn over_any_interval_at_most_rate_times_time_plus_burst_pass() {
        let mut bucket = TokenBucket::full(TEN_BURST_FOUR, Instant::ZERO);
        let mut passed = 0u64;
        // Offer a frame every millisecond for 10 s.
        for ms in 0..10_000 {
            if bucket.take(TEN_BURST_FOUR, Instant::from_millis(ms)) {
                passed += 1;
            }
        }
        assert!(passed <= 10 * 10 + 4, "{passed}");
        assert!(passed >= 10 * 10, "{passed}");
    }

    #[test]
    fn a_zero_rate_limits_nothing() {
        let off = Rate {
            per_second: 0,
            burst: 0,
        };
        let mut throttle = Throttle::new(off, off, 1, Instant::ZERO);
        assert!((0..1000).all(|port| throttle.take(addr(port), Instant::ZERO)));
        assert_eq!(throttle.peers_tracked(), 0);
    }

    #[test]
    fn the_overall_bucket_limits_all_peers_together() {
        let off = Rate {
            per_second: 0,
            burst: 0,
        };
        let mut throttle = Throttle::new(off, TEN_BURST_FOUR, 8, Instant::ZERO);
        let passed = (0..10)
            .filter(|port| throttle.take(addr(*port), Instant::ZERO))
            .count();
        assert_eq!(passed, 4);
        assert_eq!(throttle.next_admit_at(addr(1)), Instant::from_millis(100));
    }

    #[test]
    fn the_peer_table_is_bounded_and_forgets_only_refilled_buckets() {
        let mut throttle = Throttle::new(
            TEN_BURST_FOUR,
            Rate {
                per_second: 0,
                burst: 0,
            },
            2,
            Instant::ZERO,
        );
        assert!(throttle.take(addr(1), Instant::ZERO));
        assert!(throttle.take(addr(2), Instant::ZERO));
        // Both buckets are below full: a third peer must wait rather than evict one.
        assert!(!throttle.take(addr(3), Instant::ZERO));
        assert_eq!(throttle.peers_tracked(), 2);
        // Once they have refilled, they are forgotten to make room.
        assert!(throttle.take(addr(3), Instant::from_millis(100)));
        assert!(throttle.peers_tracked() <= 2);
    }
}
