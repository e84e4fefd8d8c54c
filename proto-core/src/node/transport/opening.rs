//! The transport's side of opening what arrives: inflating compressed frames, keeping a session
//! a handshake made, and checking a first message against the time window and the replay
//! memories.

use super::Transport;
use crate::crypto::handshake::SessionKeys;
use crate::crypto::session::Session;
use crate::event::Event;
use crate::frame::{self};
use crate::identity::PublicKey;
use crate::node::context::Context;
use crate::node::inbound::SealedOrSigned;
use crate::node::sessions::SessionEntry;
use crate::replay::ReplayError;
use crate::replay_journal::{FirstMessageKind, ReplayRecord};
use crate::time::UnixMillis;
use crate::transport::TransportAddr;
use alloc::vec::Vec;

impl Transport {
    pub(in crate::node) fn decompress(
        &mut self,
        ctx: &mut Context,
        method: frame::Compression,
        body: &[u8],
        depth: u8,
    ) -> Option<Vec<u8>> {
        if depth >= ctx.config.max_nesting {
            ctx.stats.dropped_hop_limit += 1;
            return None;
        }
        match frame::decompress(method, body, ctx.config.max_frame_len) {
            Ok(inner) => Some(inner),
            Err(frame::FrameError::UnsupportedCompression) => {
                ctx.stats.dropped_unsupported += 1;
                None
            }
            Err(_) => {
                ctx.stats.dropped_malformed += 1;
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
            ctx.push_event(Event::SessionClosed { peer: closed });
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
            ctx.stats.dropped_journal_full += 1;
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
                ctx.stats.dropped_replay += 1;
                false
            }
            Err(_) => {
                ctx.stats.dropped_stale += 1;
                false
            }
        }
    }
}
