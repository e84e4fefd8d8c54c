//! Completing a download, and finding the source that sent wrong bytes when it does not verify.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::content::{PartialStore, StoreError};

use super::source::SourceIndex;
use super::{Download, DownloadEvent, DropReason, EARLIER, Mode, NOBODY, Phase};

impl Download {
    pub(super) fn check_complete(
        &mut self,
        store: &mut dyn PartialStore,
    ) -> Result<(), StoreError> {
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
    pub(super) fn isolate(&mut self, store: &mut dyn PartialStore) -> Result<(), StoreError> {
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
    pub(super) fn forget_blocks(
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
}
