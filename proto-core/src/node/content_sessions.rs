//! Content between our own nodes over EJTP sessions (`docs/PROTOCOL.md` section 19).
//!
//! Our nodes tell CJP2P peers who they are with `EjtpSessions` next to `MyPublicKey`. A node
//! that downloads from such a peer asks it for up to `max_request` bytes per request instead of
//! one block, opens a Noise session with the announced key at the peer's CJP2P address, and once
//! the session is up sends its requests as binary [`SessionContent`] messages inside session
//! frames: one AEAD per frame, no base64, no JSON, no cookies. Until then, or if the handshake
//! never completes (a peer that lied about its key), the same requests go as CJP2P datagrams,
//! so a download never waits on a session.

use alloc::vec::Vec;

use super::Node;
use crate::address::Address;
use crate::cjp2p::Cjp2pMessage;
use crate::content::{BlockRequest, ContentStore, SessionContent, StoreError};
use crate::identity::{PublicIdentity, PublicKey};
use crate::transport::{Protocol, TransportAddr};

/// Room kept in a session frame for everything but the content bytes: the `r` prefix with the
/// recipient's address, the session header, the content header and the tag (about 130 bytes
/// for the longest IPv6 address, rounded up generously).
const SESSION_FRAME_OVERHEAD: usize = 512;

/// Times a download asks a source that has not said who it is (see
/// [`Node::identity_question`]): the greeting that says it can be lost, and a public CJP2P node
/// never says it.
const IDENTITY_ASKS: u8 = 3;

/// Time between two such questions to the same peer.
const IDENTITY_ASK_INTERVAL: core::time::Duration = core::time::Duration::from_secs(1);

impl Node {
    /// What we tell CJP2P peers about ourselves, if we accept sessions.
    pub(super) fn ejtp_announcement(&self) -> Option<Cjp2pMessage> {
        self.config.sessions.then_some(Cjp2pMessage::EjtpSessions {
            max_request: self.config.cjp2p.max_content_reply as u64,
        })
    }

    /// A verified datagram from `source` said `EjtpSessions`: note it, ask it in larger requests
    /// from now on, and start the session content will use (if we will use one).
    pub(super) fn on_ejtp_sessions(&mut self, source: core::net::SocketAddr, max_request: u64) {
        let Some(peer) = self.cjp2p.peer_mut(&source) else {
            return;
        };
        peer.ejtp_max_request = Some(max_request);
        let addr = TransportAddr::udp(source);
        if let Some(blocks) = self.blocks_for_our_node(addr) {
            self.downloads.set_source_blocks(addr, blocks);
        }
        if self.content_sessions_on() && self.downloads.has_source(addr) {
            self.content_session(addr);
        }
    }

    /// The key of our own node at `addr`, if it said it is one and told its key.
    pub(super) fn our_node_key(&self, addr: TransportAddr) -> Option<PublicKey> {
        let peer = self.cjp2p.peer(&addr.addr)?;
        peer.ejtp_max_request?;
        peer.key
    }

    /// Blocks per request for `addr` if it is one of our own nodes: what it says it answers,
    /// and no more than we would answer ourselves.
    pub(super) fn blocks_for_our_node(&self, addr: TransportAddr) -> Option<u32> {
        let theirs = self.cjp2p.peer(&addr.addr)?.ejtp_max_request?;
        let ours = self.config.cjp2p.max_content_reply as u64;
        let block = u64::from(crate::content::CJP2P_BLOCK_SIZE);
        u32::try_from(theirs.min(ours) / block)
            .ok()
            .filter(|n| *n > 1)
    }

    /// `PleaseSendPeers` to add to a download's requests to `addr` when it is verified but has
    /// not said whether it is one of our nodes: our nodes answer it with their key and
    /// `EjtpSessions` (in a datagram we can verify). Asked at most [`IDENTITY_ASKS`] times, and
    /// [`IDENTITY_ASK_INTERVAL`] apart.
    pub(super) fn identity_question(
        &mut self,
        addr: core::net::SocketAddr,
    ) -> Option<Cjp2pMessage> {
        let now = self.now;
        let entry = self.cjp2p.entry_mut(&addr)?;
        let due = entry
            .identity_asked
            .is_none_or(|at| now >= at + IDENTITY_ASK_INTERVAL);
        let unknown = entry.info.ejtp_max_request.is_none() || entry.info.key.is_none();
        if !(entry.info.verified_us && entry.cookie.is_some() && unknown && due)
            || entry.identity_asks >= IDENTITY_ASKS
        {
            return None;
        }
        entry.identity_asks += 1;
        entry.identity_asked = Some(now);
        Some(Cjp2pMessage::PleaseSendPeers)
    }

