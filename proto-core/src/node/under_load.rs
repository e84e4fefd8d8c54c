//! Routing between the node and its key-work budget (`node/key_work.rs`): which frames are
//! challenged under load, what a challenge makes us send again, and frames sent with a cookie.

use alloc::vec::Vec;

use super::Node;
use super::lookups::transmit_tag;
use crate::address::Address;
use crate::crypto::body;
use crate::frame;
use crate::transport::{Protocol, TransportAddr};

impl Node {
    /// Whether a frame needing key work (its `r` body is `body`) from `from` is handled now.
    /// Under load, one from a UDP address that has not proved it receives is answered with a
    /// cookie challenge instead, under the amplification limit (it is smaller than the frame).
    pub(super) fn admit_key_work(&mut self, from: TransportAddr, body: &[u8]) -> bool {
        let budget_left = self.key_work.take(self.ctx.now);
        if budget_left
            || self.in_cookie_echo
            || from.protocol == Protocol::Tcp
            || self.paths.is_validated(&from)
        {
            return true;
        }
        let cookie = self.key_work.challenge(self.ctx.now, from);
        let mut challenge = frame::sealed_prefix(&Address::from_transport(from));
        body::write_cookie_challenge(&mut challenge, &transmit_tag(body), &cookie);
        self.queue_to_observed(from, challenge);
        false
    }

    /// A cookie echo arrived from `from`: if the cookie is ours for that address, the address
    /// proved it receives, and the frame it carries is handled as if it had come alone.
    pub(super) fn on_cookie_echo(&mut self, from: TransportAddr, cookie: &[u8; 16], inner: &[u8]) {
        if self.in_cookie_echo || !self.key_work.take_echo(self.ctx.now, from, cookie) {
            return;
        }
        self.paths.validate(from, self.ctx.now);
        self.in_cookie_echo = true;
        self.on_frame(from, inner);
        self.in_cookie_echo = false;
    }

    /// A node under load challenged a frame of ours, the one ending with `echoed`, that went to
    /// `from`: keep the cookie for what we send there, and send that frame again (a pending
    /// handshake, or a message we remember). A challenge naming nothing we sent there is
    /// ignored, so a forged one makes us send nothing.
    pub(super) fn on_cookie_challenge(
        &mut self,
        from: TransportAddr,
        echoed: &[u8; 16],
        cookie: &[u8; 16],
    ) {
        let handshake = self
            .sessions
            .pending
            .values()
            .find(|pending| pending.to == from && transmit_tag(&pending.frame) == *echoed)
            .map(|pending| pending.frame.clone());
        let message = match handshake {
            Some(_) => None,
            None => self.take_resendable(from, echoed),
        };
        if handshake.is_none() && message.is_none() {
            self.key_work.stray_challenge();
            return;
        }
        // Kept first: the frame sent again below goes with the cookie.
        self.key_work.keep_cookie(from, *cookie, self.ctx.now);
        if let Some(frame) = handshake {
            self.queue_transmit(from, frame);
        }
        if let Some(message) = message {
            self.resend_challenged(from, message);
        }
    }

    /// `frame` wrapped with the cookie `to` gave us, if it gave one lately and the frame needs
    /// key work there (only those are challenged); else `frame` as it is.
    pub(super) fn with_cookie(&mut self, to: TransportAddr, frame: Vec<u8>) -> Vec<u8> {
        // Every transmit passes here: nothing is scanned unless some node gave us a cookie.
        if to.protocol != Protocol::Udp || !self.key_work.holds_cookies() {
            return frame;
        }
        let Some(prefix_len) = needs_key_work_prefix(&frame) else {
            return frame;
        };
        let Some(cookie) = self.key_work.cookie_for(to, self.ctx.now) else {
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
