//! Downloads as a sub-machine of the node: the storage they write to, the bounded table of
//! active downloads, the settings new ones start with, and the rate limit on their progress
//! reports.
//!
//! The engine of one download is [`crate::content::Download`]. [`Downloads`] never sends and
//! never reaches into the node: it is told what arrived (a block, a source that does not hold
//! the content, candidates) and the time, and returns what its downloads ask (block requests,
//! each to one source) and the node events they produce, in order. The node routes the
//! requests over CJP2P or over a session with one of our own nodes (`node/content_routing.rs`)
//! and queues the events.

mod chunks;
mod feeding;
mod serving;
mod starting;
#[cfg(test)]
mod tests;
mod transport;

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::ToString;
use alloc::vec::Vec;
use core::time::Duration;

pub(super) use chunks::reply_sized_chunks;
pub(super) use feeding::Fed;
pub(super) use serving::{serving_store, session_answer};
use transport::SessionPolicy;
pub(super) use transport::{Route, SourceLink, session_request};

use super::Stats;
use crate::config::Config;
use crate::content::{
    BlockRequest, ContentId, ContentStore, Download, DownloadConfig, DownloadEvent, PartialStore,
    SourceInfo, StoreError,
};
use crate::error::FetchError;
use crate::event::Event;
use crate::event::FetchEvent;
use crate::time::Instant;
use crate::transport::TransportAddr;

/// Storage for both sides of content: complete content the node serves ([`ContentStore`]) and
/// downloads in progress ([`PartialStore`]). One object holds both so that a download that
/// finishes is served at once (a directory store renames the file into the shared folder).
///
/// Every type implementing both traits is a `ContentStorage`.
pub trait ContentStorage: ContentStore + PartialStore {}

impl<T: ContentStore + PartialStore + ?Sized> ContentStorage for T {}

/// The storage as the node holds it: boxed, and shareable with an adapter's threads.
pub(super) type BoxedStorage = Box<dyn ContentStorage + Send + Sync>;

/// One active download and its progress bookkeeping.
struct Active {
    download: Download,
    /// When the last [`FetchEvent::Progress`] was reported.
    last_progress: Option<Instant>,
    /// Progress not yet reported: (have, total).
    unreported: Option<(u64, u64)>,
}

/// What the downloads counted; merged into the node's [`Stats`].
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    completed: u64,
    failed: u64,
}

/// How [`Downloads::start`] took a fetch.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Started {
    /// The content was already being fetched: the sources were added to that download.
    Joined,
    /// The storage already holds the content, `len` bytes: nothing to fetch.
    Held {
        /// The content's length.
        len: u64,
    },
    /// A new download started (resuming what the storage kept).
    New,
}

/// What one download asked and said when it was driven: the requests to send, each to one
/// source, and the node events to queue after them, both in the order they came.
#[derive(Debug, Default)]
pub(super) struct Drive {
    /// Block requests, in the order the download made them.
    pub(super) requests: Vec<BlockRequest>,
    /// Progress (rate-limited) and the end of the download.
    pub(super) events: Vec<Event>,
}

/// The node's downloads.
///
/// Bounded by [`Config::max_downloads`]: each download keeps its block map and source table,
/// bounded by its [`DownloadConfig`].
pub(super) struct Downloads {
    storage: Option<BoxedStorage>,
    active: BTreeMap<ContentId, Active>,
    config: DownloadConfig,
    max_downloads: usize,
    progress_interval: Duration,
    /// Which transport requests to our own nodes go over, and how much they are asked.
    sessions: SessionPolicy,
    counters: Counters,
}

impl Downloads {
    /// No storage, no downloads, the default [`DownloadConfig`]; the bound and the progress
    /// interval are the node's.
    pub(super) fn new(config: &Config) -> Self {
        Self {
            storage: None,
            active: BTreeMap::new(),
            config: DownloadConfig::default(),
            max_downloads: config.max_downloads,
            progress_interval: config.download_progress_interval,
            sessions: SessionPolicy::new(config),
            counters: Counters::default(),
        }
    }

    /// Puts in `storage`, returning the previous one. Active downloads write to the new one.
    pub(super) fn replace_storage(
        &mut self,
        storage: Option<BoxedStorage>,
    ) -> Option<BoxedStorage> {
        core::mem::replace(&mut self.storage, storage)
    }

