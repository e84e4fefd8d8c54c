//! What a node tells its application.

mod fetch;
mod query;
mod routing;
mod transport;
mod wire;

pub use fetch::FetchEvent;
pub use query::QueryEvent;
pub use routing::RoutingEvent;
pub use transport::TransportEvent;

use alloc::string::String;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::address::Address;
use crate::cjp2p::Cjp2pMessage;
use crate::identity::{NodeId, PublicKey};
use crate::time::UnixMillis;
use crate::transport::TransportAddr;

/// The id of a message: the random nonce it was sent with, in hex.
///
/// [`Node::send`](crate::Node::send) returns it; the receiver sees the same id in
/// [`Message::id`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub [u8; 16]);

impl core::fmt::Display for MessageId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&crate::hex::encode(&self.0))
    }
}

impl Serialize for MessageId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MessageId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        crate::hex::decode_array(&text)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

/// How a delivered message was protected on its last hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// A single frame sealed with HPKE and signed with the sender's ed25519 key.
    Sealed,
    /// A frame inside a Noise session with the sender.
    Session,
    /// From a client of this same node: it never left the process.
    Local,
}

/// Who sent a message, as the cryptography established it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    /// The sender's key: verified by its signature, or by the session the frame came in.
    pub key: PublicKey,
    /// The SHA-256 of `key`: the sender's id.
    pub node_id: NodeId,
    /// The address the sender signed as its own (its `s` frame header), to reply to.
    pub address: Address,
}

/// A JSON value delivered to a local client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The callsign of the client it is for.
    pub to: String,
    /// The authenticated sender.
    pub from: Sender,
    /// The message id (its nonce).
    pub id: MessageId,
    /// The payload.
    pub value: Value,
    /// When the sender says it sent it (its wall clock), for sealed frames.
    pub sent_at: Option<UnixMillis>,
    /// How it was protected.
    pub protection: Protection,
    /// The relay it came through: a node in session with us, other than the sender, whose
    /// address the frame came from (the sender had no direct path to us; `docs/PROTOCOL.md`
    /// section 22). None if it came from anywhere else: straight from the sender, or from a
    /// relay we have no session with (an onion hop the sender chose).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relayed_by: Option<NodeId>,
}

/// Something the application should know. Drain with [`Node::poll_event`](crate::Node::poll_event).
///
/// Events are grouped by the part of the node that raises them, so an application can hand a
/// whole group to the code that cares (`Event::Query` to its request table, say):
///
/// ```
/// use ejtp_proto::{Event, QueryEvent};
///
/// fn describe(event: &Event) -> &'static str {
///     match event {
///         Event::Message(_) => "a message",
///         Event::Query(QueryEvent::Reply { .. }) => "a reply",
///         Event::Query(_) => "a query ended",
///         _ => "something else",
///     }
/// }
/// # assert_eq!(describe(&Event::Query(QueryEvent::Cancelled { query: ejtp_proto::MessageId([0; 16]) })), "a query ended");
/// ```
///
/// Serialised (in traces and scenario files) as one flat object tagged `"event"`, the same for
/// every group (see `event/wire.rs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "wire::EventWire", from = "wire::EventWire")]
#[non_exhaustive]
// Messages are nearly every event, so boxing them would cost an allocation each for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// A message for a local client arrived, authenticated and not a replay.
    Message(Message),
    /// Sessions, flow control, streams, addresses and paths (the EJTP transport).
    Transport(TransportEvent),
    /// A query's reply, end or soft timeout.
    Query(QueryEvent),
    /// Peers found by lookups, and peers that cannot be reached (routing).
    Routing(RoutingEvent),
    /// A CJP2P message the node does not answer itself: `Content`, `MaybeTheyHaveSome`,
    /// `ContentList`, `Peers`, `MyPublicKey`, `SupportedMessages`, and unknown messages. A
    /// downloader consumes these (and sends with [`crate::Cjp2p::send`](crate::Cjp2p::send)).
    Cjp2p {
        /// Where the datagram came from.
        from: TransportAddr,
        /// Whether the datagram returned our cookie, so its source address is not forged.
        verified: bool,
        /// The message (serialised in its wire form).
        message: Cjp2pMessage,
    },
    /// A download's progress and end.
    Fetch(FetchEvent),
}
