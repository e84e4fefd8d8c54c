//! Errors for misuse of a node's API. Bad network input is never an error: it is counted in
//! [`Stats`](crate::Stats) and dropped.

use alloc::string::String;
use core::fmt;

use serde_json::Value;

use crate::crypto::CryptoError;
use crate::json::JsonError;

/// Why [`Node::send`](crate::Node::send) did not send.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// No local client has that callsign.
    UnknownClient(String),
    /// The recipient (or first relay) has no address this node can send to, and there is no
    /// default route.
    NoRoute,
    /// The frame would be larger than [`Config::max_frame_len`](crate::Config::max_frame_len).
    TooLarge {
        /// The frame's size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The transmit queue is full, or the messages under way in fragments are at their bound
    /// ([`Config::max_fragment_send_memory`](crate::Config)): here is the value back. An
    /// [`TransportEvent::Writable`](crate::TransportEvent::Writable) follows when there is room.
    Blocked(Value),
    /// A token bucket for the first hop (or the overall one) is empty: here is the value back.
    /// An [`TransportEvent::PeerWritable`](crate::TransportEvent::PeerWritable) for `peer` follows when it has a
    /// token.
    Throttled {
        /// The first hop's transport address.
        peer: crate::transport::TransportAddr,
        /// The value, handed back.
        value: Value,
    },
    /// The value cannot be encoded as strict JSON (it holds a float, or nests too deeply).
    InvalidValue(JsonError),
    /// The recipient's key cannot be encrypted to.
    Crypto(CryptoError),
    /// [`Config::max_open_queries`](crate::Config::max_open_queries) queries are already open;
    /// nothing was sent.
    TooManyQueries,
    /// Every known address of the recipient failed (or none is known) and no lookup could be
    /// started or waited on; nothing was sent.
    Unreachable,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownClient(callsign) => write!(f, "no local client has callsign {callsign:?}"),
            Self::NoRoute => f.write_str("no route to the recipient and no default route"),
            Self::TooLarge { len, max } => {
                write!(f, "frame of {len} bytes exceeds the {max}-byte limit")
            }
            // These texts are recorded in scenario vectors, so they keep the event names of the
            // flat `Event` the vectors were made with (`TransportEvent::Writable` today).
            Self::Blocked(_) => {
                f.write_str("transmit queue or fragmented sends full; retry after Event::Writable")
            }
            Self::Throttled { peer, .. } => {
                write!(
                    f,
                    "throttled sending to {peer}; retry after Event::PeerWritable"
                )
            }
            Self::InvalidValue(err) => write!(f, "value is not strict JSON: {err}"),
            Self::Crypto(err) => write!(f, "cannot encrypt to the recipient: {err}"),
            Self::TooManyQueries => f.write_str("too many open queries"),
            Self::Unreachable => f.write_str("the recipient has no working address"),
        }
    }
}

impl core::error::Error for SendError {}

/// Why a command was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// [`Config::max_clients`](crate::Config::max_clients) clients already exist.
    TooManyClients,
    /// A client with this callsign already exists.
    DuplicateClient(String),
    /// Callsigns are 1 to 64 bytes.
    InvalidCallsign,
    /// [`MAX_LOCAL_ADDRESSES`](crate::MAX_LOCAL_ADDRESSES) local addresses already exist.
    TooManyAddresses,
    /// The send failed.
    Send(SendError),
    /// A CJP2P send failed.
    Cjp2p(crate::cjp2p::Cjp2pSendError),
    /// A download could not start.
    Fetch(FetchError),
}

/// Why [`crate::Content::fetch`](crate::Content::fetch) refused to start a download.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchError {
    /// No content storage: see [`crate::Content::set_storage`](crate::Content::set_storage).
    NoStorage,
    /// No UDP source was given.
    NoSources,
    /// [`Config::max_downloads`](crate::Config::max_downloads) downloads are already active.
    TooManyDownloads,
    /// The storage failed while reopening a partial download; the text says why.
    Store(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoStorage => f.write_str("no content storage to download into"),
            Self::NoSources => f.write_str("no UDP source to download from"),
            Self::TooManyDownloads => f.write_str("too many downloads active"),
            Self::Store(why) => write!(f, "content storage failed: {why}"),
        }
    }
}

impl core::error::Error for FetchError {}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyClients => f.write_str("too many clients"),
            Self::DuplicateClient(callsign) => {
                write!(f, "a client called {callsign:?} already exists")
            }
            Self::InvalidCallsign => f.write_str("callsigns are 1 to 64 bytes"),
            Self::TooManyAddresses => f.write_str("too many local addresses"),
            Self::Send(err) => err.fmt(f),
            Self::Cjp2p(err) => err.fmt(f),
            Self::Fetch(err) => err.fmt(f),
        }
    }
}

impl core::error::Error for CommandError {}

impl From<SendError> for CommandError {
    fn from(err: SendError) -> Self {
        Self::Send(err)
    }
}
