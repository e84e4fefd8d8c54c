//! Which transport a download's request to a source goes over: the content-sessions policy
//! (`docs/PROTOCOL.md` section 19).
//!
//! Our own nodes tell CJP2P peers who they are with `EjtpSessions`. A download asks such a
//! source for up to what both sides answer per request instead of one block, and once a Noise
//! session with the announced key is up it asks in that session (one AEAD per frame, no
//! base64, no JSON, no cookies). Until then, or if the handshake never completes (a peer that
//! lied about its key), the same requests go as CJP2P datagrams, so a download never waits on
//! a session. The policy only decides; the node opens sessions and seals frames.

use alloc::vec::Vec;

use crate::config::Config;
use crate::content::{BlockRequest, CJP2P_BLOCK_SIZE, SessionContent};
use crate::identity::PublicKey;
use crate::transport::{Protocol, TransportAddr};

/// What the node knows of a source when a request to it leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::node) struct SourceLink {
    /// The key of our own node at the source, if it said it is one and told its key.
    pub(in crate::node) our_node: Option<PublicKey>,
    /// Whether a confirmed session with that key is up.
    pub(in crate::node) session_up: bool,
}

/// How a request to a source leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::node) enum Route {
    /// In a CJP2P datagram.
    Cjp2p,
    /// In a CJP2P datagram, while the node opens a session with our node `key` (once: the
    /// node does not start a second handshake with a peer it is already shaking hands with)
    /// for the requests that follow.
    Cjp2pWhileOpening(PublicKey),
    /// As a session content message in the confirmed session with our node `key`.
    Session(PublicKey),
}

/// The content-sessions settings downloads follow.
#[derive(Clone, Copy, Debug)]
pub(super) struct SessionPolicy {
    /// Sessions are accepted and content sessions are on.
    on: bool,
    /// Most bytes this node answers per request: no source is asked for more.
    max_request: u64,
}

impl SessionPolicy {
    /// The node's settings: `sessions` and `cjp2p.content_sessions`, `cjp2p.max_content_reply`.
    pub(super) fn new(config: &Config) -> Self {
        Self {
            on: config.sessions && config.cjp2p.content_sessions,
            max_request: config.cjp2p.max_content_reply as u64,
        }
    }

    /// How a request to `to` leaves, given what the node knows of it.
    pub(super) fn route(&self, to: TransportAddr, link: SourceLink) -> Route {
        if !self.on || to.protocol != Protocol::Udp {
            return Route::Cjp2p;
        }
        match link.our_node {
            Some(key) if link.session_up => Route::Session(key),
            Some(key) => Route::Cjp2pWhileOpening(key),
            None => Route::Cjp2p,
        }
    }

    /// Blocks per request for a source that said it answers `theirs` bytes (one of our own
    /// nodes): no more than we would answer ourselves, and `None` when that is one block or
    /// less (the default).
    pub(super) fn blocks_per_request(&self, theirs: u64) -> Option<u32> {
        let block = u64::from(CJP2P_BLOCK_SIZE);
        u32::try_from(theirs.min(self.max_request) / block)
            .ok()
            .filter(|n| *n > 1)
    }
}

/// The session plaintext asking what `request` asks.
pub(in crate::node) fn session_request(request: &BlockRequest) -> Vec<u8> {
    SessionContent::Request {
        id: request.id,
        offset: request.offset,
        length: u32::try_from(request.length).unwrap_or(u32::MAX),
    }
    .encode()
}
