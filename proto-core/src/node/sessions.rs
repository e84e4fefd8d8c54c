//! The table of Noise sessions and of handshakes in flight.
//!
//! Sessions are keyed by our local index (the `receiver_index` peers put in session frames);
//! `by_peer` names the session used to send to each peer. A session we answered a handshake for
//! is not used for sending until the peer's first frame on it proves the peer has the keys.
//! Every map is a `BTreeMap`: iteration order is part of the node's determinism.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::crypto::handshake::InitiatorHandshake;
use crate::crypto::session::Session;
use crate::identity::{NodeId, PublicKey};
use crate::time::Instant;
use crate::transport::TransportAddr;

/// One session with a peer.
pub(crate) struct SessionEntry {
    pub(crate) peer: PublicKey,
    /// The index the peer gave: what we put in frames we send on this session.
    pub(crate) remote_index: u32,
    pub(crate) session: Session,
    pub(crate) last_used: Instant,
    /// True once we know the peer holds the keys (we initiated, or a frame from it opened).
    pub(crate) confirmed: bool,
    /// Where our side of the handshake went: a session frame from there proves that address
    /// receives (see `node/paths/`).
    pub(crate) handshake_path: TransportAddr,
    /// The id of the next message sent on this session in fragments (`node/large_messages.rs`).
    pub(crate) next_fragment_id: u32,
    /// The address the last frame on this session came from: where keepalives go.
    pub(crate) last_from: TransportAddr,
    /// When the routing table last heard of `last_from` from this session.
    pub(crate) heard_noted: Option<Instant>,
    /// The address we last told the peer we see it at (`node/transport/path_probes.rs`).
    pub(crate) told_address: Option<TransportAddr>,
    /// The last few addresses we told the peer, and when: a peer heard from two addresses in
    /// turn (two punched paths, say) is told of an address again at most once per
    /// `OBSERVED_INTERVAL`, or each Observed and its Echo would start the next one. A new
    /// address (a NAT rebinding) is told at once. At most `MAX_TOLD` entries.
    pub(crate) told_recently: Vec<(TransportAddr, Instant)>,
    /// The challenge of that observation and where it went: its echo from there proves the
    /// address receives.
    pub(crate) challenge: Option<([u8; 8], TransportAddr)>,
    /// When we last sealed a frame on this session.
    pub(crate) last_sent: Instant,
    /// When the session last carried anything but path messages, either way: it is in use
    /// (and kept alive) for `keepalive_while_used` after.
    pub(crate) last_activity: Instant,
    /// For a session the peer started: the ephemeral key of its handshake message and our
    /// answer, so that a duplicate of that message (the network's, or a replay) gets the
    /// same answer instead of replacing the session.
    pub(crate) answered: Option<([u8; 32], Vec<u8>)>,
    /// The largest datagram a probe proved crosses the path to this address
    /// (`node/transport/path_probes.rs`); elsewhere `max_datagram_size`.
    pub(crate) path_size: Option<(TransportAddr, usize)>,
    /// The path MTU probe in flight: its id, the address and size it tries, and when it is
    /// given up.
    pub(crate) probe: Option<PathProbe>,
}

/// A path MTU probe waiting for its acknowledgement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PathProbe {
    pub(crate) id: u32,
    pub(crate) to: TransportAddr,
    pub(crate) size: usize,
    pub(crate) deadline: Instant,
}

/// A handshake we started.
pub(crate) struct PendingHandshake {
    pub(crate) peer: PublicKey,
    pub(crate) handshake: InitiatorHandshake,
    /// Where the handshake went, and the exact bytes, to send again on timeout.
    pub(crate) to: TransportAddr,
    /// Whether `to` is only where the peer was observed (retries stay under the
    /// amplification limit, as the first attempt did).
    pub(crate) observed: bool,
    pub(crate) frame: Vec<u8>,
    pub(crate) next_retry: Instant,
    pub(crate) attempts_left: u8,
}

#[derive(Default)]
pub(crate) struct SessionTable {
    pub(crate) sessions: BTreeMap<u32, SessionEntry>,
    pub(crate) by_peer: BTreeMap<NodeId, u32>,
    pub(crate) pending: BTreeMap<u32, PendingHandshake>,
    pub(crate) pending_by_peer: BTreeMap<NodeId, u32>,
}

impl SessionTable {
    /// Whether `index` is free for a new session or handshake.
    pub(crate) fn index_free(&self, index: u32) -> bool {
        !self.sessions.contains_key(&index) && !self.pending.contains_key(&index)
    }

    /// The session to send to `peer` on, if one is confirmed.
    pub(crate) fn sending_session(&mut self, peer: &NodeId) -> Option<(u32, &mut SessionEntry)> {
        let index = *self.by_peer.get(peer)?;
        let entry = self.sessions.get_mut(&index)?;
        entry.confirmed.then_some((index, entry))
    }

    /// Whether `peer` has started a session with us that it has not used yet: its handshake is
    /// under way, so starting ours too would only make the two race.
    pub(crate) fn awaiting_peer(&self, peer: &NodeId) -> bool {
        self.sessions
            .values()
            .any(|entry| !entry.confirmed && entry.peer.node_id() == *peer)
    }

