//! Routing between the downloads (`node/downloads/`), the CJP2P side and the transport.
//!
//! [`Content::fetch`] starts a download, CJP2P `Content` and `MaybeTheyHaveSome` answers and
//! session content feed it, its requests leave as `PleaseSendContent` through the CJP2P send
//! path (cookies first) or in a session with one of our own nodes, and its timers join the
//! node's. What the node knows of a source (whether it is one of our nodes, how much it
//! answers) is handed to the downloads here; they never ask the node.
//!
//! **Content between our own nodes** goes over EJTP sessions (`docs/PROTOCOL.md` section 19).
//! Our nodes tell CJP2P peers who they are with `EjtpSessions` next to `MyPublicKey`. Which
//! transport a download's request to such a peer goes over, and how much it asks, is a policy
//! of the downloads (`node/downloads/transport.rs`). What stays here is what only the node
//! knows or does: what we announce, what peers announced (their key, how much they answer),
//! asking a source who it is, serving requests that come in a session, and handing session
//! content to the downloads.

use alloc::vec::Vec;

use super::Node;
use super::downloads::{Fed, Route, SourceLink, reply_sized_chunks, serving_store, session_answer};
use crate::address::Address;
use crate::cjp2p::Cjp2pMessage;
use crate::content::ContentId;
use crate::content::SessionContent;
use crate::error::CommandError;
use crate::identity::{PublicIdentity, PublicKey};
use crate::transport::TransportAddr;
use alloc::collections::BTreeMap;
use alloc::string::ToString;

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

    /// Blocks per request for `addr` if it is one of our own nodes: what it says it answers,
    /// and no more than we would answer ourselves.
    pub(super) fn blocks_for_our_node(&self, addr: TransportAddr) -> Option<u32> {
        let theirs = self.cjp2p.peer(&addr.addr)?.ejtp_max_request?;
        self.downloads.blocks_per_request(theirs)
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
            Err(_) => self.ctx.stats.fetch.session_content_dropped += 1,
        }
    }

    /// Answers a content request that came in the session with `peer` (see
    /// `downloads/serving.rs`).
    fn serve_in_session(
        &mut self,
        from: TransportAddr,
        peer: &PublicKey,
        id: ContentId,
        offset: u64,
        length: u32,
    ) {
        let store = serving_store(&mut self.downloads, &mut self.cjp2p);
        let Some(plaintext) = session_answer(&mut self.ctx, store, id, offset, length) else {
            return;
        };
        if self
            .transport
            .send_session_plaintext(&mut self.ctx, peer, from, &plaintext)
        {
            self.ctx.stats.fetch.session_content_served += 1;
        }
    }
}

impl Node {
    // ----- downloads -----

    /// Starts downloading `id` from `sources` (see [`fetch`](crate::Content::fetch)), and routes how it
    /// started: driven now, or completed at once from what the storage holds.
    pub(super) fn start_download(
        &mut self,
        id: ContentId,
        sources: Vec<TransportAddr>,
    ) -> Result<(), CommandError> {
        let cjp2p = &self.cjp2p;
        let our_max_request = |addr: TransportAddr| {
            cjp2p
                .peer(&addr.addr)
                .and_then(|peer| peer.ejtp_max_request)
        };
        if self
            .downloads
            .start_fetch(&mut self.ctx, id, sources, &our_max_request)
            .map_err(CommandError::Fetch)?
        {
            self.drive_download(id);
        }
        Ok(())
    }

    /// Hands a CJP2P message to the download it answers (see `downloads/feeding.rs`), and
    /// drives that download. Returns the message back when no active download wants it (it
    /// then becomes an [`Event::Cjp2p`]).
    pub(super) fn feed_download(
        &mut self,
        from: TransportAddr,
        verified: bool,
        message: Cjp2pMessage,
    ) -> Option<Cjp2pMessage> {
        let (cjp2p, local_addresses) = (&self.cjp2p, &self.ctx.local_addresses);
        let is_own = |addr| cjp2p.is_own(local_addresses, addr);
        let (now, stats) = (self.ctx.now, &mut self.ctx.stats.fetch);
        match self
            .downloads
            .feed_cjp2p(now, stats, from, verified, message, &is_own)
        {
            Fed::NotOurs(message) => Some(message),
            Fed::Unverified => None,
            Fed::Taken { id, hinted } => {
                for peer in hinted {
                    if let Some(blocks) = self.blocks_for_our_node(peer) {
                        self.downloads.set_source_blocks(peer, blocks);
                    }
                }
                self.drive_download(id);
                None
            }
        }
    }

