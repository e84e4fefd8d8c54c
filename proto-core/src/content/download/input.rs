//! What a source sends: whole blocks are written and counted, short answers and stale ones are
//! not, and a length other than the one followed is a claim weighed in [`super::length`].

use alloc::string::ToString;
use alloc::vec::Vec;

use crate::content::{BlockLayout, PartialStore, StoreError, block_checksum};
use crate::time::Instant;
use crate::transport::TransportAddr;

use super::source::SourceIndex;
use super::{Download, DropReason, Mode};

impl Download {
    pub(super) fn try_handle_block(
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
        if let Some(pinned) = self.repinned.take() {
            self.forget_blocks(store, |supplier| supplier != pinned)?;
        }
        let Some(source) = self.source_index(&from).filter(|&s| self.is_active(s)) else {
            self.stats.unsolicited += 1;
            return Ok(());
        };
        if let Some(src) = self.sources.get_mut(usize::from(source)) {
            src.last_heard = Some(now);
        }
        if eof > self.config.max_content_len {
            self.drop_source(source, DropReason::TooLarge { eof });
            return Ok(());
        }
        let Some(layout) = self.claim(store, source, eof)? else {
            return Ok(());
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
                self.short_answer(now, source, index, rest.is_empty());
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

    /// `source` says the content is `eof` long: the layout its bytes fit, when that is the
    /// length followed (opening the store for it if needed), or `None` when its bytes are not
    /// to be kept.
    fn claim(
        &mut self,
        store: &mut dyn PartialStore,
        source: SourceIndex,
        eof: u64,
    ) -> Result<Option<BlockLayout>, StoreError> {
        let Some(src) = self.sources.get_mut(usize::from(source)) else {
            return Ok(None);
        };
        match src.claimed_len {
            Some(first) if first != eof => {
                self.drop_source(source, DropReason::LengthChanged { first, then: eof });
                return Ok(None);
            }
            Some(_) => {}
            None => src.claimed_len = Some(eof),
        }
        let followed = self.known.as_ref().map(|known| known.layout.total_len);
        match followed {
            None => {
                let layout = BlockLayout::new(eof, self.config.block_size)
                    .ok_or_else(|| StoreError::Failed("zero block size".to_string()))?;
                self.follow(layout)?;
            }
            Some(len) if len != eof => {
                // A claim against the length followed: its requests are of no use under this
                // layout, and the claim may make the download follow another length.
                self.stats.length_disagreements += 1;
                self.forget_requests_of(source);
                self.reconsider_length();
                return Ok(None);
            }
            Some(_) => {}
        }
        if self.known.as_ref().is_some_and(|known| !known.begun) {
            self.open_store(store)?;
        }
        Ok(self.known.as_ref().map(|known| known.layout))
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
            // declared lost: its backoff ends.
            src.timeouts = 0;
            src.hold_until = None;
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
    /// source it has not verified yet (at most 32 bytes before the cookie exchange). The block
    /// is asked again at once the first time (the next answer is usually whole); after that
    /// the source backs off as if it had timed out (see [`super::backoff`]), so one that never
    /// sends whole blocks is asked at growing intervals, not at the speed of its answers.
    fn short_answer(&mut self, now: Instant, source: SourceIndex, index: u64, empty: bool) {
        if !empty {
            self.stats.malformed += 1;
        }
        if self.forget_request((index, source)).is_none() {
            return;
        }
        self.mark_lost(index, source);
        self.back_off_short(now, source);
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
}
