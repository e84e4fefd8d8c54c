//! A [`DirectoryStore`] shared between the node (which serves from it and downloads into it)
//! and the adapter (which shares new files and looks up where a download landed).
//!
//! The node owns its storage as a boxed trait object, so the adapter could no longer reach
//! the directory's own methods (`share`, `path_of`). Both hold this handle instead; the lock is
//! only ever taken by the driver's thread and by short adapter calls, never across an await.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use proto_core::content::{
    BlockLayout, BlockSet, ContentId, ContentStore, PartialStore, StoreError,
};

use crate::store::DirectoryStore;

/// A shared folder, cloneable: every clone is the same folder.
#[derive(Clone)]
pub struct SharedDirectory {
    inner: Arc<Mutex<DirectoryStore>>,
}

impl std::fmt::Debug for SharedDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedDirectory")
            .field("dir", &self.lock().dir())
            .finish()
    }
}

impl SharedDirectory {
    /// Opens `dir` (creating it) and shares every file already in it.
    ///
    /// # Errors
    /// When the folder cannot be created or a file in it cannot be read.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let mut store = DirectoryStore::open(dir)?;
        store.scan()?;
        Ok(Self {
            inner: Arc::new(Mutex::new(store)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, DirectoryStore> {
        // A panic while holding the lock leaves the store usable: its state is files on disk.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hashes the file at `path` and shares it (the file stays where it is).
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn share(&self, path: &Path) -> io::Result<ContentId> {
        self.lock().share(path)
    }

    /// Where the complete content `id` is, if it is shared (a finished download included).
    #[must_use]
    pub fn path_of(&self, id: &ContentId) -> Option<PathBuf> {
        self.lock().path_of(id).map(Path::to_path_buf)
    }

    /// The folder.
    #[must_use]
    pub fn dir(&self) -> PathBuf {
        self.lock().dir().to_path_buf()
    }
}

impl ContentStore for SharedDirectory {
    fn len_of(&self, id: &ContentId) -> Option<u64> {
        self.lock().len_of(id)
    }

    fn read_at(
        &mut self,
        id: &ContentId,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, StoreError> {
        self.lock().read_at(id, offset, buf)
    }

    fn list(&self) -> Vec<(ContentId, u64)> {
        self.lock().list()
    }
}

impl PartialStore for SharedDirectory {
    fn partial_layout(&mut self, id: &ContentId) -> Result<Option<BlockLayout>, StoreError> {
        self.lock().partial_layout(id)
    }

    fn begin(&mut self, id: &ContentId, layout: BlockLayout) -> Result<BlockSet, StoreError> {
        self.lock().begin(id, layout)
    }

    fn write_block(
        &mut self,
        id: &ContentId,
        index: u64,
        bytes: &[u8],
        checksum: u64,
    ) -> Result<(), StoreError> {
        self.lock().write_block(id, index, bytes, checksum)
    }

    fn read_block(
        &mut self,
        id: &ContentId,
        index: u64,
        buf: &mut [u8],
    ) -> Result<usize, StoreError> {
        self.lock().read_block(id, index, buf)
    }

    fn forget_block(&mut self, id: &ContentId, index: u64) -> Result<(), StoreError> {
        self.lock().forget_block(id, index)
    }

    fn finish(&mut self, id: &ContentId) -> Result<(), StoreError> {
        self.lock().finish(id)
    }

    fn abort(&mut self, id: &ContentId) -> Result<(), StoreError> {
        self.lock().abort(id)
    }
}
