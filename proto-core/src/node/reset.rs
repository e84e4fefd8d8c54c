//! Session resets: telling a peer that a session it sends on no longer exists here (we
//! restarted, or dropped it), and acting on such news from a peer.
//!
//! Without them, a peer that kept a session with a node that restarted would send into the void
//! until the session idled out, and since it keeps sending, it never would.

use alloc::vec::Vec;

use super::context::Context;
use super::sessions::SessionTable;
use crate::address::Address;
use crate::crypto::body;
use crate::crypto::reset;
use crate::event::Event;
use crate::event::TransportEvent;
use crate::frame;
use crate::identity::PublicKey;
use crate::time::{Instant, UnixMillis};
use crate::transport::TransportAddr;

/// The budget of resets this node sends: at most `Config::max_resets_per_second` in any
/// one-second window.
pub(super) struct Resets {
    /// When the current window started, and the resets sent in it.
    window: (Instant, u32),
}

impl Resets {
    pub(super) const fn new(now: Instant) -> Self {
        Self { window: (now, 0) }
    }

    /// The signed reset that answers a session frame for `unknown_index` from `to`, within the
    /// rate limit and never more than three times the `received_len` bytes that came (no
    /// amplification); `None` if it must not go.
    pub(super) fn answer(
        &mut self,
        ctx: &Context,
        to: TransportAddr,
        unknown_index: u32,
        received_len: usize,
    ) -> Option<Vec<u8>> {
        if !self.spend(ctx) {
            return None;
        }
        let timestamp = ctx.wall_now();
        let mut frame = frame::sealed_prefix(&Address::from_transport(to));
        let header = frame
            .get(1..frame.len().saturating_sub(1))
            .unwrap_or_default();
        let signature = reset::sign(&ctx.identity, header, unknown_index, timestamp).ok()?;
        body::write_session_reset(
            &mut frame,
            unknown_index,
            timestamp,
            ctx.public_key.as_bytes(),
            &signature,
        );
        (frame.len() <= received_len.saturating_mul(3)).then_some(frame)
    }

    /// Spends one reset from this second's budget, if any is left.
    fn spend(&mut self, ctx: &Context) -> bool {
        if ctx.now.saturating_duration_since(self.window.0) >= core::time::Duration::from_secs(1) {
            self.window = (ctx.now, 0);
        }
        if self.window.1 >= ctx.config.max_resets_per_second {
            return false;
        }
        self.window.1 += 1;
        true
    }
}

/// A reset notice, as it arrived: the peer says it has no session under `receiver_index`.
pub(super) struct ResetNotice<'a> {
    pub(super) header: &'a [u8],
    pub(super) receiver_index: u32,
    pub(super) timestamp: UnixMillis,
    pub(super) key: &'a [u8; 32],
    pub(super) signature: &'a [u8; 64],
}

impl SessionTable {
    /// Acts on a reset `notice`: drops our sessions it names, if the peer they are with signed
    /// it recently ([`TransportEvent::SessionClosed`] for each).
    pub(super) fn on_reset(&mut self, ctx: &mut Context, notice: &ResetNotice<'_>) {
        let Ok(key) = PublicKey::from_bytes(notice.key) else {
            ctx.stats.transport.dropped_crypto += 1;
            return;
        };
        if notice.timestamp.abs_diff(ctx.wall_now()) > ctx.config.max_clock_skew {
            ctx.stats.transport.dropped_stale += 1;
            return;
        }
        let verified = reset::verify(
            &key,
            notice.header,
            notice.receiver_index,
            notice.timestamp,
            notice.signature,
        );
        if verified.is_err() {
            ctx.stats.transport.dropped_crypto += 1;
            return;
        }
        let doomed: Vec<u32> = self
            .sessions
            .iter()
            .filter(|(_, entry)| entry.peer == key && entry.remote_index == notice.receiver_index)
            .map(|(index, _)| *index)
            .collect();
        for index in doomed {
            if let Some(peer) = self.remove(index) {
                ctx.push_event(Event::Transport(TransportEvent::SessionClosed { peer }));
            }
        }
    }
}
