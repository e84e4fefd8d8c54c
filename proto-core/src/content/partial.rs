//! Where a download writes its blocks until the content is complete and verified.
//!
//! The downloader keeps no content in memory: every block it accepts goes to a
//! [`PartialStore`] with its checksum (the store keeps both, see [`Manifest`]), and the whole-content
//! check reads blocks back from it. Once the content hashes to its id, [`PartialStore::finish`]
//! makes it complete in one atomic step (a directory store renames the file into the shared
//! folder); until then, nothing of it is visible as content.

use alloc::collections::BTreeMap;
use alloc::string::ToString;
use alloc::vec::Vec;

use super::{BlockLayout, BlockSet, ContentId, Manifest, MemoryStore, StoreError, block_checksum};

/// Storage for downloads in progress.
///
/// Calls for one id come in this order: [`begin`](Self::begin), then any number of
/// [`write_block`](Self::write_block), [`read_block`](Self::read_block) and
/// [`forget_block`](Self::forget_block), then [`finish`](Self::finish) (the content verified) or
/// [`abort`](Self::abort).
pub trait PartialStore {
    /// The layout of a partial download of `id` kept from an earlier run, if there is one.
    ///
    /// # Errors
    /// [`StoreError::Failed`] on I/O failure.
    fn partial_layout(&mut self, id: &ContentId) -> Result<Option<BlockLayout>, StoreError>;

    /// Opens the partial download of `id` cut as `layout`: resumes the one kept from an earlier
    /// run, or creates it. Returns the blocks already held *whose bytes still match the
    /// manifest* (each is checked again); blocks that do not match are forgotten. A partial kept
    /// with another layout is discarded.
    ///
    /// # Errors
    /// [`StoreError::Failed`] on I/O failure or when the store cannot hold `layout.total_len`.
    fn begin(&mut self, id: &ContentId, layout: BlockLayout) -> Result<BlockSet, StoreError>;

    /// Writes block `index` (its full length) and records `checksum`, its
    /// [`block_checksum`], in the manifest.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when `id` was not begun, [`StoreError::Failed`] on I/O failure or
    /// a block that does not fit the layout.
    fn write_block(
        &mut self,
        id: &ContentId,
        index: u64,
        bytes: &[u8],
        checksum: u64,
    ) -> Result<(), StoreError>;

    /// Reads block `index` into `buf` (at least one block long); returns the block's length.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when `id` was not begun, [`StoreError::Failed`] on I/O failure.
    fn read_block(
        &mut self,
        id: &ContentId,
        index: u64,
        buf: &mut [u8],
    ) -> Result<usize, StoreError>;

    /// Forgets block `index`: it was found wrong and will be fetched again.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when `id` was not begun, [`StoreError::Failed`] on I/O failure.
    fn forget_block(&mut self, id: &ContentId, index: u64) -> Result<(), StoreError>;

    /// The content verified: make it complete content, atomically (all of it or none of it).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when `id` was not begun, [`StoreError::Failed`] on I/O failure.
    fn finish(&mut self, id: &ContentId) -> Result<(), StoreError>;

    /// Drops the partial download of `id` and everything kept for it.
    ///
    /// # Errors
    /// [`StoreError::Failed`] on I/O failure.
    fn abort(&mut self, id: &ContentId) -> Result<(), StoreError>;
}

struct MemoryPartial {
    manifest: Manifest,
    data: Vec<u8>,
}

impl MemoryPartial {
    fn block_range(&self, index: u64) -> Option<core::ops::Range<usize>> {
        let layout = self.manifest.layout();
        if index >= layout.block_count() {
            return None;
        }
        let start = usize::try_from(layout.offset_of(index)).ok()?;
        let len = usize::try_from(layout.len_of(index)).ok()?;
        Some(start..start.checked_add(len)?)
    }
}

/// A [`PartialStore`] in memory, whose finished downloads become a [`MemoryStore`]: for tests,
/// simulations and small embedded nodes.
///
/// A partial survives the [`Download`](super::Download) that wrote it, so a test can stop a
/// download, build a new one over the same store and watch it resume.
#[derive(Default)]
pub struct MemoryPartialStore {
    partials: BTreeMap<ContentId, MemoryPartial>,
    complete: MemoryStore,
    blocks_written: u64,
}

impl MemoryPartialStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The finished downloads.
    #[must_use]
    pub fn complete(&self) -> &MemoryStore {
        &self.complete
    }

    /// The finished downloads, mutably (a node serves them from here).
    pub fn complete_mut(&mut self) -> &mut MemoryStore {
        &mut self.complete
    }

    /// How many blocks were written since the store was made.
    #[must_use]
    pub fn blocks_written(&self) -> u64 {
        self.blocks_written
    }

    /// Whether a partial download of `id` is kept.
    #[must_use]
    pub fn has_partial(&self, id: &ContentId) -> bool {
        self.partials.contains_key(id)
    }

    /// Flips one byte of block `index` of a partial download without touching its manifest, as
    /// a disk error would: for tests of the check on resume. Returns whether a byte was flipped.
    pub fn corrupt_block(&mut self, id: &ContentId, index: u64) -> bool {
        let Some(partial) = self.partials.get_mut(id) else {
            return false;
        };
        let Some(range) = partial.block_range(index) else {
            return false;
        };
        match partial.data.get_mut(range.start) {
            Some(byte) if !range.is_empty() => {
                *byte ^= 0xff;
                true
            }
            _ => false,
        }
    }
}

