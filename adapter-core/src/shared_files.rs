//! What a shared folder serves, file by file: the id each file was hashed to and what the file
//! looked like then (its `Stamp`: length and modification time), so that a file changed since is never served under its old id.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ejtp_proto::content::{ContentId, ContentStore};

use crate::store::DirectoryStore;

/// The most files a shared folder serves ([`SharedDirectory`](crate::SharedDirectory)): past
/// that, new files are not shared (with a warning). About 200 bytes of memory each.
pub const MAX_SHARED_FILES: usize = 65_536;

/// What a file looked like when it was hashed: its length and modification time. A file whose
/// stamp differs has changed (a change that keeps both, within the file system's timestamp
/// granularity, cannot be seen this way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) len: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    /// The stamp of the regular file at `path` now.
    pub(crate) fn of(path: &Path) -> io::Result<Self> {
        let meta = fs::metadata(path)?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        Ok(Self {
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

/// A file served: the id it was hashed to, and its stamp then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tracked {
    pub(crate) id: ContentId,
    pub(crate) stamp: Stamp,
}

/// How [`Files::commit`] changed what is served.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Commit {
    /// A file not served before.
    New,
    /// A file served before under another id, withdrawn.
    Changed { old: ContentId },
    /// Nothing new (the same id again).
    Same,
    /// Not served: the table is full.
    Full,
}

/// The store and the table of the files it serves, by path: what a
/// [`SharedDirectory`](crate::SharedDirectory) guards with its lock.
pub(crate) struct Files {
    pub(crate) store: DirectoryStore,
    /// At most [`MAX_SHARED_FILES`].
    table: BTreeMap<PathBuf, Tracked>,
}

impl Files {
    pub(crate) fn new(store: DirectoryStore) -> Self {
        Self {
            store,
            table: BTreeMap::new(),
        }
    }

    /// The table's entries, for a rescan to compare with the folder.
    pub(crate) fn tracked(&self) -> Vec<(PathBuf, Tracked)> {
        self.table
            .iter()
            .map(|(path, tracked)| (path.clone(), *tracked))
            .collect()
    }

    /// Whether the table has the file at `path`.
    pub(crate) fn knows(&self, path: &Path) -> bool {
        self.table.contains_key(path)
    }

    /// Serves the file at `path`, hashed to `id` when it had `stamp`, instead of whatever it
    /// was served as before.
    pub(crate) fn commit(&mut self, path: &Path, id: ContentId, stamp: Stamp) -> Commit {
        let previous = self.table.get(path).copied();
        if previous.is_none() && self.table.len() >= MAX_SHARED_FILES {
            return Commit::Full;
        }
        self.table.insert(path.to_path_buf(), Tracked { id, stamp });
        self.store.insert_shared(id, path.to_path_buf(), stamp.len);
        match previous {
            None => Commit::New,
            Some(old) if old.id == id => Commit::Same,
            Some(old) => {
                self.unserve(&old.id, path);
                Commit::Changed { old: old.id }
            }
        }
    }

    /// Stops serving the file at `path` (changed or gone); returns the id it was served as.
    pub(crate) fn withdraw(&mut self, path: &Path) -> Option<ContentId> {
        let old = self.table.remove(path)?;
        self.unserve(&old.id, path);
        Some(old.id)
    }

    /// Records the stamp of a file the store serves but the table does not know: a download
    /// that finished (renamed into the folder once verified). False, and nothing recorded,
    /// if its length is not the one the store serves, the table knows the path already, or
    /// the table is full.
    pub(crate) fn adopt(&mut self, path: &Path, id: ContentId, stamp: Stamp) -> bool {
        let served = (self.store.path_of(&id) == Some(path))
            .then(|| self.store.len_of(&id))
            .flatten();
        if served != Some(stamp.len)
            || self.table.contains_key(path)
            || self.table.len() >= MAX_SHARED_FILES
        {
            return false;
        }
        self.table.insert(path.to_path_buf(), Tracked { id, stamp });
        true
    }

    /// Whether `id` may be served now: its file still has the stamp it was hashed with. A file
    /// that changed or went away is withdrawn at once (the next rescan hashes it again).
    pub(crate) fn check_before_read(&mut self, id: &ContentId) -> bool {
        let Some(path) = self.store.path_of(id).map(Path::to_path_buf) else {
            return false;
        };
        let now = Stamp::of(&path).ok();
        match (self.table.get(&path).copied(), now) {
            (Some(tracked), Some(now)) if tracked.id == *id && tracked.stamp == now => true,
            (Some(tracked), _) if tracked.id == *id => {
                self.withdraw(&path);
                tracing::info!(
                    path = %path.display(),
                    %id,
                    "shared file changed or removed: no longer served under its old id"
                );
                false
            }
            (_, Some(now)) if self.adopt(&path, *id, now) => true,
            _ => {
                self.store.unshare(id, &path);
                tracing::info!(
                    path = %path.display(),
                    %id,
                    "shared file changed or removed: no longer served under its old id"
                );
                false
            }
        }
    }

    /// Stops the store serving `id` from `path`; if another file of the table has the same
    /// content, serves it from there instead.
    fn unserve(&mut self, id: &ContentId, path: &Path) {
        if !self.store.unshare(id, path) {
            return;
        }
        let twin = self
            .table
            .iter()
            .find(|(other, tracked)| tracked.id == *id && other.as_path() != path)
            .map(|(other, tracked)| (other.clone(), tracked.stamp.len));
        if let Some((other, len)) = twin {
            self.store.insert_shared(*id, other, len);
        }
    }
}
