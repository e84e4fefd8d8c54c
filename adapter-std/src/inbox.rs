//! What the driver thread's one channel carries: received traffic and the application's
//! commands.

use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::Sender;

use ejtp_adapter_core::Error;
use std::time::Duration;

use ejtp_adapter_core::QueryOutcome;
use ejtp_proto::{
    Address, MailboxOp, Message, MessageId, PublicIdentity, PublicKey, QueryOptions, Stats,
};
use serde_json::Value;

/// The id of one TCP connection, so that what its reader reports after the driver dropped it
/// (or replaced it by a new connection to the same address) is told apart and ignored.
pub(crate) type ConnId = u64;

/// Where the driver thread sends a command's result.
pub(crate) type Reply<T> = Sender<Result<T, Error>>;

/// One message for the driver thread.
pub(crate) enum Item {
    /// A UDP reader received a datagram.
    Datagram { from: SocketAddr, data: Vec<u8> },
    /// A listener accepted a connection: the driver registers it and starts its reader.
    Accepted { from: SocketAddr, stream: TcpStream },
    /// A connection's reader read bytes.
    Stream {
        conn: ConnId,
        from: SocketAddr,
        data: Vec<u8>,
    },
    /// A connection's reader saw the end of the stream (or an error) and stopped.
    StreamEnded { conn: ConnId, from: SocketAddr },
    /// The application asks something of the node (boxed: a query with its relays is much
    /// larger than the traffic items).
    Request(Box<Request>),
}

/// A command from a [`Handle`](crate::Handle), with where its result goes.
pub(crate) enum Request {
    /// Starts a download; `outcome`, if any, gets how it ends.
    Fetch {
        id: ejtp_proto::content::ContentId,
        sources: Vec<SocketAddr>,
        outcome: Option<Sender<ejtp_adapter_core::FetchOutcome>>,
        reply: Reply<()>,
    },
    /// Shares a file from where it is.
    Share {
        path: std::path::PathBuf,
        reply: Reply<ejtp_proto::content::ContentId>,
    },
    /// Where a content is in the shared folder.
    ContentPath {
        id: ejtp_proto::content::ContentId,
        reply: Sender<Option<std::path::PathBuf>>,
    },
    Send {
        from: String,
        to: PublicIdentity,
        via: Vec<PublicIdentity>,
        value: Value,
        reply: Reply<MessageId>,
    },
    /// A query; `outcome`, if any, gets how it ends. Answers the query's id and how long it
    /// can stay open at most.
    Query {
        from: String,
        to: PublicIdentity,
        via: Vec<PublicIdentity>,
        value: Value,
        options: QueryOptions,
        outcome: Option<Sender<QueryOutcome>>,
        reply: Reply<(MessageId, Duration)>,
    },
    Answer {
        from: String,
        to: Box<Message>,
        value: Value,
        reply: Reply<MessageId>,
    },
    CancelQuery {
        id: MessageId,
        reply: Sender<bool>,
    },
    Mailbox {
        relay: PublicIdentity,
        op: MailboxOp,
        reply: Reply<()>,
    },
    SendToPeer {
        from: String,
        peer: PublicKey,
        callsign: String,
        value: Value,
        reply: Reply<MessageId>,
    },
    AddRoute {
        key: PublicKey,
        address: Address,
        preference: Option<u8>,
        reply: Sender<bool>,
    },
    AddClient {
        callsign: String,
        reply: Reply<()>,
    },
    Stats {
        reply: Sender<Stats>,
    },
    Shutdown {
        reply: Reply<()>,
    },
}
