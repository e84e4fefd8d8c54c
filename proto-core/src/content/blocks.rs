//! How content is cut into blocks, and a compact set of block indices.

use alloc::vec;
use alloc::vec::Vec;

/// The block size the public CJP2P node asks for and insists on: 4096-byte blocks at
/// 4096-aligned offsets.
pub const CJP2P_BLOCK_SIZE: u32 = 4096;

/// The most bytes the public CJP2P node puts in one `Content` reply.
pub const CJP2P_MAX_REPLY: u32 = 40960;

/// The shape of one content: its length and the size of its blocks (the last may be shorter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockLayout {
    /// The content's total length in bytes.
    pub total_len: u64,
    /// Every block but the last is exactly this long. Never zero.
    pub block_size: u32,
}

impl BlockLayout {
    /// A layout, or `None` when `block_size` is zero.
    #[must_use]
    pub fn new(total_len: u64, block_size: u32) -> Option<Self> {
        (block_size > 0).then_some(Self {
            total_len,
            block_size,
        })
    }

    /// How many blocks: at least one, since even empty content has an (empty) first block whose
    /// answer carries its length.
    #[must_use]
    pub fn block_count(&self) -> u64 {
        let size = u64::from(self.block_size.max(1));
        self.total_len.div_ceil(size).max(1)
    }

    /// The offset of block `index`.
    #[must_use]
    pub fn offset_of(&self, index: u64) -> u64 {
        index.saturating_mul(u64::from(self.block_size))
    }

    /// The length of block `index` (0 past the end, and for the one block of empty content).
    #[must_use]
    pub fn len_of(&self, index: u64) -> u64 {
        let start = self.offset_of(index);
        self.total_len
            .saturating_sub(start)
            .min(u64::from(self.block_size))
    }

    /// The block that starts at `offset`, if `offset` is a block boundary inside the content.
    #[must_use]
    pub fn index_at(&self, offset: u64) -> Option<u64> {
        let size = u64::from(self.block_size.max(1));
        let index = offset / size;
        (offset.is_multiple_of(size) && index < self.block_count()).then_some(index)
    }
}

/// A set of block indices below a fixed count: one bit per block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockSet {
    words: Vec<u64>,
    count: u64,
    len: u64,
}

impl BlockSet {
    /// An empty set of blocks `0..count`.
    #[must_use]
    pub fn new(count: u64) -> Self {
        let words = usize::try_from(count.div_ceil(64)).unwrap_or(usize::MAX);
        Self {
            words: vec![0; words],
            count,
            len: 0,
        }
    }

    /// The number of blocks the set can hold.
    #[must_use]
    pub fn capacity(&self) -> u64 {
        self.count
    }

    /// How many blocks are in the set.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the set is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether every block is in the set.
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.len == self.count
    }

    fn slot(&self, index: u64) -> Option<(usize, u64)> {
        if index >= self.count {
            return None;
        }
        Some((usize::try_from(index / 64).ok()?, 1u64 << (index % 64)))
    }

    /// Whether `index` is in the set.
    #[must_use]
    pub fn contains(&self, index: u64) -> bool {
        self.slot(index)
            .and_then(|(word, bit)| self.words.get(word).map(|w| w & bit != 0))
            .unwrap_or(false)
    }

    /// Adds `index`; returns whether it was new. Indices past the count are ignored.
    pub fn insert(&mut self, index: u64) -> bool {
        let Some((word, bit)) = self.slot(index) else {
            return false;
        };
        match self.words.get_mut(word) {
            Some(w) if *w & bit == 0 => {
                *w |= bit;
                self.len += 1;
                true
            }
            _ => false,
        }
    }

    /// Removes `index`; returns whether it was there.
    pub fn remove(&mut self, index: u64) -> bool {
        let Some((word, bit)) = self.slot(index) else {
            return false;
        };
        match self.words.get_mut(word) {
            Some(w) if *w & bit != 0 => {
                *w &= !bit;
                self.len -= 1;
                true
            }
            _ => false,
        }
    }

    /// The indices in the set, in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.count).filter(|&index| self.contains(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_cuts_content_into_aligned_blocks_with_a_short_last_one() {
        let layout = BlockLayout::new(10_000, 4096).unwrap();
        assert_eq!(layout.block_count(), 3);
        assert_eq!(layout.len_of(0), 4096);
        assert_eq!(layout.len_of(2), 10_000 - 8192);
        assert_eq!(layout.len_of(3), 0);
        assert_eq!(layout.index_at(8192), Some(2));
        assert_eq!(layout.index_at(12_288), None);
        assert_eq!(layout.index_at(100), None);
        assert!(BlockLayout::new(1, 0).is_none());
    }

    #[test]
    fn empty_content_has_one_empty_block() {
        let layout = BlockLayout::new(0, 4096).unwrap();
        assert_eq!(layout.block_count(), 1);
        assert_eq!(layout.len_of(0), 0);
        assert_eq!(layout.index_at(0), Some(0));
    }

    #[test]
    fn block_set_counts_what_it_holds() {
        let mut set = BlockSet::new(130);
        assert!(set.insert(0) && set.insert(129) && !set.insert(129));
        assert!(!set.insert(130));
        assert_eq!(set.len(), 2);
        assert!(set.contains(129) && !set.contains(64));
        assert_eq!(set.iter().collect::<Vec<_>>(), [0, 129]);
        assert!(set.remove(0) && !set.remove(0));
        assert_eq!(set.len(), 1);
        assert!(!set.is_full());
    }
}
