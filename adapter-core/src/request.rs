//! The commands a [`Handle`](crate::handle::Handle) gives an async driver, each with a channel
//! for its answer.

use async_channel::Sender;
use proto_core::{MessageId, PublicIdentity, Stats};
use serde_json::Value;

use crate::Error;

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
    /// [`Handle::shutdown`](crate::handle::Handle::shutdown).
    Shutdown {
        /// Where the result of saving the recording goes, once the sockets are closed.
        reply: Reply<Result<(), Error>>,
    },
}
