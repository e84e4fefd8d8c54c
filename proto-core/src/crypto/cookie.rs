//! Stateless cookies: what a node under load asks an address to echo before it spends key work
//! on frames from there (the idea of WireGuard's cookie reply).
//!
//! A cookie is the first 16 bytes of HMAC-SHA256 over the source address and the current
//! epoch, keyed with a secret drawn at start. The node keeps nothing per address: it recomputes
//! the cookie when one is echoed. A cookie holds for the epoch it was made in and the next
//! ([`COOKIE_EPOCH_MICROS`] each), so one taken just before a change still works; a secret that
//! never leaves the node means nobody else can make one for an address they do not receive
//! at. The comparison is constant-time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Bytes of a cookie.
pub const COOKIE_LEN: usize = 16;

/// How long one epoch of cookies lasts, in microseconds of the node's clock (120 s).
pub const COOKIE_EPOCH_MICROS: u64 = 120_000_000;

const DOMAIN: &[u8] = b"ejtp-rs cookie v1";

/// The secret cookies are made with: HMAC-SHA256 keyed once, so that each cookie costs only
/// the hash of its own bytes.
#[derive(Clone)]
pub struct CookieKey(Hmac<Sha256>);

impl core::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CookieKey(..)")
    }
}

impl CookieKey {
    /// A key from 32 secret random bytes.
    #[must_use]
    pub fn new(secret: [u8; 32]) -> Self {
        // HMAC pads a key shorter than SHA-256's 64-byte block with zeros (RFC 2104); padding
        // it here gives the same MAC and a keying that cannot fail.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&secret);
        Self(Hmac::new(&block.into()))
    }

    /// The key a node with generator seed `seed` makes its cookies with. Derived from the
    /// seed rather than drawn from the node's random stream: a draw would shift every later
    /// one (and every recorded scenario) for a secret that never leaves the node.
    #[must_use]
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"ejtp-rs cookie secret v1");
        hash.update(seed);
        Self::new(hash.finalize().into())
    }

    /// The cookie for `source` (an address's bytes) in `epoch`.
    #[must_use]
    pub fn cookie(&self, epoch: u64, source: &[u8]) -> [u8; COOKIE_LEN] {
        let mac: [u8; 32] = self.mac(epoch, source).finalize().into_bytes().into();
        let mut cookie = [0; COOKIE_LEN];
        cookie.copy_from_slice(&mac[..COOKIE_LEN]);
        cookie
    }

    /// Whether `cookie` is the one for `source` in `epoch` or the epoch before (each compared
    /// in constant time).
    #[must_use]
    pub fn verify(&self, epoch: u64, source: &[u8], cookie: &[u8; COOKIE_LEN]) -> bool {
        let now = self
            .mac(epoch, source)
            .verify_truncated_left(cookie)
            .is_ok();
        let before = epoch.checked_sub(1).is_some_and(|previous| {
            self.mac(previous, source)
                .verify_truncated_left(cookie)
                .is_ok()
        });
        now | before
    }

    /// The keyed MAC over the domain, `epoch` and `source`, not yet finalized.
    fn mac(&self, epoch: u64, source: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(DOMAIN);
        mac.update(&epoch.to_be_bytes());
        mac.update(source);
        mac
    }
}

/// The epoch of cookies at `micros` on the node's clock.
#[must_use]
pub const fn epoch_at(micros: u64) -> u64 {
    micros / COOKIE_EPOCH_MICROS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_an_independent_implementation() {
        // HMAC-SHA256 with key 0x00..0x1f over "abc", computed with Python's hmac module.
        let key: [u8; 32] = core::array::from_fn(|i| i as u8);
        let mut keyed = CookieKey::new(key).0;
        keyed.update(b"a");
        keyed.update(b"bc");
        let mac = keyed.finalize().into_bytes();
        let hex: alloc::string::String = mac.iter().map(|b| alloc::format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "f0133729c4163dede81e21cd47839256da58171238c8a0d874397c73b14e1e47"
        );
    }

    #[test]
    fn a_cookie_verifies_for_its_address_in_its_epoch_and_the_next_only() {
        let key = CookieKey::new([7; 32]);
        let here = b"udp 127.0.0.1:4000";
        let cookie = key.cookie(10, here);
        assert!(key.verify(10, here, &cookie));
        assert!(
            key.verify(11, here, &cookie),
            "the next epoch still takes it"
        );
        assert!(
            !key.verify(12, here, &cookie),
            "two epochs later it is stale"
        );
        assert!(!key.verify(9, here, &cookie), "not before it was made");
        assert!(
            !key.verify(10, b"udp 127.0.0.1:4001", &cookie),
            "another address"
        );
        let other = CookieKey::new([8; 32]);
        assert!(!other.verify(10, here, &cookie), "another node's secret");
        let mut flipped = cookie;
        flipped[15] ^= 1;
        assert!(!key.verify(10, here, &flipped));
    }

    #[test]
    fn epochs_are_two_minutes() {
        assert_eq!(epoch_at(0), 0);
        assert_eq!(epoch_at(119_999_999), 0);
        assert_eq!(epoch_at(120_000_000), 1);
    }
}
