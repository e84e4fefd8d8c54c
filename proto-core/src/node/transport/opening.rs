//! The transport's side of opening what arrives: inflating compressed frames, keeping a session
//! a handshake made, and checking a first message against the time window and the replay
//! memories.

use super::Transport;
use crate::address::Address;
use crate::crypto::CryptoError;
use crate::crypto::body::{self, RBody};
use crate::crypto::handshake::SessionKeys;
use crate::crypto::sealed;
use crate::crypto::session::Session;
use crate::event::Event;
use crate::event::TransportEvent;
use crate::frame::{self};
use crate::identity::PublicKey;
use crate::node::context::Context;
use crate::node::sessions::SessionEntry;
use crate::replay::ReplayError;
use crate::replay_journal::{FirstMessageKind, ReplayRecord};
use crate::time::UnixMillis;
use crate::transport::TransportAddr;
use alloc::vec::Vec;

/// Where an opened frame came from, for the checks on what it holds.
pub(in crate::node) struct Layer<'a> {
    /// The strict JSON header of the `r` frame that held it: what signatures must name.
    pub(in crate::node) recipient_header: &'a [u8],
    pub(in crate::node) recipient: &'a Address,
    pub(in crate::node) hops: u8,
    /// The peer whose session authenticated the layer, if it came on a session.
    pub(in crate::node) session_peer: Option<PublicKey>,
    /// Our index of that session.
    pub(in crate::node) session_index: Option<u32>,
}

/// Which replay memory a first message is checked against.
#[derive(Clone, Copy)]
pub(in crate::node) enum SealedOrSigned {
    Sealed,
    Signed,
}

impl Transport {
    pub(in crate::node) fn decompress(
        &mut self,
        ctx: &mut Context,
        method: frame::Compression,
        body: &[u8],
        depth: u8,
    ) -> Option<Vec<u8>> {
        if depth >= ctx.config.max_nesting {
            ctx.stats.transport.dropped_hop_limit += 1;
            return None;
        }
        match frame::decompress(method, body, ctx.config.max_frame_len) {
            Ok(inner) => Some(inner),
            Err(frame::FrameError::UnsupportedCompression) => {
                ctx.stats.transport.dropped_unsupported += 1;
                None
            }
            Err(_) => {
                ctx.stats.transport.dropped_malformed += 1;
                None
            }
        }
    }

    /// Stores a session under our `index`, confirmed or not, with the address our side of the
    /// handshake went to; tells the application about any session evicted to make room.
    pub(in crate::node) fn store_session(
        &mut self,
        ctx: &mut Context,
        index: u32,
        peer: PublicKey,
        remote_index: u32,
        keys: SessionKeys,
        (confirmed, handshake_path): (bool, TransportAddr),
    ) {
        let entry = SessionEntry {
            peer,
            remote_index,
            session: Session::with_rekeying(keys, ctx.config.rekey_policy(), ctx.now),
            last_used: ctx.now,
            confirmed,
            handshake_path,
            next_fragment_id: 0,
            last_from: handshake_path,
            heard_noted: None,
            told_address: None,
            told_recently: Vec::new(),
            challenge: None,
            last_sent: ctx.now,
            last_activity: ctx.now,
            answered: None,
            path_size: None,
            probe: None,
        };
        for closed in self.sessions.insert(index, entry, ctx.config.max_sessions) {
            ctx.push_event(Event::Transport(TransportEvent::SessionClosed {
                peer: closed,
            }));
        }
    }

    /// Checks a nonce against the replay memory for its kind, counting refusals.
    pub(in crate::node) fn check_fresh(
        &mut self,
        ctx: &mut Context,
        kind: SealedOrSigned,
        nonce: [u8; 16],
        timestamp: UnixMillis,
    ) -> bool {
        let now = ctx.wall_now();
        let journaled = ctx.config.replay_journal;
        if journaled && self.journal.len() >= ctx.config.max_queued_events {
            // Accepting it unremembered could deliver it again after a restart.
            ctx.stats.transport.dropped_journal_full += 1;
            return false;
        }
        let (memory, record_kind) = match kind {
            SealedOrSigned::Sealed => (&mut self.sealed_nonces, FirstMessageKind::Sealed),
            SealedOrSigned::Signed => (&mut self.signature_nonces, FirstMessageKind::Signed),
        };
        match memory.check_and_insert(nonce, timestamp, now) {
            Ok(()) => {
                if journaled {
                    self.journal.push_back(ReplayRecord {
                        kind: record_kind,
                        nonce,
                        timestamp,
                    });
                }
                true
            }
            Err(ReplayError::Replay) => {
                ctx.stats.transport.dropped_replay += 1;
                false
            }
            Err(_) => {
                ctx.stats.transport.dropped_stale += 1;
                false
            }
        }
    }

