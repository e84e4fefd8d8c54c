//! The transport's side of Noise handshakes: starting ours, a peer's init as it arrives
//! (checked, taken, answered), and the response to ours (the session confirmed).

use alloc::vec::Vec;

use super::Transport;
use crate::address::Address;
use crate::crypto::body;
use crate::crypto::handshake::{self, HandshakeTime, InitiatorHandshake, SessionKeys};
use crate::event::Event;
use crate::event::TransportEvent;
use crate::frame;
use crate::identity::NodeId;
use crate::identity::PublicIdentity;
use crate::identity::PublicKey;
use crate::node::context::Context;
use crate::node::session_timers::DueHandshake;
use crate::node::sessions::PendingHandshake;
use crate::replay::ReplayError;
use crate::transport::TransportAddr;

/// A handshake init taken as a new session the peer starts: what
/// [`Transport::answer_handshake_init`] keeps and answers with.
pub(in crate::node) struct AcceptedInit {
    peer: PublicKey,
    /// Our index for the session.
    index: u32,
    keys: SessionKeys,
    /// Noise message 2.
    reply: Vec<u8>,
}

impl AcceptedInit {
    /// The peer that starts the session.
    pub(in crate::node) const fn peer(&self) -> PublicKey {
        self.peer
    }
}

impl Transport {
    /// A handshake init from `from`: checks it and takes its handshake time, answering a
    /// duplicate with the same answer. What to answer with, if it is a new session the peer
    /// starts; the node notes where it heard the peer, then hands it to
    /// [`answer_handshake_init`](Self::answer_handshake_init).
    pub(in crate::node) fn accept_handshake_init(
        &mut self,
        ctx: &mut Context,
        from: TransportAddr,
        message: &[u8],
    ) -> Option<AcceptedInit> {
        if !ctx.config.sessions {
            ctx.stats.transport.dropped_unsupported += 1;
            return None;
        }
        // The same handshake message again (the network duplicated it, or our answer was lost
        // and the peer sent it again): the same answer, to where it came from the first time;
        // the session it made stays. From anywhere else it is a replay.
        if let Some(entry) = message
            .get(..32)
            .and_then(|key| self.sessions.answered_by(key))
        {
            let answer = entry
                .answered
                .as_ref()
                .filter(|_| entry.handshake_path == from)
                .map(|(_, answer)| answer.clone());
            match answer {
                Some(answer) => {
                    self.queue_transmit(ctx, from, answer);
                }
                None => ctx.stats.transport.dropped_replay += 1,
            }
            return None;
        }
        let Ok(handshake::Answered {
            initiator: peer,
            timestamp,
            message: reply,
            keys,
        }) = handshake::respond(&mut ctx.rng, &ctx.identity, message)
        else {
            ctx.stats.transport.dropped_crypto += 1;
            return None;
        };
        // A message 1 the peer sent before (captured and replayed, from anywhere) is not newer
        // than the last one taken from it: it must not replace the session that one made.
        let wall = ctx.wall_now();
        self.handshake_times.prune(wall);
        match self.handshake_times.take(peer.node_id(), timestamp, wall) {
            Ok(()) => {}
            Err(ReplayError::Replay) => {
                ctx.stats.transport.dropped_replay += 1;
                return None;
            }
            Err(_) => {
                ctx.stats.transport.dropped_stale += 1;
                return None;
            }
        }
        let index = self.fresh_index(ctx)?;
        // A peer that starts a handshake may have lost its side of our session (it restarted):
        // stop sending on that session; frames go sealed until the new one is confirmed.
        self.sessions.by_peer.remove(&peer.node_id());
        Some(AcceptedInit {
            peer,
            index,
            keys,
            reply,
        })
    }

    /// Keeps the session a handshake init started (`accepted`, from
    /// [`accept_handshake_init`](Self::accept_handshake_init)) and answers it, remembering
    /// the answer for a duplicate.
    pub(in crate::node) fn answer_handshake_init(
        &mut self,
        ctx: &mut Context,
        from: TransportAddr,
        sender_index: u32,
        message: &[u8],
        accepted: AcceptedInit,
    ) {
        let AcceptedInit {
            peer,
            index,
            keys,
            reply,
        } = accepted;
        self.store_session(ctx, index, peer, sender_index, keys, (false, from));
        let mut frame = frame::sealed_prefix(&Address::from_transport(from));
        body::write_handshake_response(&mut frame, index, sender_index, &reply);
        if let (Some(entry), Some(ephemeral)) = (
            self.sessions.sessions.get_mut(&index),
            message
                .get(..32)
                .and_then(|key| <[u8; 32]>::try_from(key).ok()),
        ) {
            entry.answered = Some((ephemeral, frame.clone()));
        }
        self.queue_transmit(ctx, from, frame);
    }