    /// The storage, mutably.
    pub(super) fn storage_mut(
        &mut self,
    ) -> Option<&mut (dyn ContentStorage + Send + Sync + 'static)> {
        self.storage.as_deref_mut()
    }

    /// The settings downloads started from now on get; running ones keep theirs.
    pub(super) fn set_config(&mut self, config: DownloadConfig) {
        self.config = config;
    }

    /// Starts fetching `id` from `sources` at `now` (see `Content::fetch`), checking in this
    /// order: storage, a download already running, content already held, sources, the bound.
    ///
    /// # Errors
    /// No storage, no source, too many downloads, or the storage could not resume.
    pub(super) fn start(
        &mut self,
        now: Instant,
        id: ContentId,
        sources: Vec<TransportAddr>,
    ) -> Result<Started, FetchError> {
        let Some(storage) = self.storage.as_deref_mut() else {
            return Err(FetchError::NoStorage);
        };
        if let Some(active) = self.active.get_mut(&id) {
            active.download.handle_more_sources(sources);
            return Ok(Started::Joined);
        }
        if let Some(len) = storage.len_of(&id) {
            return Ok(Started::Held { len });
        }
        if sources.is_empty() {
            return Err(FetchError::NoSources);
        }
        if self.active.len() >= self.max_downloads {
            return Err(FetchError::TooManyDownloads);
        }
        let mut download = Download::resume(id, self.config, now, storage).map_err(|err| {
            // The store's own words (they name its folder), not wrapped twice.
            FetchError::Store(match err {
                StoreError::Failed(why) => why,
                other => other.to_string(),
            })
        })?;
        for source in sources {
            download.add_source(source);
        }
        self.active.insert(
            id,
            Active {
                download,
                last_progress: None,
                unreported: None,
            },
        );
        Ok(Started::New)
    }

    /// Stops fetching `id`; the storage keeps what it holds. Whether it was active.
    pub(super) fn cancel(&mut self, id: &ContentId) -> bool {
        self.active.remove(id).is_some()
    }

    /// Whether `id` is being fetched.
    pub(super) fn is_active(&self, id: &ContentId) -> bool {
        self.active.contains_key(id)
    }

    /// The ids being fetched, in order.
    pub(super) fn ids(&self) -> Vec<ContentId> {
        self.active.keys().copied().collect()
    }

    /// The downloads in progress: id, bytes held, total length when known.
    pub(super) fn list(&self) -> Vec<(ContentId, u64, Option<u64>)> {
        self.active
            .iter()
            .map(|(id, active)| {
                let download = &active.download;
                let total = download.layout().map(|layout| layout.total_len);
                (*id, download.have_bytes(), total)
            })
            .collect()
    }

    /// The sources of download `id`; empty when it is not active.
    pub(super) fn sources_of(&self, id: &ContentId) -> Vec<SourceInfo> {
        self.active
            .get(id)
            .map(|active| active.download.sources().collect())
            .unwrap_or_default()
    }

    /// Whether any active download has `addr` as a source.
    pub(super) fn has_source(&self, addr: TransportAddr) -> bool {
        self.active
            .values()
            .any(|active| active.download.has_source(&addr))
    }

    /// Asks `blocks` blocks per request of `addr` in download `id` only (a new download, whose
    /// sources the node knows more about than the download does).
    pub(super) fn set_blocks_in(&mut self, id: &ContentId, addr: TransportAddr, blocks: u32) {
        if let Some(active) = self.active.get_mut(id) {
            active.download.set_blocks_per_request(&addr, blocks);
        }
    }

    /// Asks `blocks` blocks per request of `addr` in every download that has it as a source.
    pub(super) fn set_source_blocks(&mut self, addr: TransportAddr, blocks: u32) {
        for active in self.active.values_mut() {
            active.download.set_blocks_per_request(&addr, blocks);
        }
    }

    /// Bytes of `id` from `from` at `offset` (the content is `eof` bytes long), written to the
    /// storage. False, and nothing done, when `id` is not active or there is no storage to
    /// keep them in (the download's timer then asks again).
    pub(super) fn handle_block(
        &mut self,
        now: Instant,
        id: &ContentId,
        from: TransportAddr,
        offset: u64,
        bytes: &[u8],
        eof: u64,
    ) -> bool {
        let (Some(active), Some(storage)) = (self.active.get_mut(id), self.storage.as_deref_mut())
        else {
            return false;
        };
        active
            .download
            .handle_block(now, storage, from, offset, bytes, eof);
        true
    }

