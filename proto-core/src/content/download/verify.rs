//! The whole-content check, done as blocks become contiguous from the start.
//!
//! Hashing the prefix as it grows means that when the last block arrives, most of the content
//! is already hashed (in order, the usual case, nothing is read back at all); out-of-order
//! blocks are read back from the partial store once the gap before them fills.

use alloc::vec;
use alloc::vec::Vec;

use sha2::{Digest, Sha256};

use crate::content::{BlockLayout, BlockSet, ContentId, PartialStore, StoreError};

pub(super) struct PrefixHasher {
    hasher: Sha256,
    /// Blocks `0..next` are hashed.
    next: u64,
    buffer: Vec<u8>,
}

impl PrefixHasher {
    pub(super) fn new() -> Self {
        Self {
            hasher: Sha256::new(),
            next: 0,
            buffer: Vec::new(),
        }
    }

    /// Starts again from block 0 (a block before `next` was forgotten).
    pub(super) fn reset(&mut self) {
        self.hasher = Sha256::new();
        self.next = 0;
    }

    /// Block `index` just arrived with `bytes`: hash it if it extends the prefix.
    pub(super) fn offer(&mut self, index: u64, bytes: &[u8]) {
        if index == self.next {
            self.hasher.update(bytes);
            self.next += 1;
        }
    }

    /// Extends the prefix over every held block, reading them back from `store`.
    pub(super) fn catch_up(
        &mut self,
        id: &ContentId,
        layout: BlockLayout,
        held: &BlockSet,
        store: &mut dyn PartialStore,
    ) -> Result<(), StoreError> {
        while held.contains(self.next) {
            let size = usize::try_from(layout.block_size).unwrap_or(usize::MAX);
            if self.buffer.len() < size {
                self.buffer = vec![0; size];
            }
            let len = store.read_block(id, self.next, &mut self.buffer)?;
            let expected = usize::try_from(layout.len_of(self.next)).unwrap_or(usize::MAX);
            let bytes = self
                .buffer
                .get(..len)
                .filter(|_| len == expected)
                .ok_or_else(|| StoreError::Failed("store returned a short block".into()))?;
            self.hasher.update(bytes);
            self.next += 1;
        }
        Ok(())
    }

    /// Whether all blocks are hashed and the result is `id`.
    pub(super) fn matches(&self, id: &ContentId, layout: BlockLayout) -> bool {
        self.next == layout.block_count()
            && <[u8; 32]>::from(self.hasher.clone().finalize()) == id.0
    }
}
