//! Session plaintexts larger than one datagram: cut into fragments on the way out, put back
//! together on the way in, and messages that need a session for that held until it is up.
//!
//! **Why.** Many paths carry 1 280–1 500-byte packets and drop IP fragments, so a datagram
//! larger than [`Config::max_datagram_size`](crate::Config::max_datagram_size) (1 200 bytes by
//! default) may never arrive. A session plaintext that does not fit is cut into fragments
//! (`crate::fragment`, `docs/PROTOCOL.md` section 20), each sealed in a session frame of its
//! own, so every fragment is authenticated before it is stored and nothing is amplified: the
//! receiver answers a fragmented message once, as it would the whole one.
//!
//! A message too large for one datagram with no session yet is held (at most
//! `max_waiting_messages`, the application's own bytes) while the handshake runs, and sent in
//! fragments once the session is confirmed; if the handshake fails the application hears
//! [`Event::Unreachable`] for each.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;

use super::Node;
use crate::address::Address;
use crate::crypto::body::SESSION_HEADER_LEN;
use crate::crypto::session::SESSION_OVERHEAD;
use serde_json::Value;

use crate::error::SendError;
use crate::event::{Event, MessageId};
use crate::fragment::window::{Acked, TimedOut};
use crate::fragment::{self, Fragment, SendWindow};
use crate::frame;
use crate::identity::{NodeId, PublicIdentity, PublicKey};
use crate::path_message::PathMessage;
use crate::time::Instant;
use crate::transport::{Protocol, TransportAddr};

/// A plaintext going out in fragments, sealed one at a time as the transmit queue drains and
/// as the receiver's acknowledgements open the window (`crate::fragment::window`), so that a
/// message of thousands of fragments never overflows the queue (`max_queued_transmits`) or
/// the receiver, and lost pieces are sent again.
pub(super) struct FragmentSend {
    key: PublicKey,
    /// The session frames' `r || header || NUL`, built once for every piece.
    prefix: Vec<u8>,
    /// Plaintext bytes a fragment may take, fixed when the send starts: every piece of one
    /// message must be cut the same way, even if a probe raises the path's size meanwhile.
    room: usize,
    to: TransportAddr,
    /// Whether `to` is only an observed address (under the amplification limit).
    observed: bool,
    plaintext: Vec<u8>,
    message_id: u32,
    window: SendWindow,
}

/// A message waiting for the session with its recipient.
pub(super) struct HeldForSession {
    id: MessageId,
    from: String,
    to: PublicIdentity,
    json: Vec<u8>,
    reference: Option<[u8; 32]>,
}

/// Messages waiting for sessions, per peer, oldest first, at most `max` in all.
#[derive(Default)]
pub(super) struct AwaitingSession {
    by_peer: BTreeMap<NodeId, VecDeque<HeldForSession>>,
    len: usize,
}

impl AwaitingSession {
    fn hold(&mut self, peer: NodeId, message: HeldForSession, max: usize) -> bool {
        if self.len >= max {
            return false;
        }
        self.by_peer.entry(peer).or_default().push_back(message);
        self.len += 1;
        true
    }

    fn take(&mut self, peer: &NodeId) -> VecDeque<HeldForSession> {
        let taken = self.by_peer.remove(peer).unwrap_or_default();
        self.len = self.len.saturating_sub(taken.len());
        taken
    }
}

impl Node {
    /// The largest datagram this node sends to `to` on a session.
    pub(super) fn datagram_limit(&self, to: TransportAddr) -> usize {
        match to.protocol {
            Protocol::Udp => self
                .ctx
                .config
                .max_datagram_size
                .min(self.ctx.config.max_frame_len),
            Protocol::Tcp => self.ctx.config.max_frame_len,
        }
    }

    /// What a session frame adds to its plaintext, for a frame that begins with `prefix`
    /// (`r || header || NUL`): the prefix, the session body header and the AEAD tag.
    pub(super) fn session_frame_overhead(prefix: &[u8]) -> usize {
        prefix.len() + SESSION_HEADER_LEN + SESSION_OVERHEAD
    }

