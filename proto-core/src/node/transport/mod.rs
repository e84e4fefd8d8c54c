//! EJTP transport and sessions as one sub-machine's state: Noise sessions and handshakes,
//! replay memories, streams, fragments, paths and their proofs, reflexive addresses, hole
//! punching, throttling and the budgets that keep the node from being used as an amplifier.
//!
//! The pieces each live in their own module beside this one (`sessions`, `paths`, `punch`,
//! ...); this struct is what the node owns of them, so that the transport's state is one
//! value beside the other concerns'.

mod admission;
mod forwarding;
mod fragment_sends;
mod handshakes;
mod introductions;
mod opening;
mod path_control;
mod path_probes;
mod queueing;
mod relay_paths;
mod replay_memory;
mod sealing;
mod sender_checks;
mod streams;
mod timers;
mod transmitting;

pub(super) use opening::{Layer, SessionFrame, associated_data};
pub(super) use path_control::PathHandOn;
pub(super) use relay_paths::RelayedRoute;
pub(super) use sender_checks::{SignedFrame, json_payload};
pub(super) use transmitting::Outgoing;

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::string::String;

use super::handshake_times::{self, HandshakeTimes};
use super::key_work::KeyWork;
use super::large_messages::{AwaitingSession, FragmentSend};
use super::paths::Paths;
use super::punch::Punching;
use super::reflexive::Reflexive;
use super::reset::Resets;
use super::sessions::SessionTable;
use super::throttling::Throttling;
use crate::config::Config;
use crate::crypto::cookie::CookieKey;
use crate::crypto::handshake::HandshakeTime;
use crate::fragment::{Reassembler, ReassemblyLimits};
use crate::identity::{NodeId, PublicIdentity};
use crate::replay::NonceMemory;
use crate::replay_journal::ReplayRecord;
use crate::stream::StreamDecoder;
use crate::time::Instant;
use crate::transport::TransportAddr;

/// The transport's state (see the module documentation). Every table in it is bounded by
/// the [`Config`] field its own module names.
pub(super) struct Transport {
    /// The local clients messages are delivered to (at most `Config::max_clients`).
    pub(super) clients: BTreeSet<String>,
    /// Where frames no transport of ours can reach go (see
    /// [`Node::set_default_route`](crate::Node::set_default_route)).
    pub(super) default_route: Option<PublicIdentity>,
    pub(super) sessions: SessionTable,
    /// The newest handshake stamp taken from each peer (see `node/handshake_times.rs`).
    pub(super) handshake_times: HandshakeTimes,
    /// The stamp of the last handshake this node started: the next is newer.
    pub(super) last_handshake_stamp: HandshakeTime,
    /// Bytes of the frame being handled, as it arrived: what a claim it makes is worth
    /// (`node/paths/claims.rs`).
    pub(super) arriving_len: usize,
    /// The budget of key work, and cookies (see `node/key_work.rs`).
    pub(super) key_work: KeyWork,
    /// Signed first messages seen (at most `Config::nonce_memory_capacity`).
    pub(super) signature_nonces: NonceMemory,
    /// Sealed first messages seen (at most `Config::nonce_memory_capacity`).
    pub(super) sealed_nonces: NonceMemory,
    /// First messages accepted and not yet polled as [`Output::Remember`](crate::Output)
    /// (with `Config::replay_journal`; at most `max_queued_events`).
    pub(super) journal: VecDeque<ReplayRecord>,
    /// TCP streams being decoded (at most `Config::max_streams`).
    pub(super) streams: BTreeMap<TransportAddr, StreamDecoder>,
    /// A send was refused because the fragmented sends under way were at their bounds
    /// (`Config::max_fragment_send_memory`): an [`TransportEvent::Writable`](crate::Event) is owed.
    pub(super) fragments_blocked: bool,
    /// The budget of session resets this node sends (see `node/reset.rs`).
    pub(super) resets: Resets,
    /// Token buckets for what this node sends, per destination and overall, and the
    /// destinations owed an [`TransportEvent::PeerWritable`](crate::Event) (see `node/throttling.rs`).
    pub(super) throttling: Throttling,
    /// Which remote addresses proved they receive, and the amplification limit for the rest
    /// (see `node/paths/`).
    pub(super) paths: Paths,
    /// Fragmented messages being put back together, keyed by (our session index, message id).
    pub(super) reassembly: Reassembler<(u32, u32)>,
    /// Messages too large for one datagram waiting for a session (`node/large_messages.rs`).
    pub(super) awaiting_session: AwaitingSession,
    /// Plaintexts going out in fragments, sealed as the transmit queue drains (at most
    /// `max_waiting_messages`).
    pub(super) fragment_sends: VecDeque<FragmentSend>,
    /// Where peers see this node (its reflexive addresses; see `node/reflexive/`).
    pub(super) reflexive: Reflexive,
    /// Hole punching: introductions we coordinate and our own attempts (see `node/punch/`).
    pub(super) punching: Punching,
}

impl Transport {
    /// A transport with nothing open, started at `now`; `seed` keys its cookies.
    pub(super) fn new(config: &Config, seed: &[u8; 32], now: Instant) -> Self {
        let nonce_window = config.max_clock_skew;
        let capacity = config.nonce_memory_capacity;
        Self {
            clients: BTreeSet::new(),
            default_route: None,
            sessions: SessionTable::default(),
            handshake_times: HandshakeTimes::new(
                nonce_window,
                handshake_times::MAX_HANDSHAKE_TIMES,
            ),
            last_handshake_stamp: HandshakeTime::default(),
            arriving_len: 0,
            key_work: KeyWork::new(config.key_work_per_second, CookieKey::from_seed(seed), now),
            signature_nonces: NonceMemory::new(capacity, nonce_window),
            sealed_nonces: NonceMemory::new(capacity, nonce_window),
            journal: VecDeque::new(),
            streams: BTreeMap::new(),
            fragments_blocked: false,
            resets: Resets::new(now),
            throttling: Throttling::new(config, now),
            paths: Paths::new(config.max_paths),
            reassembly: Reassembler::new(
                ReassemblyLimits::default()
                    .with_max_message_len(config.max_message_len)
                    .with_max_memory(config.max_reassembly_memory)
                    .with_max_in_flight(config.max_reassembling)
                    .with_timeout(config.reassembly_timeout),
            ),
            awaiting_session: AwaitingSession::default(),
            fragment_sends: VecDeque::new(),
            reflexive: Reflexive::default(),
            punching: Punching::default(),
        }
    }

    /// Whether a confirmed session with `peer` is ready to carry frames.
    pub(in crate::node) fn has_session(&self, peer: &NodeId) -> bool {
        self.sessions
            .by_peer
            .get(peer)
            .and_then(|index| self.sessions.sessions.get(index))
            .is_some_and(|entry| entry.confirmed)
    }
}

#[cfg(test)]
mod tests;