    fn content_sessions_on(&self) -> bool {
        self.config.sessions && self.config.cjp2p.content_sessions
    }

    /// The key of the confirmed session to fetch content from `addr` on. Without one, starts
    /// the handshake (once) and returns `None`: the caller uses CJP2P meanwhile.
    fn content_session(&mut self, addr: TransportAddr) -> Option<PublicKey> {
        if !self.content_sessions_on() || addr.protocol != Protocol::Udp {
            return None;
        }
        let key = self.our_node_key(addr)?;
        if self.has_session(&key.node_id()) {
            return Some(key);
        }
        let identity = PublicIdentity {
            name: alloc::string::String::new(),
            location: Address::from_transport(addr),
            key,
        };
        self.start_handshake(&identity, addr);
        None
    }

    /// Sends `request` in the session with its source if it is one of our nodes and the session
    /// is up. False when it must go as CJP2P.
    pub(super) fn send_request_in_session(&mut self, request: &BlockRequest) -> bool {
        let Some(key) = self.content_session(request.to) else {
            return false;
        };
        let message = SessionContent::Request {
            id: request.id,
            offset: request.offset,
            length: u32::try_from(request.length).unwrap_or(u32::MAX),
        };
        let location = Address::from_transport(request.to);
        let Some(frame) = self.seal_session_plaintext(&key, &location, &message.encode()) else {
            return false;
        };
        if self.queue_transmit(request.to, frame) {
            self.stats.session_content_requests += 1;
        } else {
            // A full queue: the download's timer asks again.
            self.stats.download_requests_dropped += 1;
        }
        true
    }

    /// A session plaintext that is a content message, from `peer` at `from`.
    pub(super) fn on_session_content(
        &mut self,
        from: TransportAddr,
        peer: &PublicKey,
        plaintext: &[u8],
    ) {
        match SessionContent::decode(plaintext) {
            Ok(SessionContent::Request { id, offset, length }) => {
                self.serve_in_session(from, peer, id, offset, length);
            }
            Ok(SessionContent::Data {
                id,
                offset,
                eof,
                bytes,
            }) => self.feed_session_data(from, peer, id, offset, bytes, eof),
            Ok(SessionContent::Missing { id }) => self.feed_session_missing(from, peer, id),
            Err(_) => self.stats.session_content_dropped += 1,
        }
    }

    /// Answers a content request that came in the session with `peer`: the bytes asked (at most
    /// `max_content_reply`, and what fits in one frame), read straight into the plaintext.
    fn serve_in_session(
        &mut self,
        from: TransportAddr,
        peer: &PublicKey,
        id: crate::content::ContentId,
        offset: u64,
        length: u32,
    ) {
        let most = self.config.cjp2p.max_content_reply.min(
            self.config
                .max_frame_len
                .saturating_sub(SESSION_FRAME_OVERHEAD),
        );
        let plaintext = match self.serving_store_mut() {
            Some(store) => read_for_session(store, id, offset, length, most),
            None => Ok(None),
        };
        let plaintext = match plaintext {
            Ok(Some(plaintext)) => plaintext,
            Ok(None) => SessionContent::Missing { id }.encode(),
            Err(_) => {
                self.stats.cjp2p_store_failures += 1;
                return;
            }
        };
        let location = Address::from_transport(from);
        let Some(frame) = self.seal_session_plaintext(peer, &location, &plaintext) else {
            return;
        };
        if self.queue_transmit(from, frame) {
            self.stats.session_content_served += 1;
        }
    }
}

/// The `Data` plaintext answering a request, with the bytes read in place; `None` when the
/// store does not hold the content.
fn read_for_session(
    store: &mut dyn ContentStore,
    id: crate::content::ContentId,
    offset: u64,
    length: u32,
    most: usize,
) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(eof) = store.len_of(&id) else {
        return Ok(None);
    };
    let available = eof.saturating_sub(offset);
    let count = usize::try_from(u64::from(length).min(available))
        .unwrap_or(usize::MAX)
        .min(most);
    let header = SessionContent::Data {
        id,
        offset,
        eof,
        bytes: &[],
    };
    let mut plaintext = Vec::with_capacity(header.encoded_len() + count);
    header.encode_into(&mut plaintext);
    let header_len = plaintext.len();
    plaintext.resize(header_len + count, 0);
    if count > 0 {
        let body = plaintext.get_mut(header_len..).unwrap_or_default();
        match store.read_at(&id, offset, body) {
            Ok(read) => plaintext.truncate(header_len + read),
            Err(StoreError::NotFound) => return Ok(None),
            Err(error) => return Err(error),
        }
    }
    Ok(Some(plaintext))
}
