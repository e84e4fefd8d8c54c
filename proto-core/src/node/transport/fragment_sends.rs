//! The transport's large messages: how much fits in one datagram to a peer, messages cut into
//! fragments and sent in windows as the transmit queue drains, their acknowledgements and
//! retransmits, the bounds on what is under way, and fragments arriving to be put back
//! together.

use super::Transport;
use crate::address::Address;
use crate::crypto::body::SESSION_HEADER_LEN;
use crate::crypto::session::SESSION_OVERHEAD;
use crate::error::SendError;
use crate::event::Event;
use crate::event::TransportEvent;
use crate::fragment::window::{Acked, TimedOut};
use crate::fragment::{self, Fragment, SendWindow};
use crate::frame;
use crate::identity::{PublicIdentity, PublicKey};
use crate::node::context::Context;
use crate::node::large_messages::FragmentSend;
use crate::path_message::PathMessage;
use crate::time::Instant;
use crate::transport::{Protocol, TransportAddr};
use alloc::vec::Vec;
use serde_json::Value;

impl Transport {
    /// The largest datagram this node sends to `to` on a session.
    pub(in crate::node) fn datagram_limit(&self, ctx: &Context, to: TransportAddr) -> usize {
        match to.protocol {
            Protocol::Udp => ctx.config.max_datagram_size.min(ctx.config.max_frame_len),
            Protocol::Tcp => ctx.config.max_frame_len,
        }
    }

    /// What a session frame adds to its plaintext, for a frame that begins with `prefix`
    /// (`r || header || NUL`): the prefix, the session body header and the AEAD tag.
    pub(in crate::node) fn session_frame_overhead(prefix: &[u8]) -> usize {
        prefix.len() + SESSION_HEADER_LEN + SESSION_OVERHEAD
    }

    /// `plaintext` sealed on the confirmed session with `key` for `recipient`, as the session
    /// frame to send to `to` if it fits in a datagram. A larger one goes in fragments, sealed
    /// as the transmit queue drains ([`send_fragments`](Self::send_fragments)): then the
    /// result is empty. `None` if there is no session, the plaintext cannot be cut small
    /// enough, or too many fragmented sends are under way.
    pub(in crate::node) fn seal_session_datagrams(
        &mut self,
        ctx: &mut Context,
        key: &PublicKey,
        recipient: &Address,
        plaintext: &[u8],
        to: TransportAddr,
        observed: bool,
    ) -> Option<Vec<Vec<u8>>> {
        let prefix = frame::sealed_prefix(recipient);
        // A probed path may carry more than `max_datagram_size` (`node/transport/path_probes.rs`).
        let room = self
            .session_datagram_limit(ctx, key, to)
            .saturating_sub(Self::session_frame_overhead(&prefix));
        if plaintext.len() <= room {
            return self
                .seal_session_after(ctx, key, &prefix, plaintext)
                .map(|frame| alloc::vec![frame]);
        }
        let count = fragment::fragment_count(plaintext.len(), room).ok()?;
        if !self.fragment_sends_admit(ctx, plaintext.len()) {
            return None;
        }
        let (_, entry) = self.sessions.sending_session(&key.node_id())?;
        let message_id = entry.next_fragment_id;
        entry.next_fragment_id = entry.next_fragment_id.wrapping_add(1);
        self.fragment_sends.push_back(FragmentSend {
            key: *key,
            prefix,
            room,
            to,
            observed,
            plaintext: plaintext.to_vec(),
            message_id,
            window: SendWindow::new(count, room),
        });
        self.send_fragments(ctx);
        Some(Vec::new())
    }

