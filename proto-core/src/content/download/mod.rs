//! Downloading one content from several sources at once (see [`Download`]).

mod backoff;
mod completion;
mod config;
mod event;
mod input;
mod length;
mod report;
mod request;
mod source;
mod verify;

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::ToString;
use alloc::vec::Vec;

use crate::content::{BlockLayout, BlockSet, ContentId, PartialStore, StoreError};
use crate::time::Instant;
use crate::transport::TransportAddr;

pub use config::DownloadConfig;
pub use event::{BlockRequest, DownloadEvent, DropReason, FailReason, SourceReport, SourceStatus};

pub use source::SourceInfo;

use source::{Source, SourceIndex};
use verify::PrefixHasher;

/// The supplier of a block nobody holds.
const NOBODY: SourceIndex = SourceIndex::MAX;
/// The supplier of a block found in the partial store at the start (an earlier run).
const EARLIER: SourceIndex = SourceIndex::MAX - 1;
/// Lost blocks looked at when choosing one for a source (the queue is drained in order anyway).
const LOST_SCAN: usize = 64;

/// Counters of one download, for tests, logs and progress displays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadStats {
    /// Requests returned by [`Download::poll_request`].
    pub requests: u64,
    /// Blocks asked in those requests.
    pub blocks_asked: u64,
    /// Blocks accepted and written to the store.
    pub blocks_received: u64,
    /// Blocks received that were already held.
    pub duplicates: u64,
    /// Blocks nobody asked for, or from an unknown or dropped source: ignored.
    pub unsolicited: u64,
    /// Answers that are not a whole block at a block boundary: ignored.
    pub malformed: u64,
    /// Requested blocks declared lost (reordering threshold or timeout).
    pub lost: u64,
    /// Retransmission timer expiries.
    pub timeouts: u64,
    /// Times the whole content did not hash to its id.
    pub hash_mismatches: u64,
    /// Answers with a length other than the one followed (their blocks are not kept).
    pub length_disagreements: u64,
    /// Times the download gave up the length it followed for another one (starting afresh).
    pub length_switches: u64,
}

/// One block asked of one source.
#[derive(Clone, Copy, Debug)]
struct Sent {
    seq: u64,
    sent_at: Instant,
    /// Asked before (a retransmission or an endgame copy): its answer gives no round-trip
    /// sample (Karn's rule).
    retry: bool,
}

/// What is known once a length is followed (see `length.rs` for which one).
struct Known {
    layout: BlockLayout,
    /// Whether the partial store was opened with this layout ([`PartialStore::begin`]): only
    /// once a block of it arrives, when the length was switched to.
    begun: bool,
    held: BlockSet,
    /// Which source sent each block ([`NOBODY`], [`EARLIER`] or a source index).
    supplier: Vec<SourceIndex>,
    have_bytes: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Ask every source.
    Swarm,
    /// After a hash mismatch: ask only this source, whose blocks are the only ones kept.
    Pinned(SourceIndex),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Running,
    Completed,
    Failed,
}

