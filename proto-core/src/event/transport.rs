//! Events of the EJTP transport.

use super::MessageId;
use crate::identity::NodeId;
use crate::transport::TransportAddr;
use alloc::string::String;

use serde::{Deserialize, Serialize};

/// What the EJTP transport tells the application: sessions, flow control, streams,
/// addresses seen and paths opened.
///
/// Part of [`Event`](super::Event): `Event::Transport`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TransportEvent {
    /// A Noise session with a peer is ready: frames to it now cost one AEAD each.
    SessionEstablished {
        /// The peer.
        peer: NodeId,
    },
    /// A session with a peer was dropped (idle, or evicted to make room).
    SessionClosed {
        /// The peer.
        peer: NodeId,
    },
    /// A handshake got no answer after every attempt; frames to the peer go on sealed one by
    /// one.
    HandshakeFailed {
        /// The peer.
        peer: NodeId,
    },
    /// A send refused with [`SendError::Blocked`](crate::SendError::Blocked) may be tried
    /// again: the transmit queue has drained to half its bound, or the messages under way in
    /// fragments to half of [`Config::max_fragment_send_memory`](crate::Config).
    Writable,
    /// A send to `peer` refused with [`SendError::Throttled`](crate::SendError::Throttled) may
    /// be tried again: the token buckets for it have a token.
    PeerWritable {
        /// The destination that was throttled (the first hop's transport address).
        peer: TransportAddr,
    },
    /// A TCP stream sent bytes that are not valid framing: the adapter should close it.
    StreamFailed {
        /// The stream's remote address.
        from: TransportAddr,
    },
    /// An authenticated message arrived for a callsign no local client has, and was dropped
    /// (counted in [`QueryStats::dropped_unknown_client`](crate::QueryStats::dropped_unknown_client)).
    /// Its sender hears nothing, so this is the one place the mistake shows: usually a wrong
    /// callsign, or a message meant for another node's key. Adapters log it at debug level.
    UnknownClient {
        /// The authenticated sender.
        from: NodeId,
        /// The callsign the message named (its first [`TransportEvent::MAX_UNKNOWN_CALLSIGN`] bytes at
        /// most), or `None` when its address named none.
        callsign: Option<String>,
        /// The dropped message.
        message: MessageId,
    },
    /// A peer told us, inside our session, the address it sees our frames come from (our
    /// reflexive address: a NAT's mapping, or our own address when there is no NAT). Said when
    /// the address is new to the node or that peer's view of it changed.
    AddressObserved {
        /// Where the peer sees us.
        address: core::net::SocketAddr,
        /// The peer that said so.
        by: NodeId,
        /// How many of the recent observers see us there (see `Node::reflexive_addresses`).
        agreeing: usize,
        /// What that peer saw before, if it saw us elsewhere (the mapping changed).
        changed_from: Option<core::net::SocketAddr>,
    },
    /// Hole punching opened a direct path to a peer we reached through a relay: what we send
    /// it now goes straight to `address`.
    DirectPath {
        /// The peer.
        peer: NodeId,
        /// Where its session's frames come from.
        address: TransportAddr,
    },
    /// A hole-punching attempt sent all its probes and no session came of it (a symmetric
    /// NAT, or a firewall): traffic to the peer keeps going through the relay, and the direct
    /// path is tried again on a later send.
    PunchFailed {
        /// The peer.
        peer: NodeId,
    },
}

impl TransportEvent {
    /// Most bytes of a callsign kept in [`TransportEvent::UnknownClient`]: enough to recognise a typo,
    /// and a bound on what a misaddressed message can make the node hold.
    pub const MAX_UNKNOWN_CALLSIGN: usize = 64;
}