    /// `from` does not hold `id`. False when `id` is not active.
    pub(super) fn handle_not_held(&mut self, id: &ContentId, from: TransportAddr) -> bool {
        let Some(active) = self.active.get_mut(id) else {
            return false;
        };
        active.download.handle_not_held(from);
        true
    }

    /// `from` sent no content of `id` but named `candidates` who may hold it; `from` stays a
    /// source. False when `id` is not active.
    pub(super) fn handle_no_content(
        &mut self,
        id: &ContentId,
        from: TransportAddr,
        candidates: &[TransportAddr],
    ) -> bool {
        let Some(active) = self.active.get_mut(id) else {
            return false;
        };
        active
            .download
            .handle_no_content(from, candidates.iter().copied());
        true
    }

    /// The earliest wake-up any download wants: its retransmission timer, or a progress
    /// report held back by the rate limit.
    pub(super) fn next_timeout(&self) -> Option<Instant> {
        let interval = self.progress_interval;
        self.active
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

    /// Wakes download `id` at `now` (drive it afterwards).
    pub(super) fn handle_timeout(&mut self, now: Instant, id: &ContentId) {
        if let Some(active) = self.active.get_mut(id) {
            active.download.handle_timeout(now);
        }
    }

    /// What download `id` asks and says at `now`. A finished download is forgotten here, after
    /// its last progress and its end are in the returned events.
    pub(super) fn drive(&mut self, now: Instant, id: ContentId) -> Drive {
        let mut drive = Drive::default();
        let Some(active) = self.active.get_mut(&id) else {
            return drive;
        };
        while let Some(request) = active.download.poll_request(now) {
            drive.requests.push(request);
        }
        let mut said = Vec::new();
        while let Some(event) = active.download.poll_event() {
            said.push(event);
        }
        for event in said {
            self.on_event(now, id, event, &mut drive.events);
        }
        self.flush_progress(now, id, false, &mut drive.events);
        drive
    }

    /// How a request to `to` leaves, given what the node knows of it (see `transport.rs`).
    pub(super) fn route(&self, to: TransportAddr, link: SourceLink) -> Route {
        self.sessions.route(to, link)
    }

    /// Blocks per request for one of our own nodes that answers `theirs` bytes per request;
    /// `None` keeps the default of one block.
    pub(super) fn blocks_per_request(&self, theirs: u64) -> Option<u32> {
        self.sessions.blocks_per_request(theirs)
    }

    /// Adds the downloads' counters to the node's.
    pub(super) fn add_stats(&self, stats: &mut Stats) {
        stats.fetch.downloads_completed += self.counters.completed;
        stats.fetch.downloads_failed += self.counters.failed;
    }

    /// Turns one engine event of `id` into node events.
    fn on_event(
        &mut self,
        now: Instant,
        id: ContentId,
        event: DownloadEvent,
        out: &mut Vec<Event>,
    ) {
        match event {
            DownloadEvent::Progress { have, total } => {
                if let Some(active) = self.active.get_mut(&id) {
                    active.unreported = Some((have, total));
                }
            }
            DownloadEvent::Completed { len, .. } => {
                self.flush_progress(now, id, true, out);
                self.active.remove(&id);
                self.counters.completed += 1;
                out.push(Event::Fetch(FetchEvent::Completed { id, len }));
            }
            DownloadEvent::Failed { why } => {
                self.flush_progress(now, id, true, out);
                self.active.remove(&id);
                self.counters.failed += 1;
                out.push(Event::Fetch(FetchEvent::Failed {
                    id,
                    why: why.to_string(),
                }));
            }
            _ => {}
        }
    }

    /// Reports the latest progress of `id` if the rate limit allows (or `force`): at most one
    /// report per interval, since a large download makes thousands of them.
    fn flush_progress(&mut self, now: Instant, id: ContentId, force: bool, out: &mut Vec<Event>) {
        let interval = self.progress_interval;
        let Some(active) = self.active.get_mut(&id) else {
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
        out.push(Event::Fetch(FetchEvent::Progress { id, have, total }));
    }
}