impl PartialStore for MemoryPartialStore {
    fn partial_layout(&mut self, id: &ContentId) -> Result<Option<BlockLayout>, StoreError> {
        Ok(self.partials.get(id).map(|p| p.manifest.layout()))
    }

    fn begin(&mut self, id: &ContentId, layout: BlockLayout) -> Result<BlockSet, StoreError> {
        let mut held = BlockSet::new(layout.block_count());
        if let Some(partial) = self.partials.get_mut(id) {
            if partial.manifest.layout() == layout {
                let recorded: Vec<(u64, u64)> = partial.manifest.entries().collect();
                for (index, checksum) in recorded {
                    let intact = partial
                        .block_range(index)
                        .and_then(|range| partial.data.get(range))
                        .is_some_and(|bytes| block_checksum(bytes) == checksum);
                    if intact {
                        held.insert(index);
                    } else {
                        partial.manifest.forget(index);
                    }
                }
                return Ok(held);
            }
        }
        let len = usize::try_from(layout.total_len)
            .map_err(|_| StoreError::Failed("content too long for memory".to_string()))?;
        let mut data = Vec::new();
        data.try_reserve_exact(len)
            .map_err(|_| StoreError::Failed("content too long for memory".to_string()))?;
        data.resize(len, 0);
        self.partials.insert(
            *id,
            MemoryPartial {
                manifest: Manifest::new(*id, layout),
                data,
            },
        );
        Ok(held)
    }

    fn write_block(
        &mut self,
        id: &ContentId,
        index: u64,
        bytes: &[u8],
        checksum: u64,
    ) -> Result<(), StoreError> {
        let partial = self.partials.get_mut(id).ok_or(StoreError::NotFound)?;
        let range = partial
            .block_range(index)
            .filter(|range| range.len() == bytes.len())
            .ok_or_else(|| StoreError::Failed("block does not fit the layout".to_string()))?;
        let target = partial
            .data
            .get_mut(range)
            .ok_or_else(|| StoreError::Failed("block does not fit the layout".to_string()))?;
        target.copy_from_slice(bytes);
        partial.manifest.record(index, checksum);
        self.blocks_written += 1;
        Ok(())
    }

    fn read_block(
        &mut self,
        id: &ContentId,
        index: u64,
        buf: &mut [u8],
    ) -> Result<usize, StoreError> {
        let partial = self.partials.get(id).ok_or(StoreError::NotFound)?;
        let bytes = partial
            .block_range(index)
            .and_then(|range| partial.data.get(range))
            .ok_or_else(|| StoreError::Failed("no such block".to_string()))?;
        let target = buf
            .get_mut(..bytes.len())
            .ok_or_else(|| StoreError::Failed("buffer shorter than a block".to_string()))?;
        target.copy_from_slice(bytes);
        Ok(bytes.len())
    }

    fn forget_block(&mut self, id: &ContentId, index: u64) -> Result<(), StoreError> {
        let partial = self.partials.get_mut(id).ok_or(StoreError::NotFound)?;
        partial.manifest.forget(index);
        Ok(())
    }

    fn finish(&mut self, id: &ContentId) -> Result<(), StoreError> {
        let partial = self.partials.remove(id).ok_or(StoreError::NotFound)?;
        let stored = self.complete.insert(partial.data);
        if stored != *id {
            // The downloader checks the hash before it calls `finish`; a store never makes
            // content complete under an id its bytes do not have.
            return Err(StoreError::Failed(
                "content does not match its id".to_string(),
            ));
        }
        Ok(())
    }

    fn abort(&mut self, id: &ContentId) -> Result<(), StoreError> {
        self.partials.remove(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::ContentStore;

    #[test]
    fn a_resumed_partial_keeps_only_blocks_that_still_match_their_checksum() {
        let content: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let id = ContentId::of(&content);
        let layout = BlockLayout::new(10_000, 4096).unwrap();
        let mut store = MemoryPartialStore::new();
        assert!(store.begin(&id, layout).unwrap().is_empty());
        for index in 0..3u64 {
            let start = (index * 4096) as usize;
            let block = &content[start..(start + 4096).min(content.len())];
            store
                .write_block(&id, index, block, block_checksum(block))
                .unwrap();
        }
        assert!(store.corrupt_block(&id, 1));
        assert_eq!(store.partial_layout(&id), Ok(Some(layout)));
        let held = store.begin(&id, layout).unwrap();
        assert_eq!(held.iter().collect::<Vec<_>>(), [0, 2]);
        let mut buf = [0u8; 4096];
        assert_eq!(store.read_block(&id, 2, &mut buf), Ok(10_000 - 8192));
        // A corrupted block finishes into wrong content: refused.
        assert!(store.finish(&id).is_err());
        assert!(store.complete().len_of(&id).is_none());
    }

    #[test]
    fn a_block_of_the_wrong_length_is_refused() {
        let id = ContentId::of(b"");
        let mut store = MemoryPartialStore::new();
        store
            .begin(&id, BlockLayout::new(5000, 4096).unwrap())
            .unwrap();
        assert!(store.write_block(&id, 1, &[0; 4096], 0).is_err());
        assert!(store.write_block(&id, 2, &[0; 1], 0).is_err());
        assert_eq!(
            store.write_block(&ContentId([1; 32]), 0, &[0; 1], 0),
            Err(StoreError::NotFound)
        );
    }
}