    /// Seals and queues the fragments the sends under way may send now (pieces to send
    /// again, then new ones within each send's window) while the transmit queue is at most
    /// half full, oldest send first. A send whose session ended meanwhile is dropped.
    pub(in crate::node) fn send_fragments(&mut self, ctx: &mut Context) {
        let now = ctx.now;
        let mut at = 0;
        while at < self.fragment_sends.len() && ctx.out.is_half_empty() {
            let Some(mut send) = self.fragment_sends.remove(at) else {
                return;
            };
            let Ok(pieces) = fragment::split(&send.plaintext, send.message_id, send.room) else {
                continue;
            };
            let mut piece = Vec::with_capacity(send.room);
            let mut session_gone = false;
            while ctx.out.is_half_empty() {
                let Some(index) = send.window.next_to_send(now) else {
                    break;
                };
                let Some(fragment) = pieces.fragment(index) else {
                    break;
                };
                piece.clear();
                fragment.encode_into(&mut piece);
                let Some(frame) = self.seal_session_after(ctx, &send.key, &send.prefix, &piece)
                else {
                    // The session is gone: the rest could not be opened anyway.
                    session_gone = true;
                    break;
                };
                if self.queue_on_path(ctx, &send.key.node_id(), send.to, frame, send.observed) {
                    ctx.stats.transport.fragments_sent += 1;
                }
            }
            if session_gone {
                self.fragment_sends_ended(ctx);
            } else {
                self.fragment_sends.insert(at, send);
                at += 1;
            }
        }
    }

    /// The receiver of fragmented message `message_id` (our session peer `key`) says what it
    /// holds: the send ends when it holds everything, else the window moves on.
    pub(in crate::node) fn on_fragment_ack(
        &mut self,
        ctx: &mut Context,
        key: &PublicKey,
        message_id: u32,
        (next, held, highest): (u16, u64, u16),
    ) {
        let now = ctx.now;
        let Some(at) = self
            .fragment_sends
            .iter()
            .position(|send| send.key == *key && send.message_id == message_id)
        else {
            return;
        };
        let acked = self
            .fragment_sends
            .get_mut(at)
            .map(|send| send.window.on_ack(now, next, held, highest));
        match acked {
            Some(Acked::Complete) => {
                self.fragment_sends.remove(at);
                self.fragment_sends_ended(ctx);
            }
            Some(Acked::Progress) => self.send_fragments(ctx),
            Some(Acked::Nothing) | None => {}
        }
    }

    /// The retransmission timers due now: pieces unacknowledged for a timeout go again; a
    /// send whose receiver stayed silent for `MAX_TIMEOUTS` in a row is given up.
    pub(in crate::node) fn retransmit_fragments(&mut self, ctx: &mut Context) {
        let now = ctx.now;

        let before = self.fragment_sends.len();
        self.fragment_sends
            .retain_mut(|send| send.window.on_timeout(now) != TimedOut::GiveUp);
        ctx.stats.transport.fragment_sends_given_up += (before - self.fragment_sends.len()) as u64;
        if self.fragment_sends.len() < before {
            self.fragment_sends_ended(ctx);
        }
        self.send_fragments(ctx);
    }

    /// Whether one more fragmented send of `len` bytes fits the bounds: fewer than
    /// `max_waiting_messages` sends under way, holding at most `max_fragment_send_memory`
    /// bytes with it.
    pub(in crate::node) fn fragment_sends_admit(&self, ctx: &Context, len: usize) -> bool {
        self.fragment_sends.len() < ctx.config.max_waiting_messages
            && self.fragment_send_bytes().saturating_add(len) <= ctx.config.max_fragment_send_memory
    }

    /// Bytes the fragmented sends under way hold (at most `max_waiting_messages` of them to
    /// add up).
    pub(in crate::node) fn fragment_send_bytes(&self) -> usize {
        self.fragment_sends
            .iter()
            .map(|send| send.plaintext.len())
            .sum()
    }