    /// `plaintext` sealed on the confirmed session with `key` for `recipient`, as the session
    /// frame to send to `to` if it fits in a datagram. A larger one goes in fragments, sealed
    /// as the transmit queue drains ([`send_fragments`](Self::send_fragments)): then the
    /// result is empty. `None` if there is no session, the plaintext cannot be cut small
    /// enough, or too many fragmented sends are under way.
    pub(super) fn seal_session_datagrams(
        &mut self,
        key: &PublicKey,
        recipient: &Address,
        plaintext: &[u8],
        to: TransportAddr,
        observed: bool,
    ) -> Option<Vec<Vec<u8>>> {
        let prefix = frame::sealed_prefix(recipient);
        // A probed path may carry more than `max_datagram_size` (`node/path_control.rs`).
        let room = self
            .session_datagram_limit(key, to)
            .saturating_sub(Self::session_frame_overhead(&prefix));
        if plaintext.len() <= room {
            return self
                .seal_session_after(key, &prefix, plaintext)
                .map(|frame| alloc::vec![frame]);
        }
        let count = fragment::fragment_count(plaintext.len(), room).ok()?;
        if !self.fragment_sends_admit(plaintext.len()) {
            return None;
        }
        let (_, entry) = self.transport.sessions.sending_session(&key.node_id())?;
        let message_id = entry.next_fragment_id;
        entry.next_fragment_id = entry.next_fragment_id.wrapping_add(1);
        self.transport.fragment_sends.push_back(FragmentSend {
            key: *key,
            prefix,
            room,
            to,
            observed,
            plaintext: plaintext.to_vec(),
            message_id,
            window: SendWindow::new(count, room),
        });
        self.send_fragments();
        Some(Vec::new())
    }

    /// Seals and queues the fragments the sends under way may send now (pieces to send
    /// again, then new ones within each send's window) while the transmit queue is at most
    /// half full, oldest send first. A send whose session ended meanwhile is dropped.
    pub(super) fn send_fragments(&mut self) {
        let now = self.ctx.now;
        let mut at = 0;
        while at < self.transport.fragment_sends.len() && self.ctx.out.is_half_empty() {
            let Some(mut send) = self.transport.fragment_sends.remove(at) else {
                return;
            };
            let Ok(pieces) = fragment::split(&send.plaintext, send.message_id, send.room) else {
                continue;
            };
            let mut piece = Vec::with_capacity(send.room);
            let mut session_gone = false;
            while self.ctx.out.is_half_empty() {
                let Some(index) = send.window.next_to_send(now) else {
                    break;
                };
                let Some(fragment) = pieces.fragment(index) else {
                    break;
                };
                piece.clear();
                fragment.encode_into(&mut piece);
                let Some(frame) = self.seal_session_after(&send.key, &send.prefix, &piece) else {
                    // The session is gone: the rest could not be opened anyway.
                    session_gone = true;
                    break;
                };
                if self.queue_on_path(&send.key.node_id(), send.to, frame, send.observed) {
                    self.ctx.stats.fragments_sent += 1;
                }
            }
            if session_gone {
                self.fragment_sends_ended();
            } else {
                self.transport.fragment_sends.insert(at, send);
                at += 1;
            }
        }
    }

    /// The receiver of fragmented message `message_id` (our session peer `key`) says what it
    /// holds: the send ends when it holds everything, else the window moves on.
    pub(super) fn on_fragment_ack(
        &mut self,
        key: &PublicKey,
        message_id: u32,
        (next, held, highest): (u16, u64, u16),
    ) {
        let now = self.ctx.now;
        let Some(at) = self
            .transport
            .fragment_sends
            .iter()
            .position(|send| send.key == *key && send.message_id == message_id)
        else {
            return;
        };
        let acked = self
            .transport
            .fragment_sends
            .get_mut(at)
            .map(|send| send.window.on_ack(now, next, held, highest));
        match acked {
            Some(Acked::Complete) => {
                self.transport.fragment_sends.remove(at);
                self.fragment_sends_ended();
            }
            Some(Acked::Progress) => self.send_fragments(),
            Some(Acked::Nothing) | None => {}
        }
    }

