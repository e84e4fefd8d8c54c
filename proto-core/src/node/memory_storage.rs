//! [`MemoryPartialStore`] as a whole [`ContentStorage`](super::ContentStorage): it serves the
//! downloads it finished (and whatever was put in [`MemoryPartialStore::complete_mut`]), so a
//! node in a test or a small embedded node can fetch and serve from memory.

use alloc::vec::Vec;

use crate::content::{ContentId, ContentStore, MemoryPartialStore, StoreError};

impl ContentStore for MemoryPartialStore {
    fn len_of(&self, id: &ContentId) -> Option<u64> {
        self.complete().len_of(id)
    }

    fn read_at(
        &mut self,
        id: &ContentId,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, StoreError> {
        self.complete_mut().read_at(id, offset, buf)
    }

    fn list(&self) -> Vec<(ContentId, u64)> {
        self.complete().list()
    }
}
