//! Work under load: a budget of frames needing key work, the cookies that let an address past
//! it, and the cookies other nodes gave us.
//!
//! **Why.** A sealed frame or a handshake init with random key material costs an X25519 and a
//! failed open, some sixteen times a datagram of random bytes; a flood of them saturates a
//! core and legitimate peers time out. Such frames need no state to make, so they can come
//! from any address. As WireGuard does, a node that takes more than
//! [`Config::key_work_per_second`](crate::Config::key_work_per_second) of them answers the
//! rest, from addresses that have not proved they receive, with a cookie challenge
//! (`crypto::cookie`: stateless, a keyed hash) instead of doing the work. A sender that
//! receives at its address echoes the cookie with the frame; one that spoofs its address
//! never sees the cookie.
//!
//! **Bounds.** The budget is a token bucket of `key_work_per_second` tokens (the burst). The
//! cookies we were given: at most [`MAX_COOKIES`], each for [`COOKIE_LIFETIME`], the oldest
//! forgotten first. Nothing is kept per challenged address.

use alloc::collections::BTreeMap;
use core::time::Duration;

use super::bounded::insert_evicting_oldest;
use crate::crypto::cookie::{COOKIE_LEN, CookieKey, epoch_at};
use crate::time::Instant;
use crate::transport::TransportAddr;

/// Cookies from other nodes kept at most.
pub(super) const MAX_COOKIES: usize = 256;

/// How long a cookie we were given is used: less than the two epochs it holds for.
pub(super) const COOKIE_LIFETIME: Duration = Duration::from_secs(60);

/// Micro-tokens per token: the bucket counts in millionths so that any rate refills exactly.
const MICROS: u64 = 1_000_000;

/// What the budget counted; merged into the node's [`Stats`](crate::Stats).
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    challenges_sent: u64,
    cookie_echoes_taken: u64,
    dropped_bad_cookie: u64,
    dropped_stray_challenge: u64,
    frames_sent_with_cookie: u64,
}

/// The key-work budget and cookies (see the module documentation).
#[derive(Debug)]
pub(super) struct KeyWork {
    /// Tokens per second, and the burst; 0 means never under load.
    rate: u64,
    /// Micro-tokens in the bucket.
    bucket: u64,
    refilled: Instant,
    key: CookieKey,
    /// Cookies other nodes gave us, by the address that gave them, with when.
    given: BTreeMap<TransportAddr, ([u8; COOKIE_LEN], Instant)>,
    /// Whether the frame being handled came back with a good cookie (its address proved it
    /// receives, even if the paths table could not keep that).
    pub(super) in_echo: bool,
    counters: Counters,
}

impl KeyWork {
    /// A full budget of `rate` per second, making cookies with `key`.
    pub(super) fn new(rate: u32, key: CookieKey, now: Instant) -> Self {
        let rate = u64::from(rate);
        Self {
            rate,
            bucket: rate.saturating_mul(MICROS),
            refilled: now,
            key,
            given: BTreeMap::new(),
            in_echo: false,
            counters: Counters::default(),
        }
    }

    /// Takes one frame's worth of key work from the budget. False when the node is under load
    /// (the bucket is empty).
    pub(super) fn take(&mut self, now: Instant) -> bool {
        if self.rate == 0 {
            return true;
        }
        let elapsed = now.saturating_duration_since(self.refilled);
        self.refilled = now;
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.bucket = self
            .bucket
            .saturating_add(micros.saturating_mul(self.rate))
            .min(self.rate.saturating_mul(MICROS));
        if self.bucket < MICROS {
            return false;
        }
        self.bucket -= MICROS;
        true
    }

    /// The cookie for `from` now, for a challenge (counted as sent).
    pub(super) fn challenge(&mut self, now: Instant, from: TransportAddr) -> [u8; COOKIE_LEN] {
        self.counters.challenges_sent += 1;
        self.key
            .cookie(epoch_at(now.as_micros()), &source_bytes(from))
    }

    /// Whether `cookie`, echoed from `from`, is one this node made for it lately (counted
    /// either way).
    pub(super) fn take_echo(
        &mut self,
        now: Instant,
        from: TransportAddr,
        cookie: &[u8; COOKIE_LEN],
    ) -> bool {
        let good = self
            .key
            .verify(epoch_at(now.as_micros()), &source_bytes(from), cookie);
        if good {
            self.counters.cookie_echoes_taken += 1;
        } else {
            self.counters.dropped_bad_cookie += 1;
        }
        good
    }

    /// `from` challenged a frame of ours: keep its cookie for what we send there next.
    pub(super) fn keep_cookie(
        &mut self,
        from: TransportAddr,
        cookie: [u8; COOKIE_LEN],
        now: Instant,
    ) {
        insert_evicting_oldest(
            &mut self.given,
            from,
            (cookie, now),
            MAX_COOKIES,
            |(_, at)| *at,
        );
    }

    /// A challenge named no frame we sent there: ignored.
    pub(super) fn stray_challenge(&mut self) {
        self.counters.dropped_stray_challenge += 1;
    }

