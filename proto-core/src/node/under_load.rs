//! What the key-work budget (`node/key_work.rs`) does with frames: which are challenged under
//! load, and the cookie echo our own frames carry to a node that challenged us.

use alloc::vec::Vec;

use super::key_work::KeyWork;
use super::lookups::transmit_tag;
use crate::address::Address;
use crate::crypto::body;
use crate::frame;
use crate::time::Instant;
use crate::transport::{Protocol, TransportAddr};

impl KeyWork {
    /// Whether a frame needing key work (its `r` body is `body`) from `from` is handled at
    /// `now`; `validated` says whether `from` proved it receives. Under load, one from a UDP
    /// address that has not is refused, and the cookie challenge to send instead (under the
    /// amplification limit: it is smaller than the frame) comes back as the error.
    pub(super) fn admit(
        &mut self,
        now: Instant,
        from: TransportAddr,
        body: &[u8],
        validated: bool,
    ) -> Result<(), Vec<u8>> {
        let budget_left = self.take(now);
        if budget_left || self.in_echo || from.protocol == Protocol::Tcp || validated {
            return Ok(());
        }
        let cookie = self.challenge(now, from);
        let mut challenge = frame::sealed_prefix(&Address::from_transport(from));
        body::write_cookie_challenge(&mut challenge, &transmit_tag(body), &cookie);
        Err(challenge)
    }

    /// `frame` wrapped with the cookie `to` gave us, if it gave one lately and the frame needs
    /// key work there (only those are challenged); else `frame` as it is.
    pub(super) fn with_cookie(
        &mut self,
        to: TransportAddr,
        now: Instant,
        frame: Vec<u8>,
    ) -> Vec<u8> {
        // Every transmit passes here: nothing is scanned unless some node gave us a cookie.
        if to.protocol != Protocol::Udp || !self.holds_cookies() {
            return frame;
        }
        let Some(prefix_len) = needs_key_work_prefix(&frame) else {
            return frame;
        };
        let Some(cookie) = self.cookie_for(to, now) else {
            return frame;
        };
        let mut wrapped =
            Vec::with_capacity(prefix_len + body::COOKIE_ECHO_HEADER_LEN + frame.len());
        wrapped.extend_from_slice(frame.get(..prefix_len).unwrap_or_default());
        body::write_cookie_echo(&mut wrapped, &cookie, &frame);
        wrapped
    }
}

/// The length of `r || header || 0x00` if `frame` is an `r` frame whose body needs key work.
fn needs_key_work_prefix(frame: &[u8]) -> Option<usize> {
    if frame.first() != Some(&b'r') {
        return None;
    }
    // Strict JSON never holds a raw NUL, so the first one ends the header.
    let nul = frame.iter().position(|&byte| byte == 0)?;
    body::kind_needs_key_work(*frame.get(nul + 1)?).then_some(nul + 1)
}
