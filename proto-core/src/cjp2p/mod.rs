//! CJP2P: the JSON peer-to-peer protocol of the public CJP2P nodes, spoken on the same UDP
//! socket as EJTP frames (a datagram starting with `[` is CJP2P).
//!
//! One datagram is one JSON array of one-key objects, `[{"PleaseSendPeers":{}},...]`. This
//! module reads and writes them ([`parse_datagram`], [`encode_datagram`]), computes our cookies
//! ([`CookieSecret`]), applies the amplification rule ([`limit_unverified_reply`]), and serves
//! content from a [`ContentStore`](crate::content::ContentStore). The node wires them together
//! (`Node::handle_datagram`, `Cjp2p::send`, `Event::Cjp2p`); `docs/PROTOCOL.md` section
//! 15 gives the bytes.

pub mod amplification;
pub mod base64;
pub mod config;
pub mod cookies;
pub mod encode;
pub mod message;
pub mod parse;
mod parse_fast;
pub(crate) mod peers;
mod raw_json;
pub mod schema;
pub mod serve;

use core::fmt;

pub use amplification::limit_unverified_reply;
pub use config::Cjp2pConfig;
pub use cookies::CookieSecret;
pub use encode::encode_datagram;
pub use message::{Cjp2pMessage, Cookie};
pub use parse::{Cjp2pError, MAX_DATAGRAM_LEN, Parsed, parse_datagram};
pub use peers::Cjp2pPeer;
pub use raw_json::{NotJson, RawJson};

/// The default UDP port of CJP2P nodes.
pub const DEFAULT_PORT: u16 = 24_254;

/// Why [`crate::Cjp2p::send`](crate::Cjp2p::send) sent nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cjp2pSendError {
    /// CJP2P travels over UDP only.
    NotUdp,
    /// The datagram would be larger than the largest frame the node sends.
    TooLarge {
        /// The datagram's size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The transmit queue is full; an `TransportEvent::Writable` follows when there is room.
    Blocked,
}

impl fmt::Display for Cjp2pSendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotUdp => f.write_str("CJP2P datagrams go over UDP only"),
            Self::TooLarge { len, max } => {
                write!(f, "CJP2P datagram of {len} bytes exceeds {max}")
            }
            Self::Blocked => f.write_str("transmit queue full"),
        }
    }
}

impl core::error::Error for Cjp2pSendError {}
