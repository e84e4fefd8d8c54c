//! The node's side of downloads: the public commands, and the routing between the downloads
//! sub-machine (`node/downloads/`) and the rest of the node.
//!
//! [`Node::fetch`] starts a download, CJP2P `Content` and `MaybeTheyHaveSome` answers and
//! session content feed it, its requests leave as `PleaseSendContent` through the CJP2P send
//! path (cookies first) or in a session with one of our own nodes, and its timers join the
//! node's. What the node knows of a source (whether it is one of our nodes, how much it
//! answers) is handed to the downloads here; they never ask the node.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::ToString;
use alloc::vec::Vec;
use core::str::FromStr;

use super::Node;
use super::downloads::{ContentStorage, Route, SourceLink, Started, reply_sized_chunks};
use crate::address::Address;
use crate::cjp2p::Cjp2pMessage;
use crate::content::{ContentId, ContentStore, DownloadConfig};
use crate::error::CommandError;
use crate::event::Event;
use crate::identity::{PublicIdentity, PublicKey};
use crate::time::Instant;
use crate::transport::TransportAddr;

impl Node {
    // ----- public API -----

    /// Gives the node one storage for content it serves and downloads it makes, replacing and
    /// returning the previous one. While set, it serves CJP2P peers in place of the store given
    /// to [`set_content_store`](Self::set_content_store) (which is kept, and serves again once
    /// this is `None`). Active downloads keep running and write to the new storage, which
    /// should therefore be the same folder or empty of their partials.
    pub fn set_content_storage(
        &mut self,
        storage: Option<Box<dyn ContentStorage + Send + Sync>>,
    ) -> Option<Box<dyn ContentStorage + Send + Sync>> {
        self.downloads.replace_storage(storage)
    }

    /// The content storage, for the application to add to it.
    pub fn content_storage_mut(
        &mut self,
    ) -> Option<&mut (dyn ContentStorage + Send + Sync + 'static)> {
        self.downloads.storage_mut()
    }

    /// How new downloads behave (windows, timeouts, bounds); running downloads keep theirs.
    /// Default [`DownloadConfig::default`].
    pub fn set_download_config(&mut self, config: DownloadConfig) {
        self.downloads.set_config(config);
    }

    /// Starts downloading `id` from `sources` over CJP2P (UDP addresses), resuming what the
    /// storage kept of an earlier attempt. The outcome comes as [`Event::DownloadCompleted`] or
    /// [`Event::DownloadFailed`], with [`Event::DownloadProgress`] on the way. Content the
    /// storage already holds completes at once. Fetching an id already being fetched adds
    /// the sources to it.
    ///
    /// # Errors
    /// [`FetchError`](crate::error::FetchError) (inside [`CommandError::Fetch`]): no storage,
    /// no usable source, [`Config::max_downloads`](crate::Config::max_downloads) downloads
    /// already active, or the storage failed.
    pub fn fetch(
        &mut self,
        now: Instant,
        id: ContentId,
        sources: Vec<TransportAddr>,
    ) -> Result<(), CommandError> {
        self.ctx.advance(now);
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
                self.ctx.push_event(Event::DownloadProgress {
                    id,
                    have: len,
                    total: len,
                });
                self.ctx.push_event(Event::DownloadCompleted { id, len });
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

    /// Stops downloading `id`, keeping what the storage holds of it (a later fetch resumes).
    /// Returns whether it was active. No event follows.
    pub fn cancel_fetch(&mut self, id: &ContentId) -> bool {
        self.downloads.cancel(id)
    }

    /// The downloads in progress: id, bytes held, total length when known.
    #[must_use]
    pub fn downloads(&self) -> Vec<(ContentId, u64, Option<u64>)> {
        self.downloads.list()
    }

    /// The sources of download `id` (windows, round-trip times, blocks kept), for progress
    /// displays and logs; empty when `id` is not being fetched.
    #[must_use]
    pub fn download_sources(&self, id: &ContentId) -> Vec<crate::content::SourceInfo> {
        self.downloads.sources_of(id)
    }

    // ----- inside the node -----

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
            self.ctx.stats.download_unverified += 1;
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
        let known = self.our_node_key(from) == Some(*peer);
        if !(known
            && self
                .downloads
                .handle_block(self.ctx.now, &id, from, offset, bytes, eof))
        {
            self.ctx.stats.session_content_dropped += 1;
            return;
        }
        self.ctx.stats.session_content_bytes += bytes.len() as u64;
        self.drive_download(id);
    }

    /// `from` (known by session key `peer`) does not hold `id`.
    pub(super) fn feed_session_missing(
        &mut self,
        from: TransportAddr,
        peer: &PublicKey,
        id: ContentId,
    ) {
        let known = self.our_node_key(from) == Some(*peer);
        if known && self.downloads.handle_not_held(&id, from) {
            self.drive_download(id);
        } else {
            self.ctx.stats.session_content_dropped += 1;
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
            requests.extend(self.identity_question(to.addr));
            for chunk in reply_sized_chunks(requests) {
                // A refused send (full queue) is a lost request: the download's timer asks again.
                if self.send_cjp2p(now, to, chunk).is_err() {
                    self.ctx.stats.download_requests_dropped += 1;
                }
            }
        }
        for event in drive.events {
            self.ctx.push_event(event);
        }
    }

    /// What the node knows of `addr` for the downloads' choice of transport.
    pub(super) fn source_link(&self, addr: TransportAddr) -> SourceLink {
        let our_node = self.our_node_key(addr);
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
