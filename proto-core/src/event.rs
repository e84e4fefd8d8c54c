//! What a node tells its application.

use alloc::string::String;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::address::Address;
use crate::cjp2p::Cjp2pMessage;
use crate::content::ContentId;
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
// Messages are nearly every event, so boxing them would cost an allocation each for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// A message for a local client arrived, authenticated and not a replay.
    Message(Message),
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
    /// The reply to a query ([`Node::query`](crate::Node::query)): the query is answered and
    /// closed.
    Reply {
        /// The query's id.
        query: MessageId,
        /// The reply, authenticated like any message.
        message: Message,
        /// Whether it came after the query's soft timeout.
        late: bool,
    },
    /// A query's soft timeout passed with no reply; the query stays open.
    QuerySoftTimeout {
        /// The query's id.
        query: MessageId,
    },
    /// A query's hard timeout passed with no reply: it is closed, and a later reply is dropped.
    QueryTimedOut {
        /// The query's id.
        query: MessageId,
    },
    /// A query was cancelled ([`Node::cancel_query`](crate::Node::cancel_query)).
    QueryCancelled {
        /// The query's id.
        query: MessageId,
    },
    /// The peer a query went to became unreachable (every address failed, or a lookup for it
    /// failed): the query is closed at once, and a later reply is dropped. One of the four
    /// ways a query ends.
    QueryUnreachable {
        /// The query's id.
        query: MessageId,
    },
    /// A peer cannot be reached: every known address failed (the adapter reported failed
    /// transmits) and no other is known, or a lookup for it failed. `message` names the
    /// message given up on, if one was (queries end with [`Event::QueryUnreachable`] instead).
    Unreachable {
        /// The peer.
        peer: NodeId,
        /// The message that was not delivered, if any.
        message: Option<MessageId>,
    },
    /// An authenticated message arrived for a callsign no local client has, and was dropped
    /// (counted in [`Stats::dropped_unknown_client`](crate::Stats::dropped_unknown_client)).
    /// Its sender hears nothing, so this is the one place the mistake shows: usually a wrong
    /// callsign, or a message meant for another node's key. Adapters log it at debug level.
    UnknownClient {
        /// The authenticated sender.
        from: NodeId,
        /// The callsign the message named (its first [`Event::MAX_UNKNOWN_CALLSIGN`] bytes at
        /// most), or `None` when its address named none.
        callsign: Option<String>,
        /// The dropped message.
        message: MessageId,
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
    /// reported [`Event::Unreachable`].
    LookupFailed {
        /// The peer looked up.
        peer: NodeId,
    },
    /// A CJP2P message the node does not answer itself: `Content`, `MaybeTheyHaveSome`,
    /// `ContentList`, `Peers`, `MyPublicKey`, `SupportedMessages`, and unknown messages. A
    /// downloader consumes these (and sends with [`Node::send_cjp2p`](crate::Node::send_cjp2p)).
    Cjp2p {
        /// Where the datagram came from.
        from: TransportAddr,
        /// Whether the datagram returned our cookie, so its source address is not forged.
        verified: bool,
        /// The message (serialised in its wire form).
        message: Cjp2pMessage,
    },
    /// A download started with [`Node::fetch`](crate::Node::fetch) holds `have` of `total`
    /// bytes. Rate-limited: at most one per download per
    /// [`Config::download_progress_interval`](crate::Config::download_progress_interval), and
    /// one just before the download ends.
    DownloadProgress {
        /// The content.
        id: ContentId,
        /// Bytes held (written to the storage).
        have: u64,
        /// The content's length.
        total: u64,
    },
    /// A download completed: the content hashed to its id and is now in the storage (and
    /// served). Terminal.
    DownloadCompleted {
        /// The content.
        id: ContentId,
        /// Its length.
        len: u64,
    },
    /// A download gave up; what it fetched stays in the storage and a new fetch resumes it.
    /// Terminal.
    DownloadFailed {
        /// The content.
        id: ContentId,
        /// Why, in words.
        why: String,
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

impl Event {
    /// Most bytes of a callsign kept in [`Event::UnknownClient`]: enough to recognise a typo,
    /// and a bound on what a misaddressed message can make the node hold.
    pub const MAX_UNKNOWN_CALLSIGN: usize = 64;
}
