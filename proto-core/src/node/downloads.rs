//! Downloads driven by the node: [`Node::fetch`] starts one, CJP2P `Content` and
//! `MaybeTheyHaveSome` answers feed it, its requests leave as `PleaseSendContent` through the
//! CJP2P send path (cookies first), and its timers join the node's.
//!
//! The engine is [`crate::content::Download`]; this file only routes messages, keeps the
//! bounded table of active downloads, and turns the engine's events into node events at a
//! bounded rate.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::ToString;
use alloc::vec::Vec;
use core::str::FromStr;

use super::Node;
use crate::cjp2p::Cjp2pMessage;
use crate::content::{
    CJP2P_MAX_REPLY, ContentId, ContentStore, Download, DownloadConfig, DownloadEvent, PartialStore,
};
use crate::error::{CommandError, FetchError};
use crate::event::Event;
use crate::time::Instant;
use crate::transport::TransportAddr;

/// Requests to the same source sent in one datagram at most: the source answers them all in
/// one datagram, so this bounds a reply (4 blocks of 4096 bytes are about 22 KB of JSON).
const MAX_REQUESTS_PER_DATAGRAM: usize = 4;

/// Storage for both sides of content: complete content the node serves ([`ContentStore`]) and
/// downloads in progress ([`PartialStore`]). One object holds both so that a download that
/// finishes is served at once (a directory store renames the file into the shared folder).
///
/// Every type implementing both traits is a `ContentStorage`.
pub trait ContentStorage: ContentStore + PartialStore {}

impl<T: ContentStore + PartialStore + ?Sized> ContentStorage for T {}

/// One active download.
struct Active {
    download: Download,
    /// When the last [`Event::DownloadProgress`] was pushed.
    last_progress: Option<Instant>,
    /// Progress not yet reported: (have, total).
    unreported: Option<(u64, u64)>,
}

/// The node's downloads: the storage they write to and the table of active ones.
pub(super) struct DownloadsState {
    storage: Option<Box<dyn ContentStorage + Send + Sync>>,
    active: BTreeMap<ContentId, Active>,
    config: DownloadConfig,
}

