//! Stateless cookies: what a node under load asks an address to echo before it spends key work
//! on frames from there (the idea of WireGuard's cookie reply).
//!
//! A cookie is the first 16 bytes of HMAC-SHA256 over the source address and the current
//! epoch, keyed with a secret drawn at start. The node keeps nothing per address: it recomputes
//! the cookie when one is echoed. A cookie holds for the epoch it was made in and the next
//! ([`COOKIE_EPOCH_MICROS`] each), so one taken just before a change still works; a secret that
//! never leaves the node means nobody else can make one for an address they do not receive
//! at. The comparison is constant-time.

use sha2::{Digest, Sha256};

/// Bytes of a cookie.
pub const COOKIE_LEN: usize = 16;

/// How long one epoch of cookies lasts, in microseconds of the node's clock (120 s).
pub const COOKIE_EPOCH_MICROS: u64 = 120_000_000;

const DOMAIN: &[u8] = b"ejtp-rs cookie v1";
const BLOCK: usize = 64;

/// The secret cookies are made with.
#[derive(Clone)]
pub struct CookieKey([u8; 32]);

impl core::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CookieKey(..)")
    }
}

impl CookieKey {
    /// A key from 32 secret random bytes.
    #[must_use]
    pub const fn new(secret: [u8; 32]) -> Self {
        Self(secret)
    }

    /// The cookie for `source` (an address's bytes) in `epoch`.
    #[must_use]
    pub fn cookie(&self, epoch: u64, source: &[u8]) -> [u8; COOKIE_LEN] {
        let mac = hmac_sha256(&self.0, &[DOMAIN, &epoch.to_be_bytes(), source]);
        let mut cookie = [0; COOKIE_LEN];
        cookie.copy_from_slice(&mac[..COOKIE_LEN]);
        cookie
    }

    /// Whether `cookie` is the one for `source` in `epoch` or the epoch before.
    #[must_use]
    pub fn verify(&self, epoch: u64, source: &[u8], cookie: &[u8; COOKIE_LEN]) -> bool {
        let now = constant_time_eq(&self.cookie(epoch, source), cookie);
        let before = epoch
            .checked_sub(1)
            .is_some_and(|previous| constant_time_eq(&self.cookie(previous, source), cookie));
        now | before
    }
}

/// The epoch of cookies at `micros` on the node's clock.
#[must_use]
pub const fn epoch_at(micros: u64) -> u64 {
    micros / COOKIE_EPOCH_MICROS
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts`, with a key shorter than a block.
fn hmac_sha256(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut inner_pad = [0x36u8; BLOCK];
    let mut outer_pad = [0x5cu8; BLOCK];
    for ((inner, outer), byte) in inner_pad.iter_mut().zip(outer_pad.iter_mut()).zip(key) {
        *inner ^= byte;
        *outer ^= byte;
    }
    let mut inner = Sha256::new();
    inner.update(inner_pad);
    for part in parts {
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(outer_pad);
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn constant_time_eq(a: &[u8; COOKIE_LEN], b: &[u8; COOKIE_LEN]) -> bool {
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_an_independent_implementation() {
        // HMAC-SHA256 with key 0x00..0x1f over "abc", computed with Python's hmac module.
        let key: [u8; 32] = core::array::from_fn(|i| i as u8);
        let mac = hmac_sha256(&key, &[b"a", b"bc"]);
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
