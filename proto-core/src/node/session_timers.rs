//! What the session table does when time passes: handshakes retried or given up, sessions
//! gone idle. The table says what happened; the node sends and surfaces it.

use alloc::vec::Vec;

use super::context::Context;
use super::sessions::SessionTable;
use crate::event::Event;
use crate::event::TransportEvent;
use crate::identity::NodeId;
use crate::transport::TransportAddr;

/// A handshake to send again: to `peer` at `to`, under the amplification limit if `observed`.
pub(super) struct Retry {
    pub(super) peer: NodeId,
    pub(super) to: TransportAddr,
    pub(super) observed: bool,
    pub(super) frame: Vec<u8>,
}

impl SessionTable {
    /// Handshakes due at `ctx.now`: each is sent again, or given up when out of attempts.
    ///
    /// Failures and retries come in index order, interleaved as they were found: the caller
    /// handles them in that order, which is part of the node's determinism.
    pub(super) fn due_handshakes(&mut self, ctx: &mut Context) -> Vec<DueHandshake> {
        let now = ctx.now;
        let due: Vec<u32> = self
            .pending
            .iter()
            .filter(|(_, pending)| pending.next_retry <= now)
            .map(|(index, _)| *index)
            .collect();
        let mut found = Vec::new();
        for index in due {
            let Some(pending) = self.pending.get_mut(&index) else {
                continue;
            };
            if pending.attempts_left == 0 {
                if let Some(failed) = self.take_pending(index) {
                    found.push(DueHandshake::Failed(failed.peer.node_id()));
                }
                continue;
            }
            pending.attempts_left -= 1;
            pending.next_retry = now + ctx.config.handshake_timeout;
            found.push(DueHandshake::Retry(Retry {
                peer: pending.peer.node_id(),
                to: pending.to,
                observed: pending.observed,
                frame: pending.frame.clone(),
            }));
        }
        found
    }

    /// Drops the sessions unused for `Config::session_idle_timeout` ([`TransportEvent::SessionClosed`]
    /// for each).
    pub(super) fn drop_idle(&mut self, ctx: &mut Context) {
        let now = ctx.now;
        let idle = ctx.config.session_idle_timeout;
        let expired: Vec<u32> = self
            .sessions
            .iter()
            .filter(|(_, entry)| entry.last_used + idle <= now)
            .map(|(index, _)| *index)
            .collect();
        for index in expired {
            if let Some(peer) = self.remove(index) {
                ctx.push_event(Event::Transport(TransportEvent::SessionClosed { peer }));
            }
        }
    }
}

/// One handshake due now.
pub(super) enum DueHandshake {
    /// Send it again.
    Retry(Retry),
    /// It ran out of attempts: the caller says [`TransportEvent::HandshakeFailed`], and what waits for
    /// the session fails.
    Failed(NodeId),
}