impl DownloadsState {
    pub(super) fn new() -> Self {
        Self {
            storage: None,
            active: BTreeMap::new(),
            config: DownloadConfig::default(),
        }
    }
}

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
        core::mem::replace(&mut self.downloads.storage, storage)
    }

    /// The content storage, for the application to add to it.
    pub fn content_storage_mut(
        &mut self,
    ) -> Option<&mut (dyn ContentStorage + Send + Sync + 'static)> {
        self.downloads.storage.as_deref_mut()
    }

    /// How new downloads behave (windows, timeouts, bounds); running downloads keep theirs.
    /// Default [`DownloadConfig::default`].
    pub fn set_download_config(&mut self, config: DownloadConfig) {
        self.downloads.config = config;
    }

    /// Starts downloading `id` from `sources` over CJP2P (UDP addresses), resuming what the
    /// storage kept of an earlier attempt. The outcome comes as [`Event::DownloadCompleted`] or
    /// [`Event::DownloadFailed`], with [`Event::DownloadProgress`] on the way. Content the
    /// storage already holds completes at once. Fetching an id already being fetched adds
    /// the sources to it.
    ///
    /// # Errors
    /// [`FetchError`] (inside [`CommandError::Fetch`]): no storage, no usable source,
    /// [`Config::max_downloads`](crate::Config::max_downloads) downloads already active, or the
    /// storage failed.
    pub fn fetch(
        &mut self,
        now: Instant,
        id: ContentId,
        sources: Vec<TransportAddr>,
    ) -> Result<(), CommandError> {
        self.advance(now);
        let sources: Vec<TransportAddr> = sources
            .into_iter()
            .filter(|source| source.protocol == crate::transport::Protocol::Udp)
            .collect();
        let state = &mut self.downloads;
        let Some(storage) = state.storage.as_deref_mut() else {
            return Err(CommandError::Fetch(FetchError::NoStorage));
        };
        if let Some(active) = state.active.get_mut(&id) {
            active.download.handle_more_sources(sources);
            self.drive_download(id);
            return Ok(());
        }
        if let Some(len) = storage.len_of(&id) {
            self.push_event(Event::DownloadProgress {
                id,
                have: len,
                total: len,
            });
            self.push_event(Event::DownloadCompleted { id, len });
            return Ok(());
        }
        if sources.is_empty() {
            return Err(CommandError::Fetch(FetchError::NoSources));
        }
        if state.active.len() >= self.config.max_downloads {
            return Err(CommandError::Fetch(FetchError::TooManyDownloads));
        }
        let mut download =
            Download::resume(id, state.config, self.now, storage).map_err(|err| {
                // The store's own words (they name its folder), not wrapped twice.
                let why = match err {
                    crate::content::StoreError::Failed(why) => why,
                    other => other.to_string(),
                };
                CommandError::Fetch(FetchError::Store(why))
            })?;
        for source in sources {
            download.add_source(source);
        }
        let ours: Vec<(TransportAddr, u32)> = download
            .sources()
            .filter_map(|info| Some((info.addr, self.blocks_for_our_node(info.addr)?)))
            .collect();
        let state = &mut self.downloads;
        for (addr, blocks) in ours {
            download.set_blocks_per_request(&addr, blocks);
        }
        state.active.insert(
            id,
            Active {
                download,
                last_progress: None,
                unreported: None,
            },
        );
        self.drive_download(id);
        Ok(())
    }

    /// Stops downloading `id`, keeping what the storage holds of it (a later fetch resumes).
    /// Returns whether it was active. No event follows.
    pub fn cancel_fetch(&mut self, id: &ContentId) -> bool {
        self.downloads.active.remove(id).is_some()
    }

    /// The downloads in progress: id, bytes held, total length when known.
    #[must_use]
    pub fn downloads(&self) -> Vec<(ContentId, u64, Option<u64>)> {
        self.downloads
            .active
            .iter()
            .map(|(id, active)| {
                let download = &active.download;
                let total = download.layout().map(|layout| layout.total_len);
                (*id, download.have_bytes(), total)
            })
            .collect()
    }

    /// The sources of download `id` (windows, round-trip times, blocks kept), for progress
    /// displays and logs; empty when `id` is not being fetched.
    #[must_use]
    pub fn download_sources(&self, id: &ContentId) -> Vec<crate::content::SourceInfo> {
        self.downloads
            .active
            .get(id)
            .map(|active| active.download.sources().collect())
            .unwrap_or_default()
    }

    // ----- inside the node -----

    /// The store CJP2P requests are served from: the content storage if set, else the store
    /// given to `set_content_store`.
    pub(super) fn serving_store_mut(&mut self) -> Option<&mut dyn ContentStore> {
        match self.downloads.storage.as_deref_mut() {
            Some(storage) => Some(storage as &mut dyn ContentStore),
            None => self
                .cjp2p
                .store_mut()
                .map(|store| store as &mut dyn ContentStore),
        }
    }

    /// The store CJP2P content lists come from (see [`Self::serving_store_mut`]).
    pub(super) fn serving_store(&self) -> Option<&dyn ContentStore> {
        match self.downloads.storage.as_deref() {
            Some(storage) => Some(storage as &dyn ContentStore),
            None => self.cjp2p.store().map(|store| store as &dyn ContentStore),
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
        if !self.downloads.active.contains_key(&id) {
            return Some(message);
        }
        if !verified {
            self.stats.download_unverified += 1;
            return None;
        }
        let now = self.now;
        match message {
            Cjp2pMessage::Content {
                offset, data, eof, ..
            } => {
                let state = &mut self.downloads;
                let active = state.active.get_mut(&id)?;
                // Without storage the bytes cannot be kept: the download's timer asks again
                // once there is some.
                if let Some(storage) = state.storage.as_deref_mut() {
                    active
                        .download
                        .handle_block(now, storage, from, offset, &data, eof);
                }
            }
            Cjp2pMessage::MaybeTheyHaveSome { peers, .. } => {
                // Only candidates: the public node sends this beside Content, and instead of it
                // when it ignores a request at random, so `from` stays a source. It names
                // whoever it served, us among them: our own addresses are left out.
                let peers: Vec<TransportAddr> = peers
                    .into_iter()
                    .filter(|peer| !self.is_own_address(*peer))
                    .map(TransportAddr::udp)
                    .collect();
                let active = self.downloads.active.get_mut(&id)?;
                active
                    .download
                    .handle_no_content(from, peers.iter().copied());
                for peer in peers {
                    if let Some(blocks) = self.blocks_for_our_node(peer) {
                        self.set_source_blocks(peer, blocks);
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
        peer: &crate::identity::PublicKey,
        id: ContentId,
        offset: u64,
        bytes: &[u8],
        eof: u64,
    ) {
        let known = self.our_node_key(from) == Some(*peer);
        let now = self.now;
        let state = &mut self.downloads;
        let (Some(active), Some(storage), true) = (
            state.active.get_mut(&id),
            state.storage.as_deref_mut(),
            known,
        ) else {
            self.stats.session_content_dropped += 1;
            return;
        };
        self.stats.session_content_bytes += bytes.len() as u64;
        active
            .download
            .handle_block(now, storage, from, offset, bytes, eof);
        self.drive_download(id);
    }

    /// `from` (known by session key `peer`) does not hold `id`.
    pub(super) fn feed_session_missing(
        &mut self,
        from: TransportAddr,
        peer: &crate::identity::PublicKey,
        id: ContentId,
    ) {
        let known = self.our_node_key(from) == Some(*peer);
        match (self.downloads.active.get_mut(&id), known) {
            (Some(active), true) => {
                active.download.handle_not_held(from);
                self.drive_download(id);
            }
            _ => self.stats.session_content_dropped += 1,
        }
    }

    /// Whether any active download has `addr` as a source.
    pub(super) fn is_download_source(&self, addr: TransportAddr) -> bool {
        self.downloads
            .active
            .values()
            .any(|active| active.download.has_source(&addr))
    }

    /// Asks `blocks` blocks per request of `addr` in every download that has it as a source.
    pub(super) fn set_source_blocks(&mut self, addr: TransportAddr, blocks: u32) {
        for active in self.downloads.active.values_mut() {
            active.download.set_blocks_per_request(&addr, blocks);
        }
    }

    /// The earliest wake-up any download wants: its retransmission timer, or a progress
    /// report held back by the rate limit.
    pub(super) fn next_download_timeout(&self) -> Option<Instant> {
        let interval = self.config.download_progress_interval;
        self.downloads
            .active
            .values()
            .flat_map(|active| {
                let progress = active
                    .unreported
                    .and(active.last_progress)
                    .map(|last| last + interval);
                [active.download.poll_timeout(), progress]
            })
            .flatten()
            .min()
    }

    /// Wakes every download whose time has come.
    pub(super) fn download_timeouts(&mut self) {
        let now = self.now;
        let ids: Vec<ContentId> = self.downloads.active.keys().copied().collect();
        for id in ids {
            if let Some(active) = self.downloads.active.get_mut(&id) {
                active.download.handle_timeout(now);
            }
            self.drive_download(id);
        }
    }

    /// Sends what download `id` asks, reports what it says, and forgets it once finished.
    fn drive_download(&mut self, id: ContentId) {
        let now = self.now;
        let Some(active) = self.downloads.active.get_mut(&id) else {
            return;
        };
        let mut requests = Vec::new();
        while let Some(request) = active.download.poll_request(now) {
            requests.push(request);
        }
        let mut events = Vec::new();
        while let Some(event) = active.download.poll_event() {
            events.push(event);
        }
        let mut by_source: BTreeMap<TransportAddr, Vec<Cjp2pMessage>> = BTreeMap::new();
        for request in requests {
            // Our own nodes are asked in the session once it is up; anyone else over CJP2P.
            if self.send_request_in_session(&request) {
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
                    self.stats.download_requests_dropped += 1;
                }
            }
        }
        for event in events {
            self.on_download_event(id, event);
        }
        self.flush_progress(id, false);
    }

    fn on_download_event(&mut self, id: ContentId, event: DownloadEvent) {
        match event {
            DownloadEvent::Progress { have, total } => {
                if let Some(active) = self.downloads.active.get_mut(&id) {
                    active.unreported = Some((have, total));
                }
            }
            DownloadEvent::Completed { len, .. } => {
                self.flush_progress(id, true);
                self.downloads.active.remove(&id);
                self.stats.downloads_completed += 1;
                self.push_event(Event::DownloadCompleted { id, len });
            }
            DownloadEvent::Failed { why } => {
                self.flush_progress(id, true);
                self.downloads.active.remove(&id);
                self.stats.downloads_failed += 1;
                self.push_event(Event::DownloadFailed {
                    id,
                    why: why.to_string(),
                });
            }
            _ => {}
        }
    }

    /// Pushes the latest progress of `id` if the rate limit allows (or `force`).
    fn flush_progress(&mut self, id: ContentId, force: bool) {
        let now = self.now;
        let interval = self.config.download_progress_interval;
        let Some(active) = self.downloads.active.get_mut(&id) else {
            return;
        };
        let Some((have, total)) = active.unreported else {
            return;
        };
        let due = active
            .last_progress
            .is_none_or(|last| now >= last + interval);
        if !(force || due) {
            return;
        }
        active.unreported = None;
        active.last_progress = Some(now);
        self.push_event(Event::DownloadProgress { id, have, total });
    }
}

/// Requests grouped into datagrams: at most [`MAX_REQUESTS_PER_DATAGRAM`], asking together no
/// more than one reply carries ([`CJP2P_MAX_REPLY`]), since a source answers a whole datagram
/// in one datagram and leaves out what does not fit.
fn reply_sized_chunks(requests: Vec<Cjp2pMessage>) -> Vec<Vec<Cjp2pMessage>> {
    let mut chunks: Vec<Vec<Cjp2pMessage>> = Vec::new();
    let mut asked = 0u64;
    for request in requests {
        let length = match &request {
            Cjp2pMessage::PleaseSendContent { length, .. } => *length,
            _ => 0,
        };
        let fits = chunks.last().is_some_and(|chunk| {
            chunk.len() < MAX_REQUESTS_PER_DATAGRAM
                && asked.saturating_add(length) <= u64::from(CJP2P_MAX_REPLY)
        });
        match chunks.last_mut() {
            Some(chunk) if fits => {
                chunk.push(request);
                asked = asked.saturating_add(length);
            }
            _ => {
                chunks.push(alloc::vec![request]);
                asked = length;
            }
        }
    }
    chunks
}
