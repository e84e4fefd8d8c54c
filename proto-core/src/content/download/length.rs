//! Which length the download follows when sources disagree.
//!
//! Each source's first `eof` is its claim (a later, different one drops it:
//! [`DropReason::LengthChanged`](super::DropReason::LengthChanged)). With SHA-256 ids nothing
//! short of the whole content proves a length, so the first claim is only followed, not
//! trusted:
//!
//! - the download follows one length at a time, and keeps blocks only from sources that claim
//!   it (or have not answered yet); sources that claim another are not asked meanwhile;
//! - it follows the length with the best support: the most active sources claiming it that are
//!   not stalled, then the most active ones; a tie keeps the length followed. A length kept in
//!   the partial store by an earlier run counts as no claim, so the first source to claim
//!   another replaces it;
//! - the content is verified against the id under the length followed. If it does not verify,
//!   the sources that sent it are found out and dropped ([`DropReason::Corrupt`](super::DropReason::Corrupt)), which
//!   takes their claim away, and the download follows the next length;
//! - following another length starts afresh: the store is opened with the new layout when its
//!   first block arrives, which discards a partial of another length.
//!
//! A liar therefore cannot block honest sources: its length is followed only while it has as
//! much support as theirs, and only until its content fails to verify or it stalls. Each
//! switch away from a length whose content failed drops a source, and the table of claims is
//! bounded by `max_sources`.

use alloc::collections::BTreeMap;
use alloc::string::ToString;
use alloc::vec::Vec;

use crate::content::{BlockLayout, BlockSet, PartialStore, StoreError};

use super::backoff::STALLED_AFTER;
use super::source::SourceIndex;
use super::{Download, EARLIER, Known, Mode, NOBODY};

/// How well a length is supported: (active sources claiming it that are not stalled, active
/// sources claiming it, the first of them, reversed so that an earlier source wins a tie).
type Support = (usize, usize, core::cmp::Reverse<SourceIndex>);

impl Download {
    /// Follows `layout` from now on, with nothing held yet; the store is opened for it by
    /// [`Self::open_store`].
    pub(super) fn follow(&mut self, layout: BlockLayout) -> Result<(), StoreError> {
        let count = usize::try_from(layout.block_count())
            .map_err(|_| StoreError::Failed("content too long".to_string()))?;
        let mut supplier = Vec::new();
        supplier
            .try_reserve_exact(count)
            .map_err(|_| StoreError::Failed("content too long".to_string()))?;
        supplier.resize(count, NOBODY);
        self.known = Some(Known {
            layout,
            begun: false,
            held: BlockSet::new(layout.block_count()),
            supplier,
            have_bytes: 0,
        });
        Ok(())
    }

    /// Opens the partial download for the layout followed, which says which blocks are held.
    pub(super) fn open_store(&mut self, store: &mut dyn PartialStore) -> Result<(), StoreError> {
        let Some(known) = self.known.as_mut() else {
            return Ok(());
        };
        let held = store.begin(&self.id, known.layout)?;
        let mut have_bytes = 0;
        for index in held.iter() {
            if let Some(slot) = usize::try_from(index)
                .ok()
                .and_then(|i| known.supplier.get_mut(i))
            {
                *slot = EARLIER;
            }
            have_bytes += known.layout.len_of(index);
        }
        known.held = held;
        known.have_bytes = have_bytes;
        known.begun = true;
        self.push_progress();
        Ok(())
    }

    /// Follows the best supported length if it is not the one followed (see the module docs).
    /// Called whenever support changes: a new claim, a source dropped, a source stalled.
    pub(super) fn reconsider_length(&mut self) {
        if self.is_finished() {
            return;
        }
        let Some(followed) = self.known.as_ref().map(|known| known.layout.total_len) else {
            return;
        };
        // At most one entry per source (`max_sources`).
        let mut support: BTreeMap<u64, Support> = BTreeMap::new();
        for (index, source) in self.sources.iter().enumerate() {
            let (Some(len), true) = (source.claimed_len, source.is_active()) else {
                continue;
            };
            let Ok(index) = SourceIndex::try_from(index) else {
                break;
            };
            let entry = support
                .entry(len)
                .or_insert((0, 0, core::cmp::Reverse(index)));
            if source.timeouts < STALLED_AFTER {
                entry.0 += 1;
            }
            entry.1 += 1;
        }
        let here = support
            .get(&followed)
            .map_or((0, 0), |&(live, all, _)| (live, all));
        let best = support
            .iter()
            .filter(|(len, _)| **len != followed)
            .max_by_key(|(_, support)| **support)
            .map(|(len, &(live, all, _))| (*len, (live, all)));
        if let Some((len, _)) = best.filter(|(_, better)| *better > here) {
            self.switch_length(len);
        }
    }

    /// Gives up the length followed for `len`: everything asked or held under the old one is
    /// forgotten (the store drops the old partial when opened with the new layout).
    fn switch_length(&mut self, len: u64) {
        let Some(layout) = BlockLayout::new(len, self.config.block_size) else {
            return;
        };
        self.stats.length_switches += 1;
        self.clear_requests();
        self.mode = Mode::Swarm;
        self.verifier.reset();
        self.next_fresh = 0;
        if let Err(error) = self.follow(layout) {
            let why = match error {
                StoreError::Failed(why) => why,
                StoreError::NotFound => "content too long".to_string(),
            };
            self.fail(super::FailReason::Store(why));
            return;
        }
        self.push_progress();
    }
}
