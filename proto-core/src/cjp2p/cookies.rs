//! Our cookies: the anti-spoofing cookie a source must echo, and the round-trip cookies.
//!
//! Both are computed from a per-node secret, so the node keeps no table for them: a cookie is
//! recognised by recomputing it.

use alloc::string::String;
use core::net::IpAddr;
use core::time::Duration;

use sha2::{Digest, Sha256};

use crate::time::Instant;

/// Hex digits in our anti-spoofing cookie: 64 bits, so a blind spoofer must send about 2^63
/// guesses to get one full-size reply sent to its victim (and each wrong guess earns at most
/// three times its own size, see `docs/PROTOCOL.md` section 15).
pub const COOKIE_HEX_LEN: usize = 16;

/// The node's secret for cookies.
#[derive(Clone)]
pub struct CookieSecret([u8; 32]);

impl core::fmt::Debug for CookieSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CookieSecret(..)")
    }
}

fn hex_prefix(digest: &[u8], digits: usize) -> String {
    let mut text = crate::hex::encode(digest.get(..digits / 2).unwrap_or(digest));
    text.truncate(digits);
    text
}

impl CookieSecret {
    /// A secret from 32 random bytes.
    #[must_use]
    pub const fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The secret a node derives from its seed: a domain-separated hash, so that drawing it
    /// does not move the node's random stream (and every existing trace replays unchanged).
    #[must_use]
    pub fn from_node_seed(seed: &[u8; 32]) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"ejtp cjp2p cookie secret v1\0");
        hash.update(seed);
        Self(hash.finalize().into())
    }

    /// The cookie a source at `ip` must return: it depends only on the secret and the IP (not
    /// the port), like the public node's.
    #[must_use]
    pub fn cookie_for(&self, ip: IpAddr) -> String {
        let mut hash = Sha256::new();
        hash.update(b"source\0");
        hash.update(self.0);
        match ip.to_canonical() {
            IpAddr::V4(v4) => {
                hash.update([4]);
                hash.update(v4.octets());
            }
            IpAddr::V6(v6) => {
                hash.update([6]);
                hash.update(v6.octets());
            }
        }
        hex_prefix(&hash.finalize(), COOKIE_HEX_LEN)
    }

    fn rtt_tag(&self, micros: u64) -> String {
        let mut hash = Sha256::new();
        hash.update(b"rtt\0");
        hash.update(self.0);
        hash.update(micros.to_be_bytes());
        hex_prefix(&hash.finalize(), COOKIE_HEX_LEN)
    }

    /// The `PleaseReturnThisMessage` cookie for a probe sent at `sent`: `<micros>.<tag>`.
    ///
    /// The send time travels in the cookie, so measuring a round trip needs no table, and the
    /// tag keeps peers from making up send times.
    #[must_use]
    pub fn rtt_cookie(&self, sent: Instant) -> String {
        let micros = sent.as_micros();
        let mut text = alloc::format!("{micros}.");
        text.push_str(&self.rtt_tag(micros));
        text
    }

    /// When a returned round-trip cookie was sent, if it is one of ours.
    #[must_use]
    pub fn rtt_sent_at(&self, cookie: &str) -> Option<Instant> {
        let (micros, tag) = cookie.split_once('.')?;
        if micros.is_empty() || !micros.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let micros: u64 = micros.parse().ok()?;
        (self.rtt_tag(micros) == tag).then_some(Instant::from_micros(micros))
    }

    /// The round-trip time of a returned cookie at `now`, if it is one of ours.
    #[must_use]
    pub fn rtt(&self, cookie: &str, now: Instant) -> Option<Duration> {
        let sent = self.rtt_sent_at(cookie)?;
        (sent <= now).then(|| now.saturating_duration_since(sent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_depend_on_secret_and_ip_only() {
        let secret = CookieSecret::from_node_seed(&[1; 32]);
        let other = CookieSecret::from_node_seed(&[2; 32]);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let cookie = secret.cookie_for(ip);
        assert_eq!(cookie.len(), COOKIE_HEX_LEN);
        assert_eq!(cookie, secret.cookie_for(ip));
        assert_ne!(cookie, other.cookie_for(ip));
        assert_ne!(cookie, secret.cookie_for("192.0.2.2".parse().unwrap()));
        // An IPv4-mapped IPv6 source is the same source.
        assert_eq!(
            cookie,
            secret.cookie_for("::ffff:192.0.2.1".parse().unwrap())
        );
    }

    #[test]
    fn round_trip_cookies_give_the_elapsed_time_and_refuse_forgeries() {
        let secret = CookieSecret::from_node_seed(&[1; 32]);
        let cookie = secret.rtt_cookie(Instant::from_micros(1_000));
        assert_eq!(
            secret.rtt(&cookie, Instant::from_micros(4_500)),
            Some(Duration::from_micros(3_500))
        );
        assert_eq!(secret.rtt(&cookie, Instant::from_micros(999)), None);
        let forged = cookie.replacen("1000", "2000", 1);
        assert_eq!(secret.rtt(&forged, Instant::from_micros(4_500)), None);
        assert_eq!(secret.rtt("0.000406769", Instant::from_micros(4_500)), None);
        assert_eq!(secret.rtt("hello", Instant::from_micros(4_500)), None);
    }
}