    /// Whether any node gave us a cookie we still keep.
    pub(super) fn holds_cookies(&self) -> bool {
        !self.given.is_empty()
    }

    /// The cookie `to` gave us, if it is still fresh; counted as used.
    pub(super) fn cookie_for(
        &mut self,
        to: TransportAddr,
        now: Instant,
    ) -> Option<[u8; COOKIE_LEN]> {
        let (cookie, at) = *self.given.get(&to)?;
        if now.saturating_duration_since(at) >= COOKIE_LIFETIME {
            self.given.remove(&to);
            return None;
        }
        self.counters.frames_sent_with_cookie += 1;
        Some(cookie)
    }

    /// Adds the counters to `stats`.
    pub(super) fn add_stats(&self, stats: &mut crate::Stats) {
        let counters = &self.counters;
        stats.transport.cookie_challenges_sent += counters.challenges_sent;
        stats.transport.cookie_echoes_taken += counters.cookie_echoes_taken;
        stats.transport.dropped_bad_cookie += counters.dropped_bad_cookie;
        stats.transport.dropped_stray_challenge += counters.dropped_stray_challenge;
        stats.transport.frames_sent_with_cookie += counters.frames_sent_with_cookie;
    }
}

/// The bytes a cookie binds: the protocol, the family, the IP and the port (the family keeps
/// an IPv4 address apart from the IPv6 address that begins with the same bytes).
fn source_bytes(addr: TransportAddr) -> [u8; 20] {
    let mut bytes = [0u8; 20];
    bytes[0] = match addr.protocol {
        crate::transport::Protocol::Udp => b'u',
        crate::transport::Protocol::Tcp => b't',
    };
    match addr.addr.ip() {
        core::net::IpAddr::V4(ip) => {
            bytes[1] = 4;
            bytes[2..6].copy_from_slice(&ip.octets());
        }
        core::net::IpAddr::V6(ip) => {
            bytes[1] = 6;
            bytes[2..18].copy_from_slice(&ip.octets());
        }
    }
    bytes[18..].copy_from_slice(&addr.addr.port().to_be_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::SocketAddr;

    fn udp(port: u16) -> TransportAddr {
        TransportAddr::udp(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    fn at(millis: u64) -> Instant {
        Instant::from_millis(millis)
    }

    #[test]
    fn the_budget_takes_its_burst_then_refills_at_its_rate() {
        let mut work = KeyWork::new(10, CookieKey::new([1; 32]), at(0));
        assert!((0..10).all(|_| work.take(at(0))), "a burst of 10");
        assert!(!work.take(at(0)), "then under load");
        assert!(!work.take(at(99)), "a tenth of a token is no token");
        assert!(work.take(at(100)), "one token per 100 ms");
        assert!(!work.take(at(100)));
        // Never more than the burst, however long it rested.
        let taken = (0..100).filter(|_| work.take(at(3_600_000))).count();
        assert_eq!(taken, 10);
    }

    #[test]
    fn a_rate_of_zero_is_never_under_load() {
        let mut work = KeyWork::new(0, CookieKey::new([1; 32]), at(0));
        assert!((0..100_000).all(|_| work.take(at(0))));
    }

    #[test]
    fn a_cookie_is_taken_back_only_from_the_address_it_was_made_for() {
        let mut work = KeyWork::new(1, CookieKey::new([2; 32]), at(0));
        let cookie = work.challenge(at(5), udp(1));
        assert!(work.take_echo(at(6), udp(1), &cookie));
        assert!(!work.take_echo(at(6), udp(2), &cookie));
        let tcp = TransportAddr::tcp(SocketAddr::from(([127, 0, 0, 1], 1)));
        assert!(
            !work.take_echo(at(6), tcp, &cookie),
            "the protocol is bound too"
        );
        assert!(
            work.take_echo(at(200_000), udp(1), &cookie),
            "the next epoch"
        );
        assert!(
            !work.take_echo(at(240_001), udp(1), &cookie),
            "not after two"
        );
        let mut stats = crate::Stats::default();
        work.add_stats(&mut stats);
        assert_eq!(
            (
                stats.transport.cookie_echoes_taken,
                stats.transport.dropped_bad_cookie
            ),
            (2, 3)
        );
    }

    #[test]
    fn given_cookies_are_used_for_a_minute_and_bounded() {
        let mut work = KeyWork::new(1, CookieKey::new([3; 32]), at(0));
        work.keep_cookie(udp(1), [9; 16], at(0));
        assert_eq!(work.cookie_for(udp(1), at(59_999)), Some([9; 16]));
        assert_eq!(work.cookie_for(udp(1), at(60_000)), None);
        for port in 0..(MAX_COOKIES as u16 + 10) {
            work.keep_cookie(udp(port), [1; 16], at(u64::from(port)));
        }
        assert_eq!(work.given.len(), MAX_COOKIES);
        assert_eq!(
            work.cookie_for(udp(0), at(1_000)),
            None,
            "the oldest went first"
        );
        assert!(
            work.cookie_for(udp(MAX_COOKIES as u16 + 9), at(1_000))
                .is_some()
        );
    }
}
