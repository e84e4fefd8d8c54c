//! A [`DirectoryStore`] shared between the node (which serves from it and downloads into it)
//! and the adapter (which shares new files and looks up where a download landed).
//!
//! The node owns its storage as a boxed trait object, so the adapter could no longer reach
//! the directory's own methods (`share`, `path_of`). Both hold this handle instead; the lock is
//! only ever taken by the driver's thread, the folder's rescan thread and short adapter calls,
//! never across an await and never while a file is hashed.
//!
//! The folder stays current while the node runs: [`SharedDirectory::start_disk`] rescans it
//! on the node's disk thread (new files are hashed and served, changed ones re-hashed and no
//! longer served under their old id, removed ones withdrawn), and every read checks first that
//! the file still has the length and modification time it was hashed with.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ejtp_proto::content::{
    BlockLayout, BlockSet, ContentId, ContentStore, PartialStore, StoreError,
};

use crate::disk::DiskThread;
use crate::folder::hash_file;
use crate::rescan::rescan;
use crate::shared_files::{Commit, Files, Stamp};
use crate::store::DirectoryStore;

/// A shared folder, cloneable: every clone is the same folder.
///
/// It serves at most [`MAX_SHARED_FILES`](crate::shared_files::MAX_SHARED_FILES) files.
#[derive(Clone)]
pub struct SharedDirectory {
    inner: Arc<Mutex<Files>>,
}

impl std::fmt::Debug for SharedDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedDirectory")
            .field("dir", &self.lock().store.dir())
            .finish()
    }
}

