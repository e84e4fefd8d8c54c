//! Routing between the downloads (`node/downloads/`), the CJP2P side and the transport.
//!
//! [`Node::fetch`] starts a download, CJP2P `Content` and `MaybeTheyHaveSome` answers and
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
use super::downloads::{Route, SourceLink, Started, reply_sized_chunks};
use crate::address::Address;
use crate::cjp2p::Cjp2pMessage;
use crate::content::{ContentId, ContentStore};
use crate::content::{SessionContent, StoreError};
use crate::error::CommandError;
use crate::event::Event;
use crate::event::FetchEvent;
use crate::identity::{PublicIdentity, PublicKey};
use crate::transport::TransportAddr;
use alloc::collections::BTreeMap;
use alloc::string::ToString;
use core::str::FromStr;

/// Room kept in a session frame for everything but the content bytes: the `r` prefix with the
/// recipient's address, the session header, the content header and the tag (about 130 bytes
/// for the longest IPv6 address, rounded up generously).
const SESSION_FRAME_OVERHEAD: usize = 512;

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

    /// Answers a content request that came in the session with `peer`: the bytes asked (at most
    /// `max_content_reply`, and what fits in one frame), read straight into the plaintext.
    fn serve_in_session(
        &mut self,
        from: TransportAddr,
        peer: &PublicKey,
        id: ContentId,
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
                self.ctx.stats.cjp2p.cjp2p_store_failures += 1;
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
            self.ctx.stats.fetch.session_content_served += 1;
        }
    }
}

/// The `Data` plaintext answering a request, with the bytes read in place; `None` when the
/// store does not hold the content.
fn read_for_session(
    store: &mut dyn ContentStore,
    id: ContentId,
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

impl Node {
    // ----- downloads -----

    /// Starts downloading `id` from `sources` (see [`fetch`](Self::fetch)), and routes how it
    /// started: driven now, or completed at once from what the storage holds.
    pub(super) fn start_download(
        &mut self,
        id: ContentId,
        sources: Vec<TransportAddr>,
    ) -> Result<(), CommandError> {
        let sources: Vec<TransportAddr> = sources
            .into_iter()
            .filter(|source| source.protocol == crate::transport::Protocol::Udp)
            .collect();
        match self
            .downloads
            .start(self.ctx.now, id, sources)
            .map_err(CommandError::Fetch)?
        {
            Started::Joined => self.drive_download(id),
            Started::Held { len } => {
                self.ctx.push_event(Event::Fetch(FetchEvent::Progress {
                    id,
                    have: len,
                    total: len,
                }));
                self.ctx
                    .push_event(Event::Fetch(FetchEvent::Completed { id, len }));
            }
            Started::New => {
                // Our own nodes answer more than a block per request: ask them so from the
                // first request on.
                let ours: Vec<(TransportAddr, u32)> = self
                    .downloads
                    .sources_of(&id)
                    .into_iter()
                    .filter_map(|info| Some((info.addr, self.blocks_for_our_node(info.addr)?)))
                    .collect();
                for (addr, blocks) in ours {
                    self.downloads.set_blocks_in(&id, addr, blocks);
                }
                self.drive_download(id);
            }
        }
        Ok(())
    }

    /// The store CJP2P requests are served from: the content storage if set, else the store
    /// given to `set_content_store`.
    pub(super) fn serving_store_mut(&mut self) -> Option<&mut dyn ContentStore> {
        match self.downloads.storage_mut() {
            Some(storage) => Some(storage as &mut dyn ContentStore),
            None => self
                .cjp2p
                .store_mut()
                .map(|store| store as &mut dyn ContentStore),
        }
    }

    /// Hands a CJP2P message to the download it answers. Returns the message back when no
    /// active download wants it (it then becomes an [`Event::Cjp2p`]).
    ///
    /// Only verified datagrams (they returned our cookie, so their source is not forged) feed a
    /// download: a forged `Content` could otherwise make a source look corrupt or slow. The
    /// content is verified as a whole anyway. Consumed messages are not surfaced as events: a
    /// large download is thousands of them, and the application sees progress instead.
    pub(super) fn feed_download(
        &mut self,
        from: TransportAddr,
        verified: bool,
        message: Cjp2pMessage,
    ) -> Option<Cjp2pMessage> {
        let (Cjp2pMessage::Content { id: id_text, .. }
        | Cjp2pMessage::MaybeTheyHaveSome { id: id_text, .. }) = &message
        else {
            return Some(message);
        };
        let Ok(id) = ContentId::from_str(id_text) else {
            return Some(message);
        };
        if !self.downloads.is_active(&id) {
            return Some(message);
        }
        if !verified {
            self.ctx.stats.fetch.download_unverified += 1;
            return None;
        }
        match message {
            Cjp2pMessage::Content {
                offset, data, eof, ..
            } => {
                // Without storage the bytes cannot be kept: the download's timer asks again
                // once there is some.
                self.downloads
                    .handle_block(self.ctx.now, &id, from, offset, &data, eof);
            }
            Cjp2pMessage::MaybeTheyHaveSome { peers, .. } => {
                // Only candidates: the public node sends this beside Content, and instead of it
                // when it ignores a request at random, so `from` stays a source. It names
                // whoever it served, us among them: our own addresses are left out.
                let peers: Vec<TransportAddr> = peers
                    .into_iter()
                    .filter(|peer| !self.cjp2p.is_own(&self.ctx, *peer))
                    .map(TransportAddr::udp)
                    .collect();
                self.downloads.handle_no_content(&id, from, &peers);
                for peer in peers {
                    if let Some(blocks) = self.blocks_for_our_node(peer) {
                        self.downloads.set_source_blocks(peer, blocks);
                    }
                }
            }
            _ => {}
        }
        self.drive_download(id);
        None
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
        if !(known
            && self
                .downloads
                .handle_block(self.ctx.now, &id, from, offset, bytes, eof))
        {
            self.ctx.stats.fetch.session_content_dropped += 1;
            return;
        }
        self.ctx.stats.fetch.session_content_bytes += bytes.len() as u64;
        self.drive_download(id);
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
                if self.send_cjp2p(now, to, chunk).is_err() {
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
