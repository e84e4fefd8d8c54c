//! Session resets: telling a peer that a session it sends on no longer exists here (we
//! restarted, or dropped it), and acting on such news from a peer.
//!
//! Without them, a peer that kept a session with a node that restarted would send into the void
//! until the session idled out, and since it keeps sending, it never would.

use super::Node;
use crate::address::Address;
use crate::crypto::body;
use crate::crypto::reset;
use crate::event::Event;
use crate::frame;
use crate::identity::PublicKey;
use crate::time::{Instant, UnixMillis};
use crate::transport::TransportAddr;

impl Node {
    /// Answers a session frame for an unknown index with a signed reset, within the rate limit
    /// and never sending more than three times the bytes received (no amplification).
    pub(super) fn send_session_reset(
        &mut self,
        to: TransportAddr,
        unknown_index: u32,
        received_len: usize,
    ) {
        if !self.reset_allowed() {
            return;
        }
        let timestamp = self.wall_now();
        let mut frame = frame::sealed_prefix(&Address::from_transport(to));
        let header = frame
            .get(1..frame.len().saturating_sub(1))
            .unwrap_or_default();
        let Ok(signature) = reset::sign(&self.identity, header, unknown_index, timestamp) else {
            return;
        };
        body::write_session_reset(
            &mut frame,
            unknown_index,
            timestamp,
            self.public_key.as_bytes(),
            &signature,
        );
        if frame.len() > received_len.saturating_mul(3) {
            return;
        }
        self.queue_transmit(to, frame);
    }

    /// Spends one reset from this second's budget, if any is left.
    fn reset_allowed(&mut self) -> bool {
        if self.now.saturating_duration_since(self.reset_budget.0)
            >= core::time::Duration::from_secs(1)
        {
            self.reset_budget = fresh_budget(self.now);
        }
        if self.reset_budget.1 >= self.config.max_resets_per_second {
            return false;
        }
        self.reset_budget.1 += 1;
        true
    }

    /// A peer says it has no session under `receiver_index`: drop ours, if the peer it is with
    /// signed the notice recently.
    pub(super) fn on_session_reset(
        &mut self,
        header: &[u8],
        receiver_index: u32,
        timestamp: UnixMillis,
        key: &[u8; 32],
        signature: &[u8; 64],
    ) {
        let Ok(key) = PublicKey::from_bytes(key) else {
            self.stats.dropped_crypto += 1;
            return;
        };
        if timestamp.abs_diff(self.wall_now()) > self.config.max_clock_skew {
            self.stats.dropped_stale += 1;
            return;
        }
        if reset::verify(&key, header, receiver_index, timestamp, signature).is_err() {
            self.stats.dropped_crypto += 1;
            return;
        }
        let doomed: alloc::vec::Vec<u32> = self
            .sessions
            .sessions
            .iter()
            .filter(|(_, entry)| entry.peer == key && entry.remote_index == receiver_index)
            .map(|(index, _)| *index)
            .collect();
        for index in doomed {
            if let Some(peer) = self.sessions.remove(index) {
                self.push_event(Event::SessionClosed { peer });
            }
        }
    }
}

/// The start of a fresh reset budget.
pub(super) const fn fresh_budget(now: Instant) -> (Instant, u32) {
    (now, 0)
}
