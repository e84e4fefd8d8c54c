//! The serialisable mirror of a node's methods: [`Input`] in, [`Output`] out.
//!
//! A trace of inputs stored as JSON and replayed into a node built from the same seed, identity
//! and configuration reproduces the same outputs byte for byte; `testvectors` relies on it.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::address::Address;
use crate::cjp2p::Cjp2pMessage;
use crate::event::{Event, Message, MessageId};
use crate::identity::{NodeId, PublicIdentity, PublicKey};
use crate::mailbox::MailboxOp;
use crate::query::QueryOptions;
use crate::time::{Instant, UnixMillis};
use crate::transport::TransportAddr;

/// Bytes for the network, with where they go.
///
/// For [`Protocol::Tcp`](crate::Protocol::Tcp) destinations the payload is already framed for
/// the stream: write it as is to the connection to `to` (opening one if there is none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transmit {
    /// The destination.
    pub to: TransportAddr,
    /// The datagram, or the stream bytes.
    #[serde(with = "hex_bytes")]
    pub payload: Vec<u8>,
    /// A path MTU probe: send it with the IP don't-fragment bit set where the OS allows it
    /// (the adapters do on Linux, for IPv4 and IPv6), so that it arrives whole or not at all,
    /// and drop it without telling the node if the OS refuses it as too large. Without the bit
    /// a router would fragment it, and the node would take a size that only crosses the path
    /// in IP fragments for one that fits. False for everything else, and always for TCP.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dont_fragment: bool,
}

/// For serde: leaves `dont_fragment: false` out, so traces without probes keep their bytes.
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_false(value: &bool) -> bool {
    !*value
}

/// Why the node wants to be woken up (for logs and debugging). Ordered as declared: when two
/// deadlines fall at once, the node reports the one declared first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TimerReason {
    /// A handshake we started has gone unanswered: send it again or give up.
    HandshakeRetry,
    /// A session has been idle long enough to drop.
    SessionIdle,
    /// Remembered nonces have aged out of the replay window.
    ReplayPrune,
    /// A query's soft timeout.
    QuerySoftTimeout,
    /// A query's hard timeout.
    QueryHardTimeout,
    /// A throttled destination has a token again.
    Throttle,
    /// A held frame or a mailbox ages out.
    MailboxExpiry,
    /// A lookup's wait for a record ended: ask again or give up.
    LookupTimeout,
    /// A CJP2P maintenance round: probe the next peers for peers and round-trip times.
    Cjp2pMaintenance,
    /// A download's retransmission timer, or a progress report held back by the rate limit.
    Download,
    /// An incomplete fragmented message waited `reassembly_timeout` for its missing pieces.
    Reassembly,
    /// A session in use has sent nothing for `keepalive_interval`: keep its NAT mapping open.
    Keepalive,
    /// A path MTU probe went unanswered: try a smaller size, or stop.
    PathProbe,
    /// A hole-punching attempt's next round of probes is due.
    HolePunch,
    /// A message going out in fragments had pieces unacknowledged for its retransmission
    /// timeout.
    FragmentRetransmit,
}

/// The next time the node wants [`Node::handle_timeout`](crate::Node::handle_timeout) called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeout {
    /// When.
    pub at: Instant,
    /// Why.
    pub reason: TimerReason,
}