impl SharedDirectory {
    /// Opens `dir` (creating it) and shares every file already in it (a file that cannot be
    /// read is left out, with a warning, and tried again by the next rescan).
    ///
    /// # Errors
    /// When the folder cannot be created.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let store = DirectoryStore::open(dir)?;
        let shared = Self {
            inner: Arc::new(Mutex::new(Files::new(store))),
        };
        rescan(&shared, &AtomicBool::new(false), true, &mut || {});
        Ok(shared)
    }

    /// Starts the node's disk thread for this folder: it writes every download's blocks and
    /// rescans the folder every `rescan` (if given), until the returned value is dropped (which
    /// finishes the downloads' writes, stops the thread and waits for it: a hash in progress
    /// gives up within 64 KiB).
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub(crate) fn start_disk(&self, rescan: Option<Duration>) -> io::Result<DiskThread> {
        DiskThread::start(self.clone(), rescan)
    }

    /// Runs `f` on the store and its table of files, under the lock; while another thread
    /// holds the lock, calls `between` (so that the disk thread goes on writing the downloads'
    /// blocks, which the holder may be waiting for).
    pub(crate) fn with_files_serving<T>(
        &self,
        between: &mut dyn FnMut(),
        f: impl FnOnce(&mut Files) -> T,
    ) -> T {
        loop {
            match self.inner.try_lock() {
                Ok(mut files) => return f(&mut files),
                Err(std::sync::TryLockError::Poisoned(poisoned)) => {
                    return f(&mut poisoned.into_inner());
                }
                Err(std::sync::TryLockError::WouldBlock) => {
                    between();
                    // The lock is held for short calls: a short nap, not a spin.
                    std::thread::sleep(Duration::from_micros(100));
                }
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Files> {
        // A panic while holding the lock leaves the store usable: its state is files on disk.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the store and its table of files, under the lock.
    pub(crate) fn with_files<T>(&self, f: impl FnOnce(&mut Files) -> T) -> T {
        f(&mut self.lock())
    }

    /// Hashes the file at `path` and shares it (the file stays where it is), instead of what it
    /// was shared as before. The lock is not held while hashing.
    ///
    /// # Errors
    /// When the file cannot be read, or changed while it was hashed.
    pub fn share(&self, path: &Path) -> io::Result<ContentId> {
        let before = Stamp::of(path)?;
        let (id, len) = hash_file(path, &AtomicBool::new(false), &mut || {})?;
        if Stamp::of(path)? != before || len != before.len {
            return Err(io::Error::other(format!(
                "{} changed while it was hashed",
                path.display()
            )));
        }
        match self.with_files(|files| files.commit(path, id, before)) {
            Commit::Full => Err(io::Error::other(format!(
                "the folder already shares {} files",
                crate::shared_files::MAX_SHARED_FILES
            ))),
            _ => Ok(id),
        }
    }

    /// Where the complete content `id` is, if it is shared (a finished download included).
    #[must_use]
    pub fn path_of(&self, id: &ContentId) -> Option<PathBuf> {
        self.lock().store.path_of(id).map(Path::to_path_buf)
    }

    /// The folder.
    #[must_use]
    pub fn dir(&self) -> PathBuf {
        self.lock().store.dir().to_path_buf()
    }
}

impl ContentStore for SharedDirectory {
    fn len_of(&self, id: &ContentId) -> Option<u64> {
        self.lock().store.len_of(id)
    }

    /// Reads only from a file that still has the stamp it was hashed with: one changed or
    /// removed since is withdrawn at once and answers [`StoreError::NotFound`].
    fn read_at(
        &mut self,
        id: &ContentId,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, StoreError> {
        let mut files = self.lock();
        if !files.check_before_read(id) {
            return Err(StoreError::NotFound);
        }
        files.store.read_at(id, offset, buf)
    }

    fn list(&self) -> Vec<(ContentId, u64)> {
        self.lock().store.list()
    }
}

impl PartialStore for SharedDirectory {
    fn partial_layout(&mut self, id: &ContentId) -> Result<Option<BlockLayout>, StoreError> {
        self.lock().store.partial_layout(id)
    }

    fn begin(&mut self, id: &ContentId, layout: BlockLayout) -> Result<BlockSet, StoreError> {
        self.lock().store.begin(id, layout)
    }

    fn write_block(
        &mut self,
        id: &ContentId,
        index: u64,
        bytes: &[u8],
        checksum: u64,
    ) -> Result<(), StoreError> {
        self.lock().store.write_block(id, index, bytes, checksum)
    }

    fn read_block(
        &mut self,
        id: &ContentId,
        index: u64,
        buf: &mut [u8],
    ) -> Result<usize, StoreError> {
        self.lock().store.read_block(id, index, buf)
    }

    fn forget_block(&mut self, id: &ContentId, index: u64) -> Result<(), StoreError> {
        self.lock().store.forget_block(id, index)
    }

    fn finish(&mut self, id: &ContentId) -> Result<(), StoreError> {
        self.lock().store.finish(id)
    }

    fn abort(&mut self, id: &ContentId) -> Result<(), StoreError> {
        self.lock().store.abort(id)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::time::SystemTime;

    use super::*;

    fn read_all(shared: &mut SharedDirectory, id: &ContentId) -> Result<Vec<u8>, StoreError> {
        let len = shared.len_of(id).ok_or(StoreError::NotFound)?;
        let mut buf = vec![0; usize::try_from(len).unwrap()];
        let read = shared.read_at(id, 0, &mut buf)?;
        buf.truncate(read);
        Ok(buf)
    }

    /// Moves the file's modification time, so that a change is seen on any file system.
    fn touch(path: &Path, at: SystemTime) {
        let file = fs::File::options().write(true).open(path).unwrap();
        file.set_modified(at).unwrap();
    }

    #[test]
    fn a_rescan_serves_new_files_rehashes_changed_ones_and_withdraws_removed_ones() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a"), b"first a").unwrap();
        let mut shared = SharedDirectory::open(dir.path()).unwrap();
        let a = ContentId::of(b"first a");
        assert_eq!(read_all(&mut shared, &a).unwrap(), b"first a");

        fs::write(dir.path().join("b"), b"bee").unwrap();
        let b = ContentId::of(b"bee");
        assert_eq!(shared.len_of(&b), None, "not before a rescan");
        rescan(&shared, &AtomicBool::new(false), false, &mut || {});
        assert_eq!(read_all(&mut shared, &b).unwrap(), b"bee");

        // Changed in place, same length: refused at once, served under the new id after.
        let epoch = SystemTime::UNIX_EPOCH;
        fs::write(dir.path().join("a"), b"other a").unwrap();
        touch(&dir.path().join("a"), epoch + Duration::from_secs(1));
        assert_eq!(read_all(&mut shared, &a), Err(StoreError::NotFound));
        assert_eq!(shared.len_of(&a), None, "withdrawn by the read");
        rescan(&shared, &AtomicBool::new(false), false, &mut || {});
        let new_a = ContentId::of(b"other a");
        assert_eq!(read_all(&mut shared, &new_a).unwrap(), b"other a");

        // Changed again, seen by the rescan first this time.
        fs::write(dir.path().join("a"), b"third a!").unwrap();
        rescan(&shared, &AtomicBool::new(false), false, &mut || {});
        assert_eq!(shared.len_of(&new_a), None);
        let third = ContentId::of(b"third a!");
        assert_eq!(read_all(&mut shared, &third).unwrap(), b"third a!");

        fs::remove_file(dir.path().join("b")).unwrap();
        rescan(&shared, &AtomicBool::new(false), false, &mut || {});
        assert_eq!(shared.len_of(&b), None, "removed");
        let listed: Vec<ContentId> = shared.list().into_iter().map(|(id, _)| id).collect();
        assert_eq!(listed, [third]);
    }

    #[test]
    fn a_finished_download_is_adopted_and_then_followed_like_any_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut shared = SharedDirectory::open(dir.path()).unwrap();
        // What `PartialStore::finish` does: the verified file renamed in, served by the store.
        let path = dir.path().join("downloaded");
        fs::write(&path, b"downloaded").unwrap();
        let id = ContentId::of(b"downloaded");
        shared.with_files(|files| files.store.insert_shared(id, path.clone(), 10));
        rescan(&shared, &AtomicBool::new(false), false, &mut || {});
        assert!(shared.with_files(|files| files.knows(&path)), "adopted");
        assert_eq!(read_all(&mut shared, &id).unwrap(), b"downloaded");

        fs::write(&path, b"downloaded, then edited").unwrap();
        rescan(&shared, &AtomicBool::new(false), false, &mut || {});
        assert_eq!(shared.len_of(&id), None);
        let edited = ContentId::of(b"downloaded, then edited");
        assert_eq!(
            read_all(&mut shared, &edited).unwrap(),
            b"downloaded, then edited"
        );

        // Changed before any rescan saw it: its id is withdrawn, and it is hashed anew.
        let other = dir.path().join("other");
        fs::write(&other, b"other, longer now").unwrap();
        let stale = ContentId::of(b"other");
        shared.with_files(|files| files.store.insert_shared(stale, other.clone(), 5));
        rescan(&shared, &AtomicBool::new(false), false, &mut || {});
        assert_eq!(shared.len_of(&stale), None);
        assert!(
            shared
                .len_of(&ContentId::of(b"other, longer now"))
                .is_some()
        );
    }

    #[test]
    fn two_files_with_one_content_keep_it_served_while_either_is_there() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("one"), b"same").unwrap();
        fs::write(dir.path().join("two"), b"same").unwrap();
        let mut shared = SharedDirectory::open(dir.path()).unwrap();
        let id = ContentId::of(b"same");
        fs::remove_file(dir.path().join("two")).unwrap();
        rescan(&shared, &AtomicBool::new(false), false, &mut || {});
        assert_eq!(read_all(&mut shared, &id).unwrap(), b"same");
        assert_eq!(shared.path_of(&id), Some(dir.path().join("one")));
    }

    #[test]
    fn a_file_shared_from_elsewhere_is_followed_too_and_a_stopped_rescan_does_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let path = elsewhere.path().join("outside");
        fs::write(&path, b"outside").unwrap();
        let mut shared = SharedDirectory::open(dir.path()).unwrap();
        let id = shared.share(&path).unwrap();
        assert_eq!(read_all(&mut shared, &id).unwrap(), b"outside");

        fs::write(&path, b"outside, longer").unwrap();
        rescan(&shared, &AtomicBool::new(true), false, &mut || {});
        assert!(
            shared.len_of(&id).is_some(),
            "a stopped rescan hashes nothing"
        );
        rescan(&shared, &AtomicBool::new(false), false, &mut || {});
        assert_eq!(shared.len_of(&id), None);
        let longer = ContentId::of(b"outside, longer");
        assert_eq!(read_all(&mut shared, &longer).unwrap(), b"outside, longer");
    }

    #[test]
    fn the_rescan_thread_picks_up_new_files_and_stops_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let shared = SharedDirectory::open(dir.path()).unwrap();
        let rescanner = shared.start_disk(Some(Duration::from_millis(20))).unwrap();
        fs::write(dir.path().join("late"), b"late").unwrap();
        let id = ContentId::of(b"late");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while shared.len_of(&id).is_none() {
            assert!(std::time::Instant::now() < deadline, "never picked up");
            std::thread::sleep(Duration::from_millis(10));
        }
        let started = std::time::Instant::now();
        drop(rescanner);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
