//! Choosing what to ask of which source.

use crate::time::Instant;

use super::source::SourceIndex;
use super::{BlockRequest, Download, LOST_SCAN, Sent};

impl Download {
    /// Blocks to ask of `source`, which has `room` free in its window: `(first, count, retry)`.
    pub(super) fn pick_blocks(
        &mut self,
        source: SourceIndex,
        room: usize,
    ) -> Option<(u64, u32, bool)> {
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
                let src = self.sources.get(usize::from(source))?;
                let per_request = src.blocks_per_request;
                // A source asked several blocks at once is asked again only once enough of its
                // window is free for a full-sized request (or half its window, when that is
                // less): otherwise one small request, answered, frees room for another small
                // one, and requests stay small for the rest of the download.
                let window = src.window.window();
                let worth = per_request.min(window / 2).max(1);
                let left = count - first;
                let room32 = u32::try_from(room).unwrap_or(u32::MAX);
                if room32 < worth && !src.in_flight.is_empty() && left >= u64::from(worth) {
                    return None;
                }
                let most = per_request.min(room32);
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

    pub(super) fn ask(
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
}
