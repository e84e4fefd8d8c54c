//! The storage interface: what the core asks of whoever keeps the bytes.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

use super::ContentId;

/// Why a store could not do what was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The store does not hold this content.
    NotFound,
    /// The store failed (an I/O error in a directory store); the text says why.
    Failed(alloc::string::String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("content not found"),
            Self::Failed(why) => write!(f, "content store failed: {why}"),
        }
    }
}

impl core::error::Error for StoreError {}

/// Complete, verified content that a node serves, read by id, offset and length.
///
/// Implementations must only list and serve content whose bytes hash to its id: a directory
/// store hashes a file before it shares it, and downloads enter it only once verified.
pub trait ContentStore {
    /// The total length of the content, or `None` when the store does not hold it.
    fn len_of(&self, id: &ContentId) -> Option<u64>;

    /// Reads up to `buf.len()` bytes at `offset` into `buf`, returning how many were read: fewer
    /// than asked only at the end of the content, and 0 at or past it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the content is not held, [`StoreError::Failed`] on I/O
    /// failure.
    fn read_at(&mut self, id: &ContentId, offset: u64, buf: &mut [u8])
    -> Result<usize, StoreError>;

    /// Every content held, with its length, in id order.
    fn list(&self) -> Vec<(ContentId, u64)>;
}

/// A store in memory: for tests, simulations and small embedded nodes.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    contents: BTreeMap<ContentId, Vec<u8>>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `bytes` and returns their id.
    pub fn insert(&mut self, bytes: Vec<u8>) -> ContentId {
        let id = ContentId::of(&bytes);
        self.contents.insert(id, bytes);
        id
    }
}

impl ContentStore for MemoryStore {
    fn len_of(&self, id: &ContentId) -> Option<u64> {
        self.contents.get(id).map(|bytes| bytes.len() as u64)
    }

    fn read_at(
        &mut self,
        id: &ContentId,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, StoreError> {
        let bytes = self.contents.get(id).ok_or(StoreError::NotFound)?;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let available = bytes.get(start..).unwrap_or_default();
        let count = available.len().min(buf.len());
        if let (Some(target), Some(source)) = (buf.get_mut(..count), available.get(..count)) {
            target.copy_from_slice(source);
        }
        Ok(count)
    }

    fn list(&self) -> Vec<(ContentId, u64)> {
        self.contents
            .iter()
            .map(|(id, bytes)| (*id, bytes.len() as u64))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn reads_are_clipped_at_the_end_of_the_content() {
        let mut store = MemoryStore::new();
        let id = store.insert(b"hello world".to_vec());
        let mut buf = [0u8; 8];
        assert_eq!(store.read_at(&id, 6, &mut buf), Ok(5));
        assert_eq!(&buf[..5], b"world");
        assert_eq!(store.read_at(&id, 11, &mut buf), Ok(0));
        assert_eq!(store.read_at(&id, u64::MAX, &mut buf), Ok(0));
        assert_eq!(store.len_of(&id), Some(11));
        assert_eq!(store.list(), vec![(id, 11)]);
    }

    #[test]
    fn unknown_content_is_not_found() {
        let mut store = MemoryStore::new();
        let mut buf = [0u8; 1];
        assert_eq!(
            store.read_at(&ContentId([0; 32]), 0, &mut buf),
            Err(StoreError::NotFound)
        );
        assert_eq!(store.len_of(&ContentId([0; 32])), None);
    }
}