    /// The retransmission timers due now: pieces unacknowledged for a timeout go again; a
    /// send whose receiver stayed silent for `MAX_TIMEOUTS` in a row is given up.
    pub(super) fn retransmit_fragments(&mut self) {
        let now = self.ctx.now;

        let before = self.transport.fragment_sends.len();
        self.transport
            .fragment_sends
            .retain_mut(|send| send.window.on_timeout(now) != TimedOut::GiveUp);
        self.ctx.stats.fragment_sends_given_up +=
            (before - self.transport.fragment_sends.len()) as u64;
        if self.transport.fragment_sends.len() < before {
            self.fragment_sends_ended();
        }
        self.send_fragments();
    }

    /// Whether one more fragmented send of `len` bytes fits the bounds: fewer than
    /// `max_waiting_messages` sends under way, holding at most `max_fragment_send_memory`
    /// bytes with it.
    pub(super) fn fragment_sends_admit(&self, len: usize) -> bool {
        self.transport.fragment_sends.len() < self.ctx.config.max_waiting_messages
            && self.fragment_send_bytes().saturating_add(len)
                <= self.ctx.config.max_fragment_send_memory
    }

    /// Bytes the fragmented sends under way hold (at most `max_waiting_messages` of them to
    /// add up).
    fn fragment_send_bytes(&self) -> usize {
        self.transport
            .fragment_sends
            .iter()
            .map(|send| send.plaintext.len())
            .sum()
    }

    /// Refuses a message of `json` bytes that would go in fragments while the fragmented
    /// sends under way leave no room for it: the sender gets `value` back, as for a full
    /// transmit queue, and [`Event::Writable`] when they have drained to half their memory
    /// ([`fragment_room_returned`](Self::fragment_room_returned)).
    pub(super) fn refuse_if_fragments_full(
        &mut self,
        json: &[u8],
        value: Value,
    ) -> Result<Value, SendError> {
        if json.len() <= self.ctx.config.max_datagram_size || self.fragment_sends_admit(json.len())
        {
            return Ok(value);
        }
        self.transport.fragments_blocked = true;
        self.ctx.stats.refused_fragment_memory += 1;
        Err(SendError::Blocked(value))
    }

    /// After fragmented sends ended (delivered, given up, or their session gone): tells a
    /// sender refused by [`refuse_if_fragments_full`](Self::refuse_if_fragments_full) that it
    /// may try again, once the sends under way are down to half their bounds.
    fn fragment_sends_ended(&mut self) {
        let room = self.transport.fragment_sends.len() <= self.ctx.config.max_waiting_messages / 2
            && self.fragment_send_bytes() <= self.ctx.config.max_fragment_send_memory / 2;
        if self.transport.fragments_blocked && room {
            self.transport.fragments_blocked = false;
            self.ctx.push_event(Event::Writable);
        }
    }

    /// When the next fragment retransmission timer fires.
    pub(super) fn next_fragment_retransmit(&self) -> Option<Instant> {
        self.transport
            .fragment_sends
            .iter()
            .filter_map(|send| send.window.deadline())
            .min()
    }

    /// Whether a message of `json` bytes for `to` must wait for a session: it is sent directly,
    /// there is no session yet, and its sealed frame would not fit in one datagram (over UDP)
    /// or one frame (over TCP).
    pub(super) fn needs_session(
        &self,
        to: &PublicIdentity,
        path: TransportAddr,
        sealed_len: usize,
    ) -> bool {
        self.ctx.config.sessions
            && sealed_len > self.datagram_limit(path)
            && !self.has_session(&to.key.node_id())
    }