/// The download of one content from several sources at once: a sans-IO state machine.
///
/// A [`Download`] knows nothing of sockets, clocks or files. The caller feeds it what arrived
/// (`handle_*`, each with the current [`Instant`]), sends the requests it returns
/// ([`Download::poll_request`]), wakes it at [`Download::poll_timeout`], and reads its
/// [`DownloadEvent`]s. Blocks go straight to a [`PartialStore`] with their hash; the download
/// itself holds only bookkeeping, bounded by [`DownloadConfig`].
///
/// ```text
/// loop {
///     wait for: a Content / MaybeTheyHaveSome from a source, or download.poll_timeout()
///     feed it:  download.handle_block(now, store, from, offset, bytes, eof)
///               download.handle_no_content(from, peers)
///               download.handle_timeout(now)
///     drain:    while let Some(r) = download.poll_request(now) { send PleaseSendContent(r) }
///               while let Some(e) = download.poll_event()       { report e }
/// }
/// ```
///
/// # Flow and congestion control
///
/// Each source has its own round-trip estimator and retransmission timeout ([`RttEstimator`](crate::content::RttEstimator),
/// RFC 6298) and its own congestion window in blocks ([`CongestionWindow`](crate::content::CongestionWindow): slow start, one
/// block per window of answers in congestion avoidance, halving once per loss episode, back to
/// the floor on a timeout). A request is lost when the source answers a request sent
/// [`DownloadConfig::reorder_threshold`] requests after it, or when its timer expires. Requests
/// go to the source with the most room in its window, so a faster source, whose window grows and
/// drains faster, gets more of them. Lost blocks are asked again, preferably of another source;
/// duplicates are ignored.
///
/// # Silent sources and `MaybeTheyHaveSome`
///
/// A source is never dropped for being silent: each expiry of its timer doubles its timeout (up
/// to `rto.max`, 10 s) and it keeps one request in flight, so a seeder that pauses (stopped, or
/// behind a dead link for a while) is asked again at growing intervals and the download resumes
/// when it answers. Repeated short answers back off the same way. The download gives up on
/// silence only at [`DownloadConfig::deadline`], if one is set. A `MaybeTheyHaveSome` only adds
/// the peers it names as sources: the public CJP2P node sends one beside `Content`, and one
/// instead of `Content` when it ignores a request at random, so it never means "I have none".
/// A source is dropped only for what retrying cannot cure ([`DropReason`]): bytes that failed
/// verification, a length other than the one it announced before, a length above the limit,
/// or one of our own nodes saying in a session that it does not hold the content. When every
/// source is dropped, or at the deadline, the download fails with each source's status
/// ([`FailReason`], [`SourceStatus`]).
///
/// # The length
///
/// A source's `eof` is a claim, and the first answer's claim is only followed, not trusted: the
/// download follows the length claimed by the most sources that still answer, and a length
/// from an earlier run (a resumed partial) counts as no claim at all. When sources disagree,
/// blocks are kept only from sources that claim the length followed, and the content is
/// verified against the id under that length: if it does not verify, its sources are found out
/// and dropped as below, and the download switches to the next length, starting afresh (the
/// store discards a partial of another length). So a liar's length, now or left on disk by an
/// earlier run, cannot block honest sources; the download ends with the length whose content
/// hashes to the id.
///
/// # Verification
///
/// The content id (SHA-256 of the whole content) is the only trust root: a block cannot be
/// checked alone (see [`Manifest`](crate::content::Manifest) for what the per-block hashes
/// prove). The download hashes the content in order as its prefix fills, and completes only if
/// the result is the id. If it is not, the download remembers which source sent each block, keeps
/// the blocks of the source that sent the most, and fetches the rest from that source alone: the
/// content then either verifies, or that source is the culprit, dropped with
/// [`DropReason::Corrupt`], and its blocks fetched again from the others. Each mismatch ends the
/// download or removes one source, so it always ends.
pub struct Download {
    id: ContentId,
    config: DownloadConfig,
    started: Instant,
    sources: Vec<Source>,
    known: Option<Known>,
    /// Every block asked and not answered, by block then source.
    in_flight: BTreeMap<(u64, SourceIndex), Sent>,
    /// Blocks to ask again, with the source that last failed to send them.
    lost: BTreeMap<u64, SourceIndex>,
    /// Blocks from here on were never asked (since the last restart).
    next_fresh: u64,
    verifier: PrefixHasher,
    mode: Mode,
    /// The pin moved to this source while no store was at hand (the one pinned before
    /// stalled): the blocks other sources supplied are forgotten at the next block, before it
    /// is kept, so that a mismatch still blames the pinned source alone.
    repinned: Option<SourceIndex>,
    phase: Phase,
    events: VecDeque<DownloadEvent>,
    stats: DownloadStats,
}

impl Download {
    /// A download of `id` that learns the content's length from the first answer.
    ///
    /// It still resumes: when the first answer arrives, the store's partial download of `id`
    /// with the same layout is reopened and its intact blocks are not asked again.
    #[must_use]
    pub fn new(id: ContentId, config: DownloadConfig, now: Instant) -> Self {
        let mut config = config;
        config.block_size = config.block_size.max(1);
        config.max_sources = config.max_sources.min(usize::from(EARLIER));
        Self {
            id,
            config,
            started: now,
            sources: Vec::new(),
            known: None,
            in_flight: BTreeMap::new(),
            lost: BTreeMap::new(),
            next_fresh: 0,
            verifier: PrefixHasher::new(),
            mode: Mode::Swarm,
            repinned: None,
            phase: Phase::Running,
            events: VecDeque::new(),
            stats: DownloadStats::default(),
        }
    }

    /// A download of `id` that starts from the partial download `store` kept, if any: the
    /// blocks still matching the manifest are not asked again, and content already complete
    /// is verified and finished at once ([`DownloadEvent::Completed`] is then waiting).
    ///
    /// The kept length is not trusted: the first source to claim another one makes the download
    /// start afresh with that one (see [the length](Download#the-length)).
    ///
    /// # Errors
    /// The store's error when it cannot be read.
    pub fn resume(
        id: ContentId,
        config: DownloadConfig,
        now: Instant,
        store: &mut dyn PartialStore,
    ) -> Result<Self, StoreError> {
        let mut download = Self::new(id, config, now);
        if let Some(layout) = store.partial_layout(&id)? {
            if layout.block_size == download.config.block_size
                && layout.total_len <= download.config.max_content_len
            {
                download.follow(layout)?;
                download.open_store(store)?;
                download.check_complete(store)?;
            }
        }
        Ok(download)
    }