/// An application command, as carried by [`Input::Command`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Command {
    /// [`Node::add_client`](crate::Node::add_client).
    AddClient {
        /// The client's callsign.
        callsign: String,
    },
    /// [`Node::remove_client`](crate::Node::remove_client).
    RemoveClient {
        /// The client's callsign.
        callsign: String,
    },
    /// [`Node::add_local_address`](crate::Node::add_local_address).
    AddLocalAddress {
        /// An address this node is reached at.
        address: Address,
    },
    /// [`Node::send`](crate::Node::send) (or [`Node::via`](crate::Node::via) when
    /// `via` is not empty).
    Send {
        /// The sending client's callsign.
        from: String,
        /// The recipient.
        to: PublicIdentity,
        /// Relays to pass through, first hop first.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        via: Vec<PublicIdentity>,
        /// The payload.
        value: Value,
    },
    /// [`Node::set_default_route`](crate::Node::set_default_route).
    SetDefaultRoute {
        /// The node undeliverable frames are wrapped for, or none.
        route: Option<PublicIdentity>,
    },
    /// [`Node::query`](crate::Node::query) (or [`Node::via`](crate::Node::via)
    /// when `via` is not empty).
    Query {
        /// The sending client's callsign.
        from: String,
        /// The recipient.
        to: PublicIdentity,
        /// Relays to pass through, first hop first.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        via: Vec<PublicIdentity>,
        /// The payload.
        value: Value,
        /// Its timeouts.
        #[serde(default)]
        options: QueryOptions,
    },
    /// [`Node::reply`](crate::Node::reply) (or [`Node::via`](crate::Node::via)
    /// when `via` is not empty).
    Reply {
        /// The answering client's callsign.
        from: String,
        /// The message answered, as delivered (boxed: it is much larger than other commands).
        to: Box<Message>,
        /// Relays to pass through, first hop first.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        via: Vec<PublicIdentity>,
        /// The payload.
        value: Value,
    },
    /// [`Node::cancel_query`](crate::Node::cancel_query).
    CancelQuery {
        /// The query's id.
        id: MessageId,
    },
    /// [`Node::request_mailbox`](crate::Node::request_mailbox).
    RequestMailbox {
        /// The store-and-forward relay.
        relay: PublicIdentity,
        /// What to ask it.
        op: MailboxOp,
    },
    /// [`crate::Routes::add`](crate::Routes::add).
    AddRoute {
        /// The peer's key.
        key: PublicKey,
        /// One of its addresses (a callsign is ignored).
        address: Address,
        /// Higher is tried first; none keeps the current or default preference.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preference: Option<u8>,
    },
    /// [`Node::send_to_peer`](crate::Node::send_to_peer).
    SendToPeer {
        /// The sending client's callsign.
        from: String,
        /// The recipient node's key.
        peer: PublicKey,
        /// The recipient client's callsign.
        callsign: String,
        /// The payload.
        value: Value,
    },
    /// [`crate::Routes::lookup`](crate::Routes::lookup).
    Lookup {
        /// The peer to find.
        peer: NodeId,
    },
    /// [`crate::Routes::set_record_seq`](crate::Routes::set_record_seq).
    SetRecordSeq {
        /// The sequence number of this node's next address record.
        seq: u64,
    },
    /// [`crate::Cjp2p::send`](crate::Cjp2p::send).
    SendCjp2p {
        /// The peer.
        to: TransportAddr,
        /// The messages, in their wire form.
        messages: Vec<Cjp2pMessage>,
    },
    /// [`crate::Cjp2p::add_peer`](crate::Cjp2p::add_peer).
    AddCjp2pPeer {
        /// The peer's address.
        addr: core::net::SocketAddr,
    },
    /// [`crate::Content::fetch`](crate::Content::fetch).
    Fetch {
        /// The content.
        id: crate::content::ContentId,
        /// Where to ask for it (UDP addresses of CJP2P nodes).
        sources: Vec<TransportAddr>,
    },
    /// [`crate::Content::cancel`](crate::Content::cancel).
    CancelFetch {
        /// The content whose download stops.
        id: crate::content::ContentId,
    },
    /// [`crate::Content::set_config`](crate::Content::set_config).
    SetDownloadConfig {
        /// The settings of downloads started from now on.
        config: crate::content::DownloadConfig,
    },
    /// [`Node::restore_replay_memory`](crate::Node::restore_replay_memory): what an adapter
    /// stored of the node's replay memory before it stopped.
    RestoreReplayMemory {
        /// The memory as stored.
        memory: crate::replay_journal::ReplayMemory,
    },
}