    /// Holds message `id` until the session with `to` is up, starting the handshake.
    pub(super) fn hold_for_session(
        &mut self,
        id: MessageId,
        from: &str,
        to: &PublicIdentity,
        json: &[u8],
        reference: Option<[u8; 32]>,
    ) -> Result<(), SendError> {
        if json.len() > self.ctx.config.max_message_len {
            return Err(SendError::TooLarge {
                len: json.len(),
                max: self.ctx.config.max_message_len,
            });
        }
        let peer = to.key.node_id();
        // The peer started a session with us and waits for our answer on it (a reply to its
        // query, say): waiting for its first frame could be forever, so use the session now.
        if self.transport.sessions.confirm_answered(&peer) {
            return self
                .transmit_message(id, from, to, &[], json, reference)
                .map(|_| ());
        }
        if let Some(transport) = to.location.transport() {
            self.start_handshake(to, transport);
        }
        if !self.transport.sessions.handshake_pending(&peer) {
            // No handshake could start (the tables are full, or handshakes are off): nothing
            // would ever send this message.
            return Err(SendError::TooLarge {
                len: json.len(),
                max: self.ctx.config.max_datagram_size,
            });
        }
        let held = HeldForSession {
            id,
            from: from.into(),
            to: to.clone(),
            json: json.to_vec(),
            reference,
        };
        if !self
            .transport
            .awaiting_session
            .hold(peer, held, self.ctx.config.max_waiting_messages)
        {
            return Err(SendError::Blocked(Value::Null));
        }
        self.ctx.stats.held_for_session += 1;
        Ok(())
    }

    /// The session with `peer` is confirmed: send what waited for it.
    pub(super) fn send_held_for_session(&mut self, peer: &NodeId) {
        for held in self.transport.awaiting_session.take(peer) {
            // A failure now is the same as at send time (queue full, too large): counted
            // there, and the application holds the id.
            let _ = self.transmit_message(
                held.id,
                &held.from,
                &held.to,
                &[],
                &held.json,
                held.reference,
            );
        }
    }

    /// The handshake with `peer` failed: what waited for it will not be sent.
    pub(super) fn fail_held_for_session(&mut self, peer: NodeId) {
        for held in self.transport.awaiting_session.take(&peer) {
            self.report_unreachable(peer, Some(held.id));
        }
    }

    /// A fragment that opened on session `index` with `peer`, straight from `from`: stored, and
    /// once its message is whole, handled as that session plaintext. Acknowledged (what the
    /// message holds) on every fourth piece, the last piece, a piece that fills a hole, a
    /// duplicate, and completion.
    pub(super) fn on_fragment(
        &mut self,
        index: u32,
        peer: PublicKey,
        from: TransportAddr,
        plaintext: &[u8],
    ) -> Option<Vec<u8>> {
        let Ok(piece) = Fragment::decode(plaintext) else {
            self.ctx.stats.fragments_dropped += 1;
            return None;
        };
        let key = (index, piece.message_id());
        let duplicates = self.transport.reassembly.stats().duplicates;
        let inserted = self.transport.reassembly.insert(self.ctx.now, key, &piece);
        let progress = self.transport.reassembly.progress(&key);
        // A piece below the highest held fills a hole: say so at once, the sender is
        // repairing.
        let fills_hole = progress.is_some_and(|(_, _, highest)| piece.index() < highest);
        let acknowledge = piece.index() % 4 == 3
            || piece.index().saturating_add(1) == piece.count()
            || fills_hole
            || self.transport.reassembly.stats().duplicates != duplicates
            || matches!(inserted, Ok(Some(_)));
        if acknowledge {
            if let Some((next, held, highest)) = progress {
                let ack = PathMessage::FragmentAck {
                    message_id: piece.message_id(),
                    next,
                    held,
                    highest,
                };
                self.send_path_message(&peer, from, &ack);
            }
        }
        match inserted {
            Ok(Some(message)) if !fragment::is_fragment(&message) => {
                self.ctx.stats.fragmented_received += 1;
                Some(message)
            }
            Ok(Some(_)) | Err(_) => {
                // A fragment inside a fragment would only recurse.
                self.ctx.stats.fragments_dropped += 1;
                None
            }
            Ok(None) => None,
        }
    }
}
