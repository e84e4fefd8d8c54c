//! Downloading one content from several sources at once (see [`Download`]).

mod completion;
mod config;
mod event;
mod request;
mod source;
mod verify;

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::ToString;
use alloc::vec::Vec;

use crate::content::{BlockLayout, BlockSet, ContentId, PartialStore, StoreError, block_checksum};
use crate::time::Instant;
use crate::transport::TransportAddr;

pub use config::DownloadConfig;
pub use event::{BlockRequest, DownloadEvent, DropReason, FailReason};

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

/// What is known once the length is.
struct Known {
    layout: BlockLayout,
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
/// duplicates are ignored; a source that times out [`DownloadConfig::max_timeouts`] times in a
/// row is dropped.
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
            phase: Phase::Running,
            events: VecDeque::new(),
            stats: DownloadStats::default(),
        }
    }

    /// A download of `id` that starts from the partial download `store` kept, if any: the
    /// blocks still matching the manifest are not asked again, and content already complete
    /// is verified and finished at once ([`DownloadEvent::Completed`] is then waiting).
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
                download.begin(store, layout)?;
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

    /// The content's layout, once a source has told its length (or a partial download had it).
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

    /// `from` does not have the content and named `peers` that may (CJP2P `MaybeTheyHaveSome`):
    /// add the peers, then drop `from` and ask its blocks of the others. Returns how many peers
    /// were new. (Peers first: a download whose only source answers this way goes on with the
    /// peers it named instead of failing.)
    pub fn handle_no_content(
        &mut self,
        from: TransportAddr,
        peers: impl IntoIterator<Item = TransportAddr>,
    ) -> usize {
        let added = self.handle_more_sources(peers);
        if let Some(index) = self.source_index(&from) {
            self.drop_source(index, DropReason::NoContent);
        }
        added
    }

    /// `from` sent `bytes` of the content at `offset`, and says the content is `eof` bytes long
    /// (CJP2P `Content{id, offset, base64, eof}` after base64 decoding).
    ///
    /// Every whole block in `bytes` (a full block, or the last block of the content) is hashed,
    /// written to `store` and counted; a trailing partial block is ignored. Bytes from a source
    /// that was not added, blocks nobody asked for, duplicates and misaligned offsets are
    /// counted in [`DownloadStats`] and ignored: network input never fails the download. Only a
    /// store failure does ([`FailReason::Store`]).
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
            self.fail(FailReason::Store(error.to_string()));
        }
    }

    /// Wakes the download: requests whose source's timer expired are lost, and the source's
    /// window and timeout back off. Early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_finished() {
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
        }
    }

    /// The next request to send, or `None` when every source's window is full (or nothing is
    /// left to ask). Call until `None` after every input.
    #[must_use]
    pub fn poll_request(&mut self, now: Instant) -> Option<BlockRequest> {
        if self.is_finished() || self.in_flight.len() >= self.config.max_in_flight {
            return None;
        }
        let mut candidates: Vec<(usize, SourceIndex)> = self
            .sources
            .iter()
            .enumerate()
            .filter(|(_, source)| source.is_active() && source.room() > 0)
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

    /// When [`Download::handle_timeout`] should next be called, if a request is outstanding.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_finished() {
            return None;
        }
        (0..self.sources.len())
            .filter_map(|index| self.deadline_of(SourceIndex::try_from(index).ok()?))
            .min()
    }

    /// The next event, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<DownloadEvent> {
        self.events.pop_front()
    }

    // ---- inputs ----

    fn try_handle_block(
        &mut self,
        now: Instant,
        store: &mut dyn PartialStore,
        from: TransportAddr,
        offset: u64,
        bytes: &[u8],
        eof: u64,
    ) -> Result<(), StoreError> {
        if self.is_finished() {
            return Ok(());
        }
        let Some(source) = self.source_index(&from).filter(|&s| self.is_active(s)) else {
            self.stats.unsolicited += 1;
            return Ok(());
        };
        if eof > self.config.max_content_len {
            self.drop_source(source, DropReason::TooLarge);
            return Ok(());
        }
        let layout = match &self.known {
            Some(known) if known.layout.total_len != eof => {
                self.drop_source(source, DropReason::Inconsistent);
                return Ok(());
            }
            Some(known) => known.layout,
            None => {
                let layout = BlockLayout::new(eof, self.config.block_size)
                    .ok_or_else(|| StoreError::Failed("zero block size".to_string()))?;
                self.begin(store, layout)?;
                layout
            }
        };
        let Some(mut index) = layout.index_at(offset) else {
            self.stats.malformed += 1;
            return Ok(());
        };
        let mut rest = bytes;
        loop {
            let len = usize::try_from(layout.len_of(index)).unwrap_or(usize::MAX);
            let Some(block) = rest.get(..len) else {
                // A partial block: public nodes keep only whole ones, and so do we.
                self.short_answer(source, index, rest.is_empty());
                break;
            };
            self.accept(now, store, source, index, block)?;
            rest = rest.get(len..).unwrap_or_default();
            index += 1;
            if rest.is_empty() || index >= layout.block_count() || self.is_finished() {
                break;
            }
        }
        self.detect_reordering_losses(source);
        self.check_complete(store)
    }

    /// Learns the layout: opens the partial download, which says which blocks are held.
    fn begin(
        &mut self,
        store: &mut dyn PartialStore,
        layout: BlockLayout,
    ) -> Result<(), StoreError> {
        let held = store.begin(&self.id, layout)?;
        let count = usize::try_from(layout.block_count())
            .map_err(|_| StoreError::Failed("content too long".to_string()))?;
        let mut supplier = Vec::new();
        supplier
            .try_reserve_exact(count)
            .map_err(|_| StoreError::Failed("content too long".to_string()))?;
        supplier.resize(count, NOBODY);
        let mut have_bytes = 0;
        for index in held.iter() {
            if let Some(slot) = usize::try_from(index)
                .ok()
                .and_then(|i| supplier.get_mut(i))
            {
                *slot = EARLIER;
            }
            have_bytes += layout.len_of(index);
        }
        self.known = Some(Known {
            layout,
            held,
            supplier,
            have_bytes,
        });
        self.push_progress();
        Ok(())
    }

    /// One whole block from `source`.
    fn accept(
        &mut self,
        now: Instant,
        store: &mut dyn PartialStore,
        source: SourceIndex,
        index: u64,
        block: &[u8],
    ) -> Result<(), StoreError> {
        let sent = self.in_flight.remove(&(index, source));
        if let Some(src) = self.sources.get_mut(usize::from(source)) {
            // Any whole block proves the source alive, even a late answer to a request already
            // declared lost: a timeout that was only a slow answer must not get it dropped.
            src.timeouts = 0;
            src.last_answer = Some(now);
        }
        if let (Some(sent), Some(src)) = (sent, self.sources.get_mut(usize::from(source))) {
            src.in_flight.remove(&(sent.seq, index));
            src.largest_answered = Some(src.largest_answered.map_or(sent.seq, |l| l.max(sent.seq)));
            if !sent.retry {
                src.rtt
                    .on_sample(now.saturating_duration_since(sent.sent_at));
            }
            src.window.on_answer(sent.seq, 1);
        }
        let requested =
            sent.is_some() || self.lost.contains_key(&index) || self.is_in_flight(index);
        let pinned_elsewhere = matches!(self.mode, Mode::Pinned(p) if p != source);
        let Some(known) = self.known.as_mut() else {
            return Ok(());
        };
        if known.held.contains(index) {
            self.stats.duplicates += 1;
            return Ok(());
        }
        if !requested || pinned_elsewhere {
            self.stats.unsolicited += 1;
            return Ok(());
        }
        store.write_block(&self.id, index, block, block_checksum(block))?;
        known.held.insert(index);
        if let Some(slot) = usize::try_from(index)
            .ok()
            .and_then(|i| known.supplier.get_mut(i))
        {
            *slot = source;
        }
        known.have_bytes += known.layout.len_of(index);
        self.stats.blocks_received += 1;
        if let Some(src) = self.sources.get_mut(usize::from(source)) {
            src.blocks_kept += 1;
        }
        self.lost.remove(&index);
        // Copies asked of other sources (endgame) are useless now: free their room.
        let copies: Vec<(u64, SourceIndex)> = self
            .in_flight
            .range((index, 0)..=(index, SourceIndex::MAX))
            .map(|(key, _)| *key)
            .collect();
        for key in copies {
            self.forget_request(key);
        }
        self.verifier.offer(index, block);
        self.push_progress();
        Ok(())
    }

    /// `source` answered block `index` with less than the block: a CJP2P node does that to a
    /// source it has not verified yet (at most 32 bytes before the cookie exchange). Ask again
    /// at once rather than wait for the timer: the next answer is usually whole. It counts as a
    /// timeout towards dropping the source, so one that never sends whole blocks goes.
    fn short_answer(&mut self, source: SourceIndex, index: u64, empty: bool) {
        if !empty {
            self.stats.malformed += 1;
        }
        if self.forget_request((index, source)).is_none() {
            return;
        }
        let give_up = self
            .sources
            .get_mut(usize::from(source))
            .is_some_and(|src| {
                src.timeouts += 1;
                src.timeouts >= self.config.max_timeouts
            });
        self.mark_lost(index, source);
        if give_up {
            self.drop_source(source, DropReason::Unresponsive);
        }
    }

    fn detect_reordering_losses(&mut self, source: SourceIndex) {
        let Some(src) = self.sources.get(usize::from(source)) else {
            return;
        };
        let Some(largest) = src.largest_answered else {
            return;
        };
        let threshold = self.config.reorder_threshold.max(1);
        let overtaken: Vec<(u64, u64)> = src
            .in_flight
            .iter()
            .take_while(|(seq, _)| seq.saturating_add(threshold) <= largest)
            .copied()
            .collect();
        for (_, block) in overtaken {
            if let Some(sent) = self.forget_request((block, source)) {
                if let Some(src) = self.sources.get_mut(usize::from(source)) {
                    src.window.on_loss(sent.seq, src.next_seq);
                }
                self.mark_lost(block, source);
            }
        }
    }

    /// The timer of `source` expired.
    fn expire(&mut self, now: Instant, source: SourceIndex) {
        let Some(src) = self.sources.get_mut(usize::from(source)) else {
            return;
        };
        self.stats.timeouts += 1;
        let rto = src.rtt.rto();
        src.window.on_timeout(src.next_seq);
        src.rtt.on_timeout();
        src.timeouts += 1;
        let give_up = src.timeouts >= self.config.max_timeouts;
        let expired: Vec<u64> = src
            .in_flight
            .iter()
            .filter(|(_, block)| {
                self.in_flight
                    .get(&(*block, source))
                    .is_some_and(|sent| sent.sent_at.saturating_add(rto) <= now)
            })
            .map(|(_, block)| *block)
            .collect();
        for block in expired {
            if self.forget_request((block, source)).is_some() {
                self.mark_lost(block, source);
            }
        }
        if give_up {
            self.drop_source(source, DropReason::Unresponsive);
        }
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

    /// `block`, asked of `source`, is lost: queue it to be asked again unless it is held or
    /// still asked of another source.
    fn mark_lost(&mut self, block: u64, source: SourceIndex) {
        self.stats.lost += 1;
        if !self.is_held(block) && !self.is_in_flight(block) {
            self.lost.insert(block, source);
        }
    }

    /// When the timer of `source` expires: RTO after its oldest outstanding request was sent or
    /// it last answered, whichever is later (RFC 6298 5.3 restarts the timer on each answer).
    fn deadline_of(&self, source: SourceIndex) -> Option<Instant> {
        let src = self
            .sources
            .get(usize::from(source))
            .filter(|s| s.is_active())?;
        let &(_, block) = src.in_flight.first()?;
        let sent = self.in_flight.get(&(block, source))?;
        let base = src
            .last_answer
            .map_or(sent.sent_at, |last| last.max(sent.sent_at));
        Some(base.saturating_add(src.rtt.rto()))
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
        let outstanding: Vec<u64> = src.in_flight.iter().map(|(_, block)| *block).collect();
        for block in outstanding {
            if self.forget_request((block, source)).is_some()
                && !self.is_held(block)
                && !self.is_in_flight(block)
            {
                self.lost.insert(block, source);
            }
        }
        self.push_event(DownloadEvent::SourceDropped { addr, why });
        if self.mode == Mode::Pinned(source) {
            self.mode = Mode::Swarm;
        }
        if !self.is_finished() && self.active_sources() == 0 {
            self.fail(FailReason::NoSources);
        }
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
