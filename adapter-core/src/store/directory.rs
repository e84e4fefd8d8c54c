//! A shared folder as a content store.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use ejtp_proto::content::{
    BlockLayout, BlockSet, ContentId, ContentStore, PartialStore, StoreError,
};

use super::partial::PartialDir;
use crate::folder::{folder_files, hash_file};

/// The hidden working folder inside a shared folder, where downloads in progress live.
pub const PARTIAL_DIR: &str = ".ejtp-partial";

/// One shared file.
#[derive(Clone, Debug)]
struct Shared {
    path: PathBuf,
    len: u64,
}

/// A folder of shared files, and the downloads on their way into it.
///
/// Shared files are hashed when shared ([`DirectoryStore::share`], [`DirectoryStore::scan`])
/// and served from their path afterwards. The store itself does not watch them: a file changed
/// after that is served as it is now (at most the length hashed). A node's folder is kept
/// current by [`SharedDirectory`](crate::SharedDirectory), which rescans it, re-hashes what
/// changed and withdraws the old ids ([`unshare`](Self::unshare)).
/// Downloads are kept in [`PARTIAL_DIR`] until they verify, then renamed into the folder under
/// the name given by [`DirectoryStore::name_download`], or their id.
pub struct DirectoryStore {
    dir: PathBuf,
    shared: BTreeMap<ContentId, Shared>,
    names: BTreeMap<ContentId, String>,
    partials: PartialDir,
    /// The file last read, kept open: serving reads the same file block after block.
    reader: Option<(ContentId, File)>,
}

fn failed(err: &io::Error) -> StoreError {
    StoreError::Failed(err.to_string())
}

