//! Events of routing: lookups and unreachable peers.

use super::MessageId;
use crate::identity::NodeId;

use serde::{Deserialize, Serialize};

/// What routing learned: peers found by lookups, and peers that cannot be reached.
///
/// Part of [`Event`](super::Event): `Event::Routing`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RoutingEvent {
    /// A peer cannot be reached: every known address failed (the adapter reported failed
    /// transmits) and no other is known, or a lookup for it failed. `message` names the
    /// message given up on, if one was (queries end with [`QueryEvent::Unreachable`](crate::QueryEvent::Unreachable) instead).
    Unreachable {
        /// The peer.
        peer: NodeId,
        /// The message that was not delivered, if any.
        message: Option<MessageId>,
    },
    /// A lookup found a peer's signed address record newer than the one held: its addresses
    /// are in the routing table, and messages waiting for them are sent.
    PeerFound {
        /// The peer.
        peer: NodeId,
        /// The accepted record's sequence number.
        record_seq: u64,
    },
    /// A lookup got no acceptable record after every attempt; messages waiting for it are
    /// reported [`RoutingEvent::Unreachable`].
    LookupFailed {
        /// The peer looked up.
        peer: NodeId,
    },
}
