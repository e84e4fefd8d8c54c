//! Downloading one content from several sources at once (see [`Download`]).

mod config;
mod event;
mod source;
mod verify;

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::ToString;
use alloc::vec::Vec;

use crate::content::{BlockLayout, BlockSet, ContentId, PartialStore, StoreError, block_hash};
use crate::time::Instant;
use crate::transport::TransportAddr;

pub use config::DownloadConfig;
pub use event::{BlockRequest, DownloadEvent, DropReason, FailReason};

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
        self.detect_reordering_losses(now, source);
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
            src.window.on_answer(sent.sent_at, 1);
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
        store.write_block(&self.id, index, block, &block_hash(block))?;
        known.held.insert(index);
        if let Some(slot) = usize::try_from(index)
            .ok()
            .and_then(|i| known.supplier.get_mut(i))
        {
            *slot = source;
        }
        known.have_bytes += known.layout.len_of(index);
        self.stats.blocks_received += 1;
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

    fn detect_reordering_losses(&mut self, now: Instant, source: SourceIndex) {
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
                    src.window.on_loss(now, sent.sent_at);
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
        src.window.on_timeout(now);
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

    // ---- choosing what to ask ----

    /// Blocks to ask of `source`, which has `room` free in its window: `(first, count, retry)`.
    fn pick_blocks(&mut self, source: SourceIndex, room: usize) -> Option<(u64, u32, bool)> {
        let Some(known) = &self.known else {
            // The length is unknown: ask each source for the first block once. Whoever answers
            // first gives the length, and every source gets its first round-trip sample.
            let probing = self.in_flight.contains_key(&(0, source));
            return (!probing).then_some((0, 1, self.lost.contains_key(&0)));
        };
        let count = known.layout.block_count();
        let room = room.min(
            self.config
                .max_in_flight
                .saturating_sub(self.in_flight.len()),
        );
        if room == 0 {
            return None;
        }
        let alone = self.active_sources() <= 1;
        // 1. Blocks lost by another source (or by a source now gone).
        let retry = self
            .lost
            .iter()
            .take(LOST_SCAN)
            .find(|(_, lost_by)| alone || **lost_by != source || !self.is_active(**lost_by))
            .map(|(block, _)| *block);
        if let Some(block) = retry {
            return Some((block, 1, true));
        }
        // 2. Blocks never asked, as many consecutive ones as the source takes per request; not
        // while the lost queue is long, which bounds it.
        if self.lost.len() < self.config.max_in_flight {
            while self.next_fresh < count
                && (known.held.contains(self.next_fresh) || self.is_in_flight(self.next_fresh))
            {
                self.next_fresh += 1;
            }
            if self.next_fresh < count {
                let first = self.next_fresh;
                let most = self
                    .sources
                    .get(usize::from(source))
                    .map_or(1, |src| src.blocks_per_request)
                    .min(u32::try_from(room).unwrap_or(u32::MAX));
                let mut taken = 1u32;
                while taken < most {
                    let next = first + u64::from(taken);
                    if next >= count || known.held.contains(next) || self.is_in_flight(next) {
                        break;
                    }
                    taken += 1;
                }
                self.next_fresh = first + u64::from(taken);
                return Some((first, taken, false));
            }
        }
        // 3. Any lost block, even one this source lost.
        if let Some((&block, _)) = self.lost.first_key_value() {
            return Some((block, 1, true));
        }
        // 4. Endgame: everything is asked; help with a block only one other source holds up.
        if self.config.endgame {
            let mut previous: Option<(u64, SourceIndex)> = None;
            let mut copies = 0;
            for &(block, holder) in self.in_flight.keys() {
                if previous.is_some_and(|(b, _)| b != block) {
                    if let Some((b, h)) = previous.filter(|_| copies == 1) {
                        if h != source {
                            return Some((b, 1, true));
                        }
                    }
                    copies = 0;
                }
                previous = Some((block, holder));
                copies += 1;
            }
            if let Some((b, h)) = previous.filter(|_| copies == 1) {
                if h != source {
                    return Some((b, 1, true));
                }
            }
        }
        None
    }

    fn ask(
        &mut self,
        now: Instant,
        source: SourceIndex,
        first: u64,
        count: u32,
        retry: bool,
    ) -> Option<BlockRequest> {
        let src = self.sources.get_mut(usize::from(source))?;
        let seq = src.next_seq;
        src.next_seq += 1;
        for block in first..first + u64::from(count) {
            src.in_flight.insert((seq, block));
            self.in_flight.insert(
                (block, source),
                Sent {
                    seq,
                    sent_at: now,
                    retry,
                },
            );
            self.lost.remove(&block);
        }
        self.stats.requests += 1;
        self.stats.blocks_asked += u64::from(count);
        let size = u64::from(self.config.block_size);
        Some(BlockRequest {
            to: src.addr,
            id: self.id,
            offset: first.saturating_mul(size),
            length: u64::from(count).saturating_mul(size),
        })
    }

    // ---- completion and the search for a corrupt source ----

    fn check_complete(&mut self, store: &mut dyn PartialStore) -> Result<(), StoreError> {
        let Some(known) = &self.known else {
            return Ok(());
        };
        if self.is_finished() || !known.held.is_full() {
            return Ok(());
        }
        self.verifier
            .catch_up(&self.id, known.layout, &known.held, store)?;
        if self.verifier.matches(&self.id, known.layout) {
            store.finish(&self.id)?;
            let len = known.layout.total_len;
            self.phase = Phase::Completed;
            self.clear_requests();
            self.push_event(DownloadEvent::Completed { id: self.id, len });
            return Ok(());
        }
        self.stats.hash_mismatches += 1;
        self.push_event(DownloadEvent::HashMismatch);
        self.isolate(store)
    }

    /// The content did not verify: find the source that lied (see the module docs).
    fn isolate(&mut self, store: &mut dyn PartialStore) -> Result<(), StoreError> {
        let mut counts: BTreeMap<SourceIndex, u64> = BTreeMap::new();
        if let Some(known) = &self.known {
            for supplier in &known.supplier {
                *counts.entry(*supplier).or_default() += 1;
            }
        }
        match self.mode {
            Mode::Pinned(pinned) => {
                // Every block came from the pinned source, and the whole is wrong.
                self.forget_blocks(store, |_| true)?;
                self.mode = Mode::Swarm;
                self.drop_source(pinned, DropReason::Corrupt);
            }
            Mode::Swarm => {
                let only = (counts.len() == 1)
                    .then(|| counts.keys().next().copied())
                    .flatten()
                    .filter(|&s| s != EARLIER && s != NOBODY);
                if let Some(culprit) = only {
                    self.forget_blocks(store, |_| true)?;
                    self.drop_source(culprit, DropReason::Corrupt);
                    return Ok(());
                }
                let best = counts
                    .iter()
                    .filter(|(s, _)| **s != EARLIER && **s != NOBODY && self.is_active(**s))
                    .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                    .map(|(s, _)| *s);
                match best {
                    Some(pinned) => {
                        self.forget_blocks(store, |supplier| supplier != pinned)?;
                        self.mode = Mode::Pinned(pinned);
                        let others: Vec<(u64, SourceIndex)> = self
                            .in_flight
                            .keys()
                            .filter(|(_, s)| *s != pinned)
                            .copied()
                            .collect();
                        for key in others {
                            self.forget_request(key);
                        }
                    }
                    None => self.forget_blocks(store, |_| true)?,
                }
            }
        }
        Ok(())
    }

    /// Forgets every held block whose supplier matches, in the store too.
    fn forget_blocks(
        &mut self,
        store: &mut dyn PartialStore,
        matches: impl Fn(SourceIndex) -> bool,
    ) -> Result<(), StoreError> {
        let Some(known) = self.known.as_mut() else {
            return Ok(());
        };
        let held: Vec<u64> = known.held.iter().collect();
        for index in held {
            let slot = usize::try_from(index)
                .ok()
                .and_then(|i| known.supplier.get_mut(i));
            let Some(slot) = slot.filter(|slot| matches(**slot)) else {
                continue;
            };
            store.forget_block(&self.id, index)?;
            *slot = NOBODY;
            known.held.remove(index);
            known.have_bytes = known.have_bytes.saturating_sub(known.layout.len_of(index));
        }
        self.verifier.reset();
        self.next_fresh = 0;
        self.push_progress();
        Ok(())
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