    /// Refuses a message of `json` bytes that would go in fragments while the fragmented
    /// sends under way leave no room for it: the sender gets `value` back, as for a full
    /// transmit queue, and [`TransportEvent::Writable`] when they have drained to half their memory
    /// ([`fragment_room_returned`](Self::fragment_room_returned)).
    pub(in crate::node) fn refuse_if_fragments_full(
        &mut self,
        ctx: &mut Context,
        json: &[u8],
        value: Value,
    ) -> Result<Value, SendError> {
        if json.len() <= ctx.config.max_datagram_size || self.fragment_sends_admit(ctx, json.len())
        {
            return Ok(value);
        }
        self.fragments_blocked = true;
        ctx.stats.transport.refused_fragment_memory += 1;
        Err(SendError::Blocked(value))
    }

    /// After fragmented sends ended (delivered, given up, or their session gone): tells a
    /// sender refused by [`refuse_if_fragments_full`](Self::refuse_if_fragments_full) that it
    /// may try again, once the sends under way are down to half their bounds.
    pub(in crate::node) fn fragment_sends_ended(&mut self, ctx: &mut Context) {
        let room = self.fragment_sends.len() <= ctx.config.max_waiting_messages / 2
            && self.fragment_send_bytes() <= ctx.config.max_fragment_send_memory / 2;
        if self.fragments_blocked && room {
            self.fragments_blocked = false;
            ctx.push_event(Event::Transport(TransportEvent::Writable));
        }
    }

    /// When the next fragment retransmission timer fires.
    pub(in crate::node) fn next_fragment_retransmit(&self) -> Option<Instant> {
        self.fragment_sends
            .iter()
            .filter_map(|send| send.window.deadline())
            .min()
    }

    /// Whether a message of `json` bytes for `to` must wait for a session: it is sent directly,
    /// there is no session yet, and its sealed frame would not fit in one datagram (over UDP)
    /// or one frame (over TCP).
    pub(in crate::node) fn needs_session(
        &self,
        ctx: &Context,
        to: &PublicIdentity,
        path: TransportAddr,
        sealed_len: usize,
    ) -> bool {
        ctx.config.sessions
            && sealed_len > self.datagram_limit(ctx, path)
            && !self.has_session(&to.key.node_id())
    }

    /// A fragment that opened on session `index` with `peer`, straight from `from`: stored, and
    /// once its message is whole, handled as that session plaintext. Acknowledged (what the
    /// message holds) on every fourth piece, the last piece, a piece that fills a hole, a
    /// duplicate, and completion.
    pub(in crate::node) fn on_fragment(
        &mut self,
        ctx: &mut Context,
        index: u32,
        peer: PublicKey,
        from: TransportAddr,
        plaintext: &[u8],
    ) -> Option<Vec<u8>> {
        let Ok(piece) = Fragment::decode(plaintext) else {
            ctx.stats.transport.fragments_dropped += 1;
            return None;
        };
        let key = (index, piece.message_id());
        let duplicates = self.reassembly.stats().duplicates;
        let inserted = self.reassembly.insert(ctx.now, key, &piece);
        let progress = self.reassembly.progress(&key);
        // A piece below the highest held fills a hole: say so at once, the sender is
        // repairing.
        let fills_hole = progress.is_some_and(|(_, _, highest)| piece.index() < highest);
        let acknowledge = piece.index() % 4 == 3
            || piece.index().saturating_add(1) == piece.count()
            || fills_hole
            || self.reassembly.stats().duplicates != duplicates
            || matches!(inserted, Ok(Some(_)));
        if acknowledge {
            if let Some((next, held, highest)) = progress {
                let ack = PathMessage::FragmentAck {
                    message_id: piece.message_id(),
                    next,
                    held,
                    highest,
                };
                self.send_path_message(ctx, &peer, from, &ack);
            }
        }
        match inserted {
            Ok(Some(message)) if !fragment::is_fragment(&message) => {
                ctx.stats.transport.fragmented_received += 1;
                Some(message)
            }
            Ok(Some(_)) | Err(_) => {
                // A fragment inside a fragment would only recurse.
                ctx.stats.transport.fragments_dropped += 1;
                None
            }
            Ok(None) => None,
        }
    }
}