impl DirectoryStore {
    /// Opens `dir` (creating it and its working folder if needed). Nothing is shared yet: call
    /// [`scan`](Self::scan) to share what the folder holds.
    ///
    /// # Errors
    /// When a folder cannot be created.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        let work = dir.join(PARTIAL_DIR);
        fs::create_dir_all(&work)?;
        Ok(Self {
            dir,
            shared: BTreeMap::new(),
            names: BTreeMap::new(),
            partials: PartialDir::new(work),
            reader: None,
        })
    }

    /// The shared folder.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes the downloads begun from now on on the node's disk thread (on threads of their
    /// own if `None`).
    pub(crate) fn set_disk(&mut self, disk: Option<crate::disk::Disk>) {
        self.partials.set_disk(disk);
    }

    /// Takes every open partial download out, to be closed (its last blocks written) by
    /// dropping what is returned, outside the lock the store is under.
    pub(crate) fn take_open_partials(&mut self) -> super::partial::OpenPartials {
        self.partials.take_open()
    }

    /// Hashes the file at `path` (anywhere, not only in the folder) and shares it.
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn share(&mut self, path: impl AsRef<Path>) -> io::Result<ContentId> {
        let path = path.as_ref();
        let (id, len) = hash_file(path, &AtomicBool::new(false), &mut || {})?;
        self.insert_shared(id, path.to_path_buf(), len);
        Ok(id)
    }

    /// Shares the file at `path`, already hashed elsewhere to `id` and `len` bytes (hashing
    /// needs no lock on the store, so a caller can do it off the node's thread).
    pub fn insert_shared(&mut self, id: ContentId, path: PathBuf, len: u64) {
        self.shared.insert(id, Shared { path, len });
        self.reader = None;
    }

    /// Stops serving `id` if it is served from `path` (a file changed or removed since it was
    /// hashed). Returns whether it was.
    pub fn unshare(&mut self, id: &ContentId, path: &Path) -> bool {
        if self.path_of(id) != Some(path) {
            return false;
        }
        self.shared.remove(id);
        if self.reader.as_ref().is_some_and(|(open, _)| open == id) {
            self.reader = None;
        }
        true
    }

    /// Every shared content: its id, path and length, in id order.
    #[must_use]
    pub fn shared_files(&self) -> Vec<(ContentId, PathBuf, u64)> {
        self.shared
            .iter()
            .map(|(id, shared)| (*id, shared.path.clone(), shared.len))
            .collect()
    }

    /// Shares every regular file directly in the folder, except hidden ones (names starting
    /// with `.`, the working folder among them). Returns each id with its path, in name order.
    ///
    /// # Errors
    /// When the folder or a file cannot be read.
    pub fn scan(&mut self) -> io::Result<Vec<(ContentId, PathBuf)>> {
        folder_files(&self.dir)?
            .into_iter()
            .map(|path| Ok((self.share(&path)?, path)))
            .collect()
    }

    /// Where the complete content `id` is, if it is shared.
    #[must_use]
    pub fn path_of(&self, id: &ContentId) -> Option<&Path> {
        self.shared.get(id).map(|shared| shared.path.as_path())
    }

    /// Names the file a download of `id` becomes once verified (default: the id in hex).
    /// Only a plain file name is accepted: no separator, not hidden, not empty.
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidInput`] for any other name.
    pub fn name_download(&mut self, id: ContentId, name: &str) -> io::Result<()> {
        let plain = !name.is_empty()
            && !name.starts_with('.')
            && Path::new(name).file_name().is_some_and(|n| n == name)
            && !name.contains(['/', '\\']);
        if !plain {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a download's name is a plain file name",
            ));
        }
        self.names.insert(id, name.to_string());
        Ok(())
    }

    /// Where a verified download of `id` goes: its name, or its name with the id's first
    /// digits when a different file already has that name (never overwritten).
    fn destination(&self, id: &ContentId) -> io::Result<PathBuf> {
        let name = self
            .names
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string());
        let first = self.dir.join(&name);
        if !first.exists() {
            return Ok(first);
        }
        let short: String = id.to_string().chars().take(16).collect();
        let second = self.dir.join(format!("{name}.{short}"));
        if second.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} already exists", second.display()),
            ));
        }
        Ok(second)
    }
}

impl ContentStore for DirectoryStore {
    fn len_of(&self, id: &ContentId) -> Option<u64> {
        self.shared.get(id).map(|shared| shared.len)
    }

    fn read_at(
        &mut self,
        id: &ContentId,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, StoreError> {
        let shared = self.shared.get(id).ok_or(StoreError::NotFound)?;
        let available = shared.len.saturating_sub(offset);
        let wanted = buf
            .len()
            .min(usize::try_from(available).unwrap_or(usize::MAX));
        if wanted == 0 {
            return Ok(0);
        }
        if self.reader.as_ref().is_none_or(|(open, _)| open != id) {
            let file = File::open(&shared.path).map_err(|err| failed(&err))?;
            self.reader = Some((*id, file));
        }
        let (_, file) = self.reader.as_mut().ok_or(StoreError::NotFound)?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|err| failed(&err))?;
        let target = buf.get_mut(..wanted).unwrap_or_default();
        let mut filled = 0;
        while filled < target.len() {
            let rest = target.get_mut(filled..).unwrap_or_default();
            match file.read(rest) {
                Ok(0) => break,
                Ok(read) => filled += read,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(failed(&err)),
            }
        }
        Ok(filled)
    }

    fn list(&self) -> Vec<(ContentId, u64)> {
        self.shared
            .iter()
            .map(|(id, shared)| (*id, shared.len))
            .collect()
    }
}

impl PartialStore for DirectoryStore {
    fn partial_layout(&mut self, id: &ContentId) -> Result<Option<BlockLayout>, StoreError> {
        Ok(self.partials.layout(id))
    }

    fn begin(&mut self, id: &ContentId, layout: BlockLayout) -> Result<BlockSet, StoreError> {
        self.partials.begin(id, layout).map_err(|err| failed(&err))
    }

    fn write_block(
        &mut self,
        id: &ContentId,
        index: u64,
        bytes: &[u8],
        checksum: u64,
    ) -> Result<(), StoreError> {
        self.partials
            .write_block(id, index, bytes, checksum)
            .map_err(|err| failed(&err))
    }

    fn read_block(
        &mut self,
        id: &ContentId,
        index: u64,
        buf: &mut [u8],
    ) -> Result<usize, StoreError> {
        self.partials
            .read_block(id, index, buf)
            .map_err(|err| failed(&err))
    }

    fn forget_block(&mut self, id: &ContentId, index: u64) -> Result<(), StoreError> {
        self.partials
            .forget_block(id, index)
            .map_err(|err| failed(&err))
    }

    /// Renames the verified `.part` file into the folder (one atomic step on one file system:
    /// the working folder is inside the shared folder) and shares it.
    fn finish(&mut self, id: &ContentId) -> Result<(), StoreError> {
        if !self.partials.is_open(id) {
            return Err(StoreError::NotFound);
        }
        let destination = self.destination(id).map_err(|err| failed(&err))?;
        let part = self
            .partials
            .close_verified(id)
            .map_err(|err| failed(&err))?;
        let len = fs::metadata(&part).map_err(|err| failed(&err))?.len();
        fs::rename(&part, &destination).map_err(|err| failed(&err))?;
        self.shared.insert(
            *id,
            Shared {
                path: destination,
                len,
            },
        );
        Ok(())
    }

    fn abort(&mut self, id: &ContentId) -> Result<(), StoreError> {
        self.partials.abort(id).map_err(|err| failed(&err))
    }
}
