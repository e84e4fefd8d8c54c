//! The commands a [`Handle`](crate::handle::Handle) gives a node's driver (on every adapter),
//! each with a channel for its answer; [`Dispatch`](crate::dispatch::Dispatch) carries them
//! out.

use async_channel::Sender;
use ejtp_proto::{
    Address, MailboxOp, Message, MessageId, NodeId, PublicIdentity, PublicKey, QueryOptions, Stats,
};
use serde_json::Value;

use crate::{Error, QueryOutcome};

/// Where a command's answer goes: a channel of one.
pub type Reply<T> = Sender<T>;

/// Answers a command; an asker that gave up is no error.
pub fn answer<T>(reply: &Reply<T>, value: T) {
    let _ = reply.try_send(value);
}

/// A command for the driver and where to answer it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Request {
    /// [`Handle::send_via`](crate::handle::Handle::send_via).
    Send {
        /// The local client sending.
        from: String,
        /// The recipient.
        to: PublicIdentity,
        /// The relays, first hop first.
        via: Vec<PublicIdentity>,
        /// What to send.
        value: Value,
        /// Where the message id (or the refusal) goes.
        reply: Reply<Result<MessageId, Error>>,
    },
    /// [`Handle::query`](crate::handle::Handle::query) and
    /// [`Handle::start_query`](crate::handle::Handle::start_query).
    Query {
        /// The local client asking.
        from: String,
        /// The recipient.
        to: PublicIdentity,
        /// The relays, first hop first (empty: direct).
        via: Vec<PublicIdentity>,
        /// What to ask.
        value: Value,
        /// The query's timeouts.
        options: QueryOptions,
        /// Where the query's outcome goes when it ends, if someone waits for it.
        outcome: Option<Reply<QueryOutcome>>,
        /// Where the query's id (or the refusal) goes.
        reply: Reply<Result<MessageId, Error>>,
    },
    /// [`Handle::reply`](crate::handle::Handle::reply).
    Answer {
        /// The local client answering.
        from: String,
        /// The delivered message answered (boxed: it is large).
        to: Box<Message>,
        /// The answer.
        value: Value,
        /// Where the reply's message id (or the refusal) goes.
        reply: Reply<Result<MessageId, Error>>,
    },
    /// [`Handle::send_to_peer`](crate::handle::Handle::send_to_peer).
    SendToPeer {
        /// The local client sending.
        from: String,
        /// The recipient node's key.
        peer: PublicKey,
        /// The recipient client.
        callsign: String,
        /// What to send.
        value: Value,
        /// Where the message id (or the refusal) goes.
        reply: Reply<Result<MessageId, Error>>,
    },
    /// [`Handle::add_route`](crate::handle::Handle::add_route).
    AddRoute {
        /// The peer's key.
        key: PublicKey,
        /// One of its addresses.
        address: Address,
        /// Higher is tried first.
        preference: Option<u8>,
        /// Whether the address was stored.
        reply: Reply<bool>,
    },
    /// [`Handle::lookup`](crate::handle::Handle::lookup).
    Lookup {
        /// The node to find.
        peer: NodeId,
        /// Whether a lookup is under way.
        reply: Reply<bool>,
    },
    /// [`Handle::cancel_query`](crate::handle::Handle::cancel_query).
    CancelQuery {
        /// The query's id.
        id: MessageId,
        /// Whether an open query was cancelled.
        reply: Reply<bool>,
    },
    /// [`Handle::request_mailbox`](crate::handle::Handle::request_mailbox).
    Mailbox {
        /// The store-and-forward relay.
        relay: PublicIdentity,
        /// What to ask it.
        op: MailboxOp,
        /// Where the result goes.
        reply: Reply<Result<(), Error>>,
    },
    /// [`Handle::add_client`](crate::handle::Handle::add_client).
    AddClient {
        /// The new client's callsign.
        callsign: String,
        /// Where the result goes.
        reply: Reply<Result<(), Error>>,
    },
    /// [`Handle::stats`](crate::handle::Handle::stats).
    Stats {
        /// Where the counters go.
        reply: Reply<Stats>,
    },
    /// [`Handle::fetch`](crate::handle::Handle::fetch) and
    /// [`Handle::start_fetch`](crate::handle::Handle::start_fetch).
    Fetch {
        /// The content.
        id: ejtp_proto::content::ContentId,
        /// The CJP2P nodes asked.
        sources: Vec<std::net::SocketAddr>,
        /// Where the download's outcome goes when it ends, if someone waits for it.
        outcome: Option<Reply<crate::FetchOutcome>>,
        /// Where the result of starting it goes.
        reply: Reply<Result<(), Error>>,
    },
    /// [`Handle::share`](crate::handle::Handle::share).
    Share {
        /// The file.
        path: std::path::PathBuf,
        /// Where its id (or the failure) goes.
        reply: Reply<Result<ejtp_proto::content::ContentId, Error>>,
    },
    /// [`Handle::content_path`](crate::handle::Handle::content_path).
    ContentPath {
        /// The content.
        id: ejtp_proto::content::ContentId,
        /// Where its path goes.
        reply: Reply<Option<std::path::PathBuf>>,
    },
    /// [`Handle::shutdown`](crate::handle::Handle::shutdown).
    Shutdown {
        /// Where the result of saving the recording goes, once the sockets are closed.
        reply: Reply<Result<(), Error>>,
    },
}