    /// The content being downloaded.
    #[must_use]
    pub fn id(&self) -> ContentId {
        self.id
    }

    /// When the download was created.
    #[must_use]
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The layout of the length followed, once a source has told one (or a partial download
    /// had it). It may change while sources disagree (see [the length](Download#the-length)).
    #[must_use]
    pub fn layout(&self) -> Option<BlockLayout> {
        self.known.as_ref().map(|known| known.layout)
    }

    /// Bytes held so far.
    #[must_use]
    pub fn have_bytes(&self) -> u64 {
        self.known.as_ref().map_or(0, |known| known.have_bytes)
    }

    /// Whether the download completed or failed.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.phase != Phase::Running
    }

    /// Whether the download completed: the content verified and the store finished it.
    #[must_use]
    pub fn is_completed(&self) -> bool {
        self.phase == Phase::Completed
    }

    /// Blocks asked and not yet answered, over all sources (at most
    /// [`DownloadConfig::max_in_flight`]).
    #[must_use]
    pub fn in_flight_len(&self) -> usize {
        self.in_flight.len()
    }

    /// Blocks waiting to be asked again.
    #[must_use]
    pub fn lost_len(&self) -> usize {
        self.lost.len()
    }

    /// Events waiting to be polled (at most [`DownloadConfig::max_events`]).
    #[must_use]
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// Sources not dropped.
    #[must_use]
    pub fn active_sources(&self) -> usize {
        self.sources
            .iter()
            .filter(|source| source.is_active())
            .count()
    }

    /// The congestion window of `addr`, in blocks, while it is an active source.
    #[must_use]
    pub fn window_of(&self, addr: &TransportAddr) -> Option<u32> {
        self.sources
            .iter()
            .find(|source| source.addr == *addr && source.is_active())
            .map(|source| source.window.window())
    }

