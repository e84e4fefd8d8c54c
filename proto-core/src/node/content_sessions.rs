//! Content between our own nodes over EJTP sessions (`docs/PROTOCOL.md` section 19): the node's
//! side of it.
//!
//! Our nodes tell CJP2P peers who they are with `EjtpSessions` next to `MyPublicKey`. Which
//! transport a download's request to such a peer goes over, and how much it asks, is a policy
//! of the downloads (`node/downloads/transport.rs`). What stays here is what only the node
//! knows or does: what we announce, what peers announced (their key, how much they answer),
//! asking a source who it is, serving requests that come in a session, and handing session
//! content to the downloads.

use alloc::vec::Vec;

use super::Node;
use super::downloads::Route;
use crate::address::Address;
use crate::cjp2p::Cjp2pMessage;
use crate::content::{ContentStore, SessionContent, StoreError};
use crate::identity::PublicKey;
use crate::transport::TransportAddr;

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
        if self.downloads.has_source(addr) {
            if let Route::Cjp2pWhileOpening(key) =
                self.downloads.route(addr, self.source_link(addr))
            {
                self.open_content_session(addr, key);
            }
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
        self.downloads.blocks_per_request(theirs)
    }

    /// `PleaseSendPeers` to add to a download's requests to `addr` when it is verified but has
    /// not said whether it is one of our nodes: our nodes answer it with their key and
    /// `EjtpSessions` (in a datagram we can verify). Asked at most [`IDENTITY_ASKS`] times, and
    /// [`IDENTITY_ASK_INTERVAL`] apart.
    pub(super) fn identity_question(
        &mut self,
        addr: core::net::SocketAddr,
    ) -> Option<Cjp2pMessage> {
        let now = self.ctx.now;
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
            Err(_) => self.ctx.stats.session_content_dropped += 1,
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
        let most = self.ctx.config.cjp2p.max_content_reply.min(
            self.ctx
                .config
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
                self.ctx.stats.cjp2p_store_failures += 1;
                return;
            }
        };
        let location = Address::from_transport(from);
        let Some(frames) = self.transport.seal_session_datagrams(
            &mut self.ctx,
            peer,
            &location,
            &plaintext,
            from,
            false,
        ) else {
            return;
        };
        let mut queued = true;
        for frame in frames {
            queued &= self.transport.queue_transmit(&mut self.ctx, from, frame);
        }
        if queued {
            self.ctx.stats.session_content_served += 1;
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
