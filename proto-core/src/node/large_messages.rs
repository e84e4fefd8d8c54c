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
//! [`RoutingEvent::Unreachable`] for each.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;

use crate::event::MessageId;
use crate::fragment::SendWindow;
use crate::identity::{NodeId, PublicIdentity, PublicKey};
use crate::transport::TransportAddr;

/// A plaintext going out in fragments, sealed one at a time as the transmit queue drains and
/// as the receiver's acknowledgements open the window (`crate::fragment::window`), so that a
/// message of thousands of fragments never overflows the queue (`max_queued_transmits`) or
/// the receiver, and lost pieces are sent again.
pub(super) struct FragmentSend {
    pub(in crate::node) key: PublicKey,
    /// The session frames' `r || header || NUL`, built once for every piece.
    pub(in crate::node) prefix: Vec<u8>,
    /// Plaintext bytes a fragment may take, fixed when the send starts: every piece of one
    /// message must be cut the same way, even if a probe raises the path's size meanwhile.
    pub(in crate::node) room: usize,
    pub(in crate::node) to: TransportAddr,
    /// Whether `to` is only an observed address (under the amplification limit).
    pub(in crate::node) observed: bool,
    pub(in crate::node) plaintext: Vec<u8>,
    pub(in crate::node) message_id: u32,
    pub(in crate::node) window: SendWindow,
}

/// A message waiting for the session with its recipient.
pub(super) struct HeldForSession {
    pub(in crate::node) id: MessageId,
    pub(in crate::node) from: String,
    pub(in crate::node) to: PublicIdentity,
    pub(in crate::node) json: Vec<u8>,
    pub(in crate::node) reference: Option<[u8; 32]>,
}

/// Messages waiting for sessions, per peer, oldest first, at most `max` in all.
#[derive(Default)]
pub(super) struct AwaitingSession {
    by_peer: BTreeMap<NodeId, VecDeque<HeldForSession>>,
    len: usize,
}

impl AwaitingSession {
    pub(super) fn hold(&mut self, peer: NodeId, message: HeldForSession, max: usize) -> bool {
        if self.len >= max {
            return false;
        }
        self.by_peer.entry(peer).or_default().push_back(message);
        self.len += 1;
        true
    }

    pub(super) fn take(&mut self, peer: &NodeId) -> VecDeque<HeldForSession> {
        let taken = self.by_peer.remove(peer).unwrap_or_default();
        self.len = self.len.saturating_sub(taken.len());
        taken
    }
}