    /// A handshake response from `from`: finishes the handshake we started, keeps the
    /// session and says so. The peer whose session is now confirmed, for the node to send
    /// what waited for it.
    pub(in crate::node) fn finish_handshake(
        &mut self,
        ctx: &mut Context,
        from: TransportAddr,
        sender_index: u32,
        receiver_index: u32,
        message: &[u8],
    ) -> Option<PublicKey> {
        let Some(pending) = self.sessions.take_pending(receiver_index) else {
            ctx.stats.transport.dropped_unknown_session += 1;
            return None;
        };
        let peer = pending.peer;
        let Ok(keys) = pending.handshake.finish(message) else {
            ctx.stats.transport.dropped_crypto += 1;
            return None;
        };
        // Only a peer that received our handshake at that address could answer it. A punch
        // sends the handshake to several candidates: the one that answers is the path.
        let path = if pending.to == from || self.punching.is_candidate(&peer.node_id(), from) {
            self.paths.validate(from, ctx.now);
            from
        } else {
            pending.to
        };
        self.store_session(ctx, receiver_index, peer, sender_index, keys, (true, path));
        ctx.push_event(Event::Transport(TransportEvent::SessionEstablished {
            peer: peer.node_id(),
        }));
        self.tell_observed(ctx, receiver_index, from);
        self.on_direct_session(ctx, &peer.node_id());
        Some(peer)
    }

    /// Starts a Noise IK handshake with `to`, unless one is in flight or the table is full,
    /// sent to `path` (the way to the peer the node chose for its address `transport`).
    pub(in crate::node) fn start_handshake(
        &mut self,
        ctx: &mut Context,
        to: &PublicIdentity,
        transport: TransportAddr,
        path: TransportAddr,
    ) {
        let peer = to.key.node_id();
        if self.sessions.handshake_pending(&peer)
            || self.sessions.awaiting_peer(&peer)
            || self.sessions.pending.len() >= ctx.config.max_pending_handshakes
            || ctx.config.handshake_attempts == 0
        {
            return;
        }
        let Some(index) = self.fresh_index(ctx) else {
            return;
        };
        let stamp = HandshakeTime::after(self.last_handshake_stamp, ctx.wall_now());
        let Ok((handshake, message)) =
            InitiatorHandshake::start(&mut ctx.rng, &ctx.identity, &to.key, stamp)
        else {
            return;
        };
        self.last_handshake_stamp = stamp;
        let mut frame = frame::sealed_prefix(&to.location.without_callsign());
        body::write_handshake_init(&mut frame, index, &message);
        // To where the peer was last heard from, if that is not the address it signed: the
        // way through its NAT.
        let observed = path != transport;
        if !self.queue_on_path(ctx, &peer, path, frame.clone(), observed) {
            return;
        }
        let pending = PendingHandshake {
            peer: to.key,
            handshake,
            to: path,
            observed,
            frame,
            next_retry: ctx.now + ctx.config.handshake_timeout,
            attempts_left: ctx.config.handshake_attempts.saturating_sub(1),
        };
        self.sessions.insert_pending(index, pending);
    }

    /// The adapter could not deliver to `to`: handshakes waiting there are dropped, since
    /// they would only delay a new one on the peer's next address.
    pub(in crate::node) fn forget_handshakes_to(&mut self, to: TransportAddr) {
        let stale: Vec<u32> = self
            .sessions
            .pending
            .iter()
            .filter(|(_, pending)| pending.to == to)
            .map(|(index, _)| *index)
            .collect();
        for index in stale {
            self.sessions.take_pending(index);
        }
    }

    /// Sends again the handshakes due a retry, within the same limits as the first attempt (a
    /// retry is no less a reply to whatever made us start the handshake). The peers whose
    /// handshakes ran out of attempts, in order.
    pub(in crate::node) fn retry_handshakes(&mut self, ctx: &mut Context) -> Vec<NodeId> {
        let mut failed = Vec::new();
        for due in self.sessions.due_handshakes(ctx) {
            match due {
                DueHandshake::Failed(peer) => failed.push(peer),
                DueHandshake::Retry(retry) => {
                    self.queue_on_path(ctx, &retry.peer, retry.to, retry.frame, retry.observed);
                }
            }
        }
        failed
    }
}