/// What a [`Command`] did, as [`Node::handle_command`](crate::Node::handle_command) returns it.
///
/// One value for every command, so that adapters dispatch, record and answer every command
/// the same way; the typed methods ([`Node::send`](crate::Node::send), ...) return the part
/// that concerns them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandOutcome {
    /// The command was carried out and has nothing to report.
    Done,
    /// A message left (send, query, reply, send to peer): its id, which acknowledgements,
    /// replies and failures name.
    Sent(MessageId),
    /// A change was asked for that may have had nothing to act on (cancel a query or a fetch,
    /// add a route, start a lookup): whether it changed anything.
    Changed(bool),
}

impl CommandOutcome {
    /// The id of the message the command sent, if it sent one.
    #[must_use]
    pub fn message_id(self) -> Option<MessageId> {
        match self {
            Self::Sent(id) => Some(id),
            Self::Done | Self::Changed(_) => None,
        }
    }

    /// Whether the command changed something: `true` for a message sent or a command with
    /// nothing to report, the flag for [`Changed`](Self::Changed).
    #[must_use]
    pub fn changed(self) -> bool {
        match self {
            Self::Done | Self::Sent(_) => true,
            Self::Changed(changed) => changed,
        }
    }
}

/// Everything that can happen to a node, as data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "input", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Input {
    /// [`Node::handle_datagram`](crate::Node::handle_datagram).
    Datagram {
        /// When it arrived.
        now: Instant,
        /// Its source.
        from: TransportAddr,
        /// Its bytes.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
    /// [`Node::handle_stream_data`](crate::Node::handle_stream_data).
    StreamData {
        /// When it arrived.
        now: Instant,
        /// The stream's remote address.
        from: TransportAddr,
        /// The bytes, as read (any chunking).
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
    /// [`Node::handle_stream_closed`](crate::Node::handle_stream_closed).
    StreamClosed {
        /// When.
        now: Instant,
        /// The stream's remote address.
        from: TransportAddr,
    },
    /// [`Node::handle_timeout`](crate::Node::handle_timeout).
    Timeout {
        /// When.
        now: Instant,
    },
    /// [`Node::handle_wall_clock`](crate::Node::handle_wall_clock).
    WallClock {
        /// When, on the monotonic clock.
        now: Instant,
        /// The wall-clock time at that instant.
        wall: UnixMillis,
    },
    /// [`Node::handle_transmit_failed`](crate::Node::handle_transmit_failed).
    TransmitFailed {
        /// When the adapter learnt it.
        now: Instant,
        /// Where the transmit was going.
        to: TransportAddr,
        /// The payload of the failed transmit, as [`Transmit::payload`] gave it.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
    /// An application command.
    Command {
        /// When.
        now: Instant,
        /// The command.
        command: Command,
    },
}

impl Input {
    /// The instant the input happened at.
    #[must_use]
    pub fn now(&self) -> Instant {
        match self {
            Self::Datagram { now, .. }
            | Self::StreamData { now, .. }
            | Self::StreamClosed { now, .. }
            | Self::TransmitFailed { now, .. }
            | Self::Timeout { now }
            | Self::WallClock { now, .. }
            | Self::Command { now, .. } => *now,
        }
    }
}

/// Everything a node can produce, as data: drain with
/// [`Node::poll_output`](crate::Node::poll_output).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "output", rename_all = "snake_case")]
#[non_exhaustive]
// Outputs are moved once, from the node to the driver; boxing events (most of them messages)
// would cost an allocation each for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Output {
    /// Bytes to send.
    Transmit(Transmit),
    /// Something for the application.
    Event(Event),
    /// A first message was accepted: store this before handing the application the events
    /// that follow, and give it back at the next start (only with
    /// [`Config::replay_journal`](crate::Config::replay_journal); see
    /// [`replay_journal`](crate::replay_journal)).
    Remember(crate::replay_journal::ReplayRecord),
}

/// Byte strings as lowercase hex in JSON.
pub(crate) mod hex_bytes {
    use alloc::string::String;
    use alloc::vec::Vec;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&crate::hex::encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        crate::hex::decode(&text).map_err(serde::de::Error::custom)
    }
}