    /// Every source added, dropped ones included, in the order they were added.
    pub fn sources(&self) -> impl Iterator<Item = SourceInfo> + '_ {
        self.sources.iter().map(Source::info)
    }

    /// Where each source stands now, as a failure would report it.
    #[must_use]
    pub fn source_report(&self) -> SourceReport {
        self.report()
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> &DownloadStats {
        &self.stats
    }

    /// Adds a source asked one block per request (what any CJP2P node accepts). Returns whether
    /// it was added: not when already known, when `max_sources` are known, or when the download
    /// is finished.
    pub fn add_source(&mut self, addr: TransportAddr) -> bool {
        self.add_source_with(addr, 1)
    }

    /// Adds a source that accepts `blocks_per_request` consecutive blocks in one request (one of
    /// our own nodes). Capped so that a request never exceeds the 40960 bytes a CJP2P reply
    /// carries at most.
    pub fn add_source_with(&mut self, addr: TransportAddr, blocks_per_request: u32) -> bool {
        if self.is_finished()
            || self.sources.len() >= self.config.max_sources
            || self.sources.iter().any(|source| source.addr == addr)
        {
            return false;
        }
        let most = (crate::content::CJP2P_MAX_REPLY / self.config.block_size).max(1);
        let per_request = blocks_per_request.clamp(1, most);
        self.sources
            .push(Source::new(addr, &self.config, per_request));
        true
    }

    /// Changes how many consecutive blocks one request to `addr` asks (capped as in
    /// [`add_source_with`](Self::add_source_with)): for a source found to be one of our own
    /// nodes after it was added. Requests already in flight keep their size. Returns whether
    /// `addr` is a source of this download.
    pub fn set_blocks_per_request(
        &mut self,
        addr: &TransportAddr,
        blocks_per_request: u32,
    ) -> bool {
        let most = (crate::content::CJP2P_MAX_REPLY / self.config.block_size).max(1);
        match self.sources.iter_mut().find(|source| source.addr == *addr) {
            Some(source) => {
                source.blocks_per_request = blocks_per_request.clamp(1, most);
                true
            }
            None => false,
        }
    }

    /// Whether `addr` is a source of this download (dropped or not).
    #[must_use]
    pub fn has_source(&self, addr: &TransportAddr) -> bool {
        self.sources.iter().any(|source| source.addr == *addr)
    }

    /// A source named other peers that may have the content (`MaybeTheyHaveSome`): adds them.
    /// Returns how many were new.
    pub fn handle_more_sources(&mut self, peers: impl IntoIterator<Item = TransportAddr>) -> usize {
        peers
            .into_iter()
            .filter(|peer| self.add_source(*peer))
            .count()
    }

    /// `from` answered CJP2P `MaybeTheyHaveSome`, naming `peers` that may have the content: adds
    /// the peers as sources. Returns how many were new.
    ///
    /// `from` is *not* dropped, and its requests are left to their timers: the public node
    /// sends this beside `Content` once it has served anyone, and instead of `Content` when it
    /// ignores a request at random. It is only remembered, so that a failure can say that
    /// `from` does not have the content if it never sent any.
    pub fn handle_no_content(
        &mut self,
        from: TransportAddr,
        peers: impl IntoIterator<Item = TransportAddr>,
    ) -> usize {
        let added = self.handle_more_sources(peers);
        if let Some(source) = self.sources.iter_mut().find(|source| source.addr == from) {
            source.said_none = true;
        }
        added
    }

    /// `from`, one of our own nodes, said in a session that it does not hold the content: a
    /// definite answer (our nodes do not ignore requests at random), so it is dropped with
    /// [`DropReason::NoContent`] and its blocks asked of the others.
    pub fn handle_not_held(&mut self, from: TransportAddr) {
        if let Some(index) = self.source_index(&from) {
            if let Some(source) = self.sources.get_mut(usize::from(index)) {
                source.said_none = true;
            }
            self.drop_source(index, DropReason::NoContent);
        }
    }

    /// `from` sent `bytes` of the content at `offset`, and says the content is `eof` bytes long
    /// (CJP2P `Content{id, offset, base64, eof}` after base64 decoding).
    ///
    /// Every whole block in `bytes` (a full block, or the last block of the content) is hashed,
    /// written to `store` and counted; a trailing partial block is ignored. Bytes from a source
    /// that was not added, blocks nobody asked for, duplicates, misaligned offsets and blocks
    /// under a length other than the one followed are counted in [`DownloadStats`] and
    /// ignored: network input never fails the download. Only a store failure does
    /// ([`FailReason::Store`]).
    pub fn handle_block(
        &mut self,
        now: Instant,
        store: &mut dyn PartialStore,
        from: TransportAddr,
        offset: u64,
        bytes: &[u8],
        eof: u64,
    ) {
        if let Err(error) = self.try_handle_block(now, store, from, offset, bytes, eof) {
            let why = match error {
                StoreError::Failed(why) => why,
                StoreError::NotFound => "the partial download is not open".to_string(),
            };
            self.fail(FailReason::Store(why));
        }
    }

    /// Wakes the download: requests whose source's timer expired are lost, and the source's
    /// window and timeout back off; past [`DownloadConfig::deadline`] it fails. Early calls do
    /// nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_finished() {
            return;
        }
        if self.deadline().is_some_and(|deadline| deadline <= now) {
            let sources = self.report();
            let after = self.config.deadline.unwrap_or_default();
            self.fail(FailReason::DeadlinePassed { after, sources });
            return;
        }
        for index in 0..self.sources.len() {
            let Ok(index) = SourceIndex::try_from(index) else {
                break;
            };
            if self
                .deadline_of(index)
                .is_some_and(|deadline| deadline <= now)
            {
                self.expire(now, index);
            }
            self.release_hold(now, index);
        }
    }

    /// The next request to send, or `None` when every source's window is full (or nothing is
    /// left to ask). Call until `None` after every input.
    #[must_use]
    pub fn poll_request(&mut self, now: Instant) -> Option<BlockRequest> {
        if self.is_finished() || self.in_flight.len() >= self.config.max_in_flight {
            return None;
        }
        let followed = self.known.as_ref().map(|known| known.layout.total_len);
        let mut candidates: Vec<(usize, SourceIndex)> = self
            .sources
            .iter()
            .enumerate()
            .filter(|(_, source)| source.is_active() && source.room() > 0)
            .filter(|(_, source)| source.hold_until.is_none_or(|until| until <= now))
            // Sources that claim another length are not asked while this one is followed.
            .filter(|(_, source)| source.claimed_len.is_none() || source.claimed_len == followed)
            .filter_map(|(index, source)| Some((source.room(), SourceIndex::try_from(index).ok()?)))
            .filter(|(_, index)| match self.mode {
                Mode::Swarm => true,
                Mode::Pinned(pinned) => *index == pinned,
            })
            .collect();
        // Most room first; the lowest index breaks ties, so the order is deterministic.
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (room, index) in candidates {
            if let Some((first, count, retry)) = self.pick_blocks(index, room) {
                return self.ask(now, index, first, count, retry);
            }
        }
        None
    }

    /// When [`Download::handle_timeout`] should next be called: a request's timer, a source's
    /// backoff ending, or the deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_finished() {
            return None;
        }
        let timers = (0..self.sources.len())
            .filter_map(|index| self.deadline_of(SourceIndex::try_from(index).ok()?));
        let holds = self
            .sources
            .iter()
            .filter(|source| source.is_active())
            .filter_map(|source| source.hold_until);
        timers.chain(holds).chain(self.deadline()).min()
    }

    /// The next event, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<DownloadEvent> {
        self.events.pop_front()
    }

    // ---- bookkeeping ----

    fn source_index(&self, addr: &TransportAddr) -> Option<SourceIndex> {
        let index = self
            .sources
            .iter()
            .position(|source| source.addr == *addr)?;
        SourceIndex::try_from(index).ok()
    }

    fn is_active(&self, source: SourceIndex) -> bool {
        self.sources
            .get(usize::from(source))
            .is_some_and(Source::is_active)
    }

    fn is_in_flight(&self, block: u64) -> bool {
        self.in_flight
            .range((block, 0)..=(block, SourceIndex::MAX))
            .next()
            .is_some()
    }

    fn is_held(&self, block: u64) -> bool {
        self.known
            .as_ref()
            .is_some_and(|known| known.held.contains(block))
    }

    /// Removes one outstanding request from both tables, returning it.
    fn forget_request(&mut self, key: (u64, SourceIndex)) -> Option<Sent> {
        let sent = self.in_flight.remove(&key)?;
        if let Some(src) = self.sources.get_mut(usize::from(key.1)) {
            src.in_flight.remove(&(sent.seq, key.0));
        }
        Some(sent)
    }

    /// Forgets every request outstanding at `source`, queueing their blocks to be asked again.
    fn forget_requests_of(&mut self, source: SourceIndex) {
        let Some(src) = self.sources.get(usize::from(source)) else {
            return;
        };
        let outstanding: Vec<u64> = src.in_flight.iter().map(|(_, block)| *block).collect();
        for block in outstanding {
            if self.forget_request((block, source)).is_some()
                && !self.is_held(block)
                && !self.is_in_flight(block)
            {
                self.lost.insert(block, source);
            }
        }
    }

    /// `block`, asked of `source`, is lost: queue it to be asked again unless it is held or
    /// still asked of another source.
    fn mark_lost(&mut self, block: u64, source: SourceIndex) {
        self.stats.lost += 1;
        if !self.is_held(block) && !self.is_in_flight(block) {
            self.lost.insert(block, source);
        }
    }

    fn drop_source(&mut self, source: SourceIndex, why: DropReason) {
        let Some(src) = self.sources.get_mut(usize::from(source)) else {
            return;
        };
        if src.dropped.is_some() {
            return;
        }
        src.dropped = Some(why);
        let addr = src.addr;
        self.forget_requests_of(source);
        self.push_event(DownloadEvent::SourceDropped { addr, why });
        if self.mode == Mode::Pinned(source) {
            self.mode = Mode::Swarm;
        }
        if !self.is_finished() && self.active_sources() == 0 {
            let report = self.report();
            self.fail(FailReason::NoSources(report));
            return;
        }
        // It may have been the last to claim the length followed.
        self.reconsider_length();
    }

    fn fail(&mut self, why: FailReason) {
        if self.is_finished() {
            return;
        }
        self.phase = Phase::Failed;
        self.clear_requests();
        self.push_event(DownloadEvent::Failed { why });
    }

    fn clear_requests(&mut self) {
        self.in_flight.clear();
        self.lost.clear();
        for source in &mut self.sources {
            source.in_flight.clear();
        }
    }

    fn push_progress(&mut self) {
        let Some(known) = &self.known else {
            return;
        };
        let progress = DownloadEvent::Progress {
            have: known.have_bytes,
            total: known.layout.total_len,
        };
        // Merge with a progress event still waiting: only the latest figure matters.
        if let Some(last @ DownloadEvent::Progress { .. }) = self.events.back_mut() {
            *last = progress;
        } else {
            self.push_event(progress);
        }
    }

    fn push_event(&mut self, event: DownloadEvent) {
        if self.events.len() >= self.config.max_events.max(1) {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }
}

#[cfg(test)]
mod tests;