    /// Makes the newest session `peer` started with us (and has not used yet) the one to send
    /// on, as if its first frame had come. Noise lets the responder send once it has answered;
    /// if our answer was lost the peer cannot open what we send and starts again. False if
    /// there is no such session.
    pub(crate) fn confirm_answered(&mut self, peer: &NodeId) -> bool {
        let newest = self
            .sessions
            .iter()
            .filter(|(_, entry)| !entry.confirmed && entry.peer.node_id() == *peer)
            .max_by_key(|(_, entry)| entry.last_used)
            .map(|(index, _)| *index);
        newest.is_some_and(|index| self.confirm(index))
    }

    /// The session a handshake message with ephemeral key `ephemeral` made, if any.
    pub(crate) fn answered_by(&self, ephemeral: &[u8]) -> Option<&SessionEntry> {
        self.sessions.values().find(|entry| {
            entry
                .answered
                .as_ref()
                .is_some_and(|(key, _)| key.as_slice() == ephemeral)
        })
    }

    /// Whether a handshake with `peer` is in flight.
    pub(crate) fn handshake_pending(&self, peer: &NodeId) -> bool {
        self.pending_by_peer.contains_key(peer)
    }

    /// Stores a session, making it the one to send on if it is confirmed. Returns the peers whose
    /// sessions were evicted to stay within `max_sessions`.
    pub(crate) fn insert(
        &mut self,
        index: u32,
        entry: SessionEntry,
        max_sessions: usize,
    ) -> Vec<NodeId> {
        if !entry.confirmed {
            // A peer has at most one unconfirmed session: a new handshake from it (a retry, or
            // a replay of its first message) replaces the previous one, so replays cannot fill
            // the table.
            let superseded: Vec<u32> = self
                .sessions
                .iter()
                .filter(|(_, other)| !other.confirmed && other.peer == entry.peer)
                .map(|(index, _)| *index)
                .collect();
            for index in superseded {
                self.sessions.remove(&index);
            }
        }
        let mut evicted = Vec::new();
        while self.sessions.len() >= max_sessions.max(1) {
            let Some(oldest) = self.least_recently_used() else {
                break;
            };
            if let Some(peer) = self.remove(oldest) {
                evicted.push(peer);
            }
        }
        if entry.confirmed {
            self.by_peer.insert(entry.peer.node_id(), index);
        }
        self.sessions.insert(index, entry);
        evicted
    }

    /// Marks a session confirmed and makes it the one to send on. Returns true if it was not
    /// confirmed before.
    pub(crate) fn confirm(&mut self, index: u32) -> bool {
        let Some(entry) = self.sessions.get_mut(&index) else {
            return false;
        };
        let newly = !entry.confirmed;
        entry.confirmed = true;
        self.by_peer.insert(entry.peer.node_id(), index);
        newly
    }

    /// Removes a session. Returns the peer if that session was the one used to send to it.
    pub(crate) fn remove(&mut self, index: u32) -> Option<NodeId> {
        let entry = self.sessions.remove(&index)?;
        let peer = entry.peer.node_id();
        if self.by_peer.get(&peer) == Some(&index) {
            self.by_peer.remove(&peer);
            return Some(peer);
        }
        None
    }

    /// The session to evict: unconfirmed ones first (nobody may ever use them), then the least
    /// recently used.
    fn least_recently_used(&self) -> Option<u32> {
        self.sessions
            .iter()
            .min_by_key(|(_, entry)| (entry.confirmed, entry.last_used))
            .map(|(index, _)| *index)
    }

    /// Stores a handshake we started.
    pub(crate) fn insert_pending(&mut self, index: u32, pending: PendingHandshake) {
        self.pending_by_peer.insert(pending.peer.node_id(), index);
        self.pending.insert(index, pending);
    }

    /// Takes a handshake we started out of the table.
    pub(crate) fn take_pending(&mut self, index: u32) -> Option<PendingHandshake> {
        let pending = self.pending.remove(&index)?;
        let peer = pending.peer.node_id();
        if self.pending_by_peer.get(&peer) == Some(&index) {
            self.pending_by_peer.remove(&peer);
        }
        Some(pending)
    }

    /// The earliest handshake retry due.
    pub(crate) fn next_retry(&self) -> Option<Instant> {
        self.pending
            .values()
            .map(|pending| pending.next_retry)
            .min()
    }

    /// The earliest moment a session becomes idle for `idle`.
    pub(crate) fn next_idle(&self, idle: core::time::Duration) -> Option<Instant> {
        self.sessions
            .values()
            .map(|entry| entry.last_used + idle)
            .min()
    }

    /// The frame of the handshake pending to `to` whose transmit ends with `tag` (see
    /// `lookups::transmit_tag`), to send again.
    pub(crate) fn pending_frame_tagged(
        &self,
        to: TransportAddr,
        tag: &[u8; 16],
    ) -> Option<Vec<u8>> {
        self.pending
            .values()
            .find(|pending| {
                pending.to == to && super::lookups::transmit_tag(&pending.frame) == *tag
            })
            .map(|pending| pending.frame.clone())
    }
}