    /// Content bytes that came in a session from `from`, whose key is `peer`: handed to the
    /// download of `id` if it asked `from` and `from` is known by that key.
    pub(super) fn feed_session_data(
        &mut self,
        from: TransportAddr,
        peer: &PublicKey,
        id: ContentId,
        offset: u64,
        bytes: &[u8],
        eof: u64,
    ) {
        let known = self.cjp2p.our_node_key(from) == Some(*peer);
        if self
            .downloads
            .feed_session_data(&mut self.ctx, from, known, id, offset, bytes, eof)
        {
            self.drive_download(id);
        }
    }

    /// `from` (known by session key `peer`) does not hold `id`.
    pub(super) fn feed_session_missing(
        &mut self,
        from: TransportAddr,
        peer: &PublicKey,
        id: ContentId,
    ) {
        let known = self.cjp2p.our_node_key(from) == Some(*peer);
        if known && self.downloads.handle_not_held(&id, from) {
            self.drive_download(id);
        } else {
            self.ctx.stats.fetch.session_content_dropped += 1;
        }
    }

    /// Wakes every download whose time has come, each driven before the next is woken.
    pub(super) fn download_timeouts(&mut self) {
        let now = self.ctx.now;
        for id in self.downloads.ids() {
            self.downloads.handle_timeout(now, &id);
            self.drive_download(id);
        }
    }

    /// Sends what download `id` asks and queues what it says, after its requests.
    fn drive_download(&mut self, id: ContentId) {
        let now = self.ctx.now;
        let drive = self.downloads.drive(now, id);
        let mut by_source: BTreeMap<TransportAddr, Vec<Cjp2pMessage>> = BTreeMap::new();
        for request in drive.requests {
            // Our own nodes are asked in the session once it is up; anyone else over CJP2P.
            let in_session = match self
                .downloads
                .route(request.to, self.source_link(request.to))
            {
                Route::Session(key) => {
                    self.transport
                        .send_in_session(&mut self.ctx, &key, &request)
                }
                Route::Cjp2pWhileOpening(key) => {
                    self.open_content_session(request.to, key);
                    false
                }
                Route::Cjp2p => false,
            };
            if in_session {
                continue;
            }
            by_source
                .entry(request.to)
                .or_default()
                .push(Cjp2pMessage::PleaseSendContent {
                    id: request.id.to_string(),
                    offset: request.offset,
                    length: request.length,
                });
        }
        for (to, mut requests) in by_source {
            requests.extend(self.cjp2p.identity_question(self.ctx.now, to.addr));
            for chunk in reply_sized_chunks(requests) {
                // A refused send (full queue) is a lost request: the download's timer asks again.
                if self.cjp2p.send(&mut self.ctx, to, chunk).is_err() {
                    self.ctx.stats.fetch.download_requests_dropped += 1;
                }
            }
        }
        for event in drive.events {
            self.ctx.push_event(event);
        }
    }

    /// What the node knows of `addr` for the downloads' choice of transport.
    pub(super) fn source_link(&self, addr: TransportAddr) -> SourceLink {
        let our_node = self.cjp2p.our_node_key(addr);
        SourceLink {
            our_node,
            session_up: our_node.is_some_and(|key| self.has_session(&key.node_id())),
        }
    }

    /// Starts the handshake with our node `key` at `addr` that content requests will use
    /// (a no-op while one is already under way).
    pub(super) fn open_content_session(&mut self, addr: TransportAddr, key: PublicKey) {
        let identity = PublicIdentity {
            name: alloc::string::String::new(),
            location: Address::from_transport(addr),
            key,
        };
        self.start_handshake(&identity, addr);
    }
}