    /// Whether a frame with the `r` body `body` from `from` is handled at `depth`: under load,
    /// key work is done only for addresses that proved they receive (`node/key_work.rs`), and
    /// the rest get a cookie challenge (queued here, under the amplification limit). Only an
    /// outer frame is judged: its layers are its own cost.
    pub(in crate::node) fn admit_key_work(
        &mut self,
        ctx: &mut Context,
        from: TransportAddr,
        body: &[u8],
        depth: u8,
    ) -> bool {
        let needs_key_work = body.first().copied().is_some_and(body::kind_needs_key_work);
        if depth != 0 || !needs_key_work {
            return true;
        }
        let validated = self.paths.is_validated(&from);
        match self.key_work.admit(ctx.now, from, body, validated) {
            Ok(()) => true,
            Err(challenge) => {
                self.queue_to_observed(ctx, from, challenge);
                false
            }
        }
    }

    /// Opens a sealed body (HPKE) with associated data `aad` (the frame up to its `enc`), if
    /// it is fresh: its timestamp within the window and its ephemeral key never seen.
    pub(in crate::node) fn open_sealed(
        &mut self,
        ctx: &mut Context,
        aad: &[u8],
        enc: &[u8; 32],
        ciphertext: &[u8],
        timestamp: UnixMillis,
    ) -> Option<Vec<u8>> {
        let aad = aad
            .get(..aad.len().saturating_sub(enc.len()))
            .unwrap_or_default();
        let Ok(plaintext) = sealed::open(&ctx.identity, enc, aad, ciphertext) else {
            ctx.stats.transport.dropped_crypto += 1;
            return None;
        };
        let mut key = [0u8; 16];
        key.copy_from_slice(enc.get(..16).unwrap_or(&[0; 16]));
        self.check_fresh(ctx, SealedOrSigned::Sealed, key, timestamp)
            .then_some(plaintext)
    }

    /// Opens a session frame from `from`. An unknown index is answered with a reset (outer
    /// frames only, within its budget); a frame that opens marks the session used, proves
    /// the address the handshake went to, and confirms a session the peer started
    /// ([`TransportEvent::SessionEstablished`]).
    pub(in crate::node) fn open_session_frame(
        &mut self,
        ctx: &mut Context,
        from: TransportAddr,
        frame: &SessionFrame<'_>,
        depth: u8,
    ) -> Option<OpenedOnSession> {
        let now = ctx.now;
        let Some(entry) = self.sessions.sessions.get_mut(&frame.receiver_index) else {
            ctx.stats.transport.dropped_unknown_session += 1;
            if depth == 0 {
                let reset = self
                    .resets
                    .answer(ctx, from, frame.receiver_index, frame.received_len);
                if let Some(reset) = reset {
                    self.queue_transmit(ctx, from, reset);
                }
            }
            return None;
        };
        let plaintext = match entry
            .session
            .open(now, frame.counter, frame.aad, frame.ciphertext)
        {
            Ok(plaintext) => plaintext,
            Err(CryptoError::Replay) => {
                ctx.stats.transport.dropped_replay += 1;
                return None;
            }
            Err(_) => {
                ctx.stats.transport.dropped_crypto += 1;
                return None;
            }
        };
        entry.last_used = now;
        let peer = entry.peer;
        if entry.handshake_path == from {
            self.paths.validate(from, now);
        }
        let newly_confirmed = self.sessions.confirm(frame.receiver_index);
        if newly_confirmed {
            ctx.push_event(Event::Transport(TransportEvent::SessionEstablished {
                peer: peer.node_id(),
            }));
        }
        Some(OpenedOnSession {
            peer,
            plaintext,
            newly_confirmed,
        })
    }
}

/// A session frame as it arrived, for [`Transport::open_session_frame`].
pub(in crate::node) struct SessionFrame<'a> {
    pub(in crate::node) receiver_index: u32,
    pub(in crate::node) counter: u64,
    /// The frame up to its ciphertext.
    pub(in crate::node) aad: &'a [u8],
    pub(in crate::node) ciphertext: &'a [u8],
    /// Bytes of the frame: what a reset answering it may be worth.
    pub(in crate::node) received_len: usize,
}

/// A session frame that opened.
pub(in crate::node) struct OpenedOnSession {
    /// The peer the session is with.
    pub(in crate::node) peer: PublicKey,
    pub(in crate::node) plaintext: Vec<u8>,
    /// Whether this frame confirmed a session the peer started.
    pub(in crate::node) newly_confirmed: bool,
}

/// The associated data of an `r` frame: everything before the ciphertext (or before `enc`),
/// that is `prefix` (`r || header || 0x00`) and the start of `body`.
pub(in crate::node) fn associated_data(prefix: &[u8], body: &[u8], parsed: &RBody<'_>) -> Vec<u8> {
    let aad_len = prefix.len() + body.len() - parsed.ciphertext_len();
    let mut aad = Vec::with_capacity(aad_len);
    aad.extend_from_slice(prefix);
    aad.extend_from_slice(
        body.get(..aad_len.saturating_sub(prefix.len()))
            .unwrap_or_default(),
    );
    aad
}
