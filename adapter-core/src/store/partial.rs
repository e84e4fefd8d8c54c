//! Downloads in progress on disk: `<id>.part` and `<id>.manifest` in the working folder.
//!
//! The `.part` file holds exactly what was written: it is not sized ahead (a sparse file of
//! the full length would claim room it does not use, and fill the disk), it grows as blocks
//! land. Before a partial download is created or resumed, the free space of the folder is
//! checked against what is still to be written, so a content that cannot fit is refused with
//! a message naming the folder instead of failing midway; a disk that fills up anyway is
//! reported the same way.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use ejtp_proto::content::{BlockLayout, BlockSet, ContentId, Manifest, block_checksum};

use super::writer::{BlockWriter, read_exact_at};
use crate::disk::Disk;

/// One open partial download.
struct PartialFile {
    layout: BlockLayout,
    /// The partial file, for reading blocks back and the final flush to disk.
    part: File,
    /// Writes blocks and their manifest lines, on the node's disk thread (or one of its own).
    writer: BlockWriter,
}

/// The working folder and the partial downloads open in it.
pub(super) struct PartialDir {
    work: PathBuf,
    open: BTreeMap<ContentId, PartialFile>,
    /// The node's disk thread, which writes for every download, if the store has one.
    disk: Option<Disk>,
}

/// Partial downloads taken out of their store, to be closed (their last blocks written)
/// outside the store's lock: dropping this waits for their writers.
// Held only to be dropped (closing each download): never read.
pub(crate) struct OpenPartials(#[allow(dead_code)] BTreeMap<ContentId, PartialFile>);

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

/// Room a manifest line takes at most: a block index of up to 20 digits, a space, 16 hex
/// digits and a newline, rounded up.
const MANIFEST_LINE: u64 = 40;

/// Bytes free for an unprivileged writer in the file system holding `dir`, where the platform
/// says (`statvfs`); `None` where it cannot tell.
fn free_space(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        let stats = rustix::fs::statvfs(dir).ok()?;
        Some(stats.f_bavail.saturating_mul(stats.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// The manifest at `path`, if it parses and is the manifest of `id`.
fn read_manifest(path: &Path, id: &ContentId) -> Option<Manifest> {
    let bytes = fs::read(path).ok()?;
    Manifest::parse(&bytes).ok().filter(|m| m.id() == *id)
}

/// Whether the `.part` at `path` can belong to `layout`: it holds what was written, so it is
/// at most the content's length (earlier builds sized it ahead to exactly that).
fn part_fits(path: &Path, layout: BlockLayout) -> bool {
    fs::metadata(path).is_ok_and(|m| m.len() <= layout.total_len)
}

/// What a partial download on disk still holds.
struct Kept {
    /// The blocks that verified.
    held: BlockSet,
    /// A manifest of just those blocks.
    manifest: Manifest,
    /// Their bytes.
    bytes: u64,
}

impl Kept {
    fn nothing(id: ContentId, layout: BlockLayout) -> Self {
        Self {
            held: BlockSet::new(layout.block_count()),
            manifest: Manifest::new(id, layout),
            bytes: 0,
        }
    }
}

/// Reads back every block `manifest` records from `part` and keeps those whose checksum
/// matches: the resume rule, in one place for the store and for [`resumable`].
fn kept_blocks(part: &mut File, manifest: &Manifest) -> io::Result<Kept> {
    let layout = manifest.layout();
    let mut kept = Kept::nothing(manifest.id(), layout);
    let mut buffer = vec![0u8; usize::try_from(layout.block_size).unwrap_or(0)];
    for (index, checksum) in manifest.entries() {
        let len = usize::try_from(layout.len_of(index)).map_err(|_| invalid("block"))?;
        let block = buffer.get_mut(..len).ok_or_else(|| invalid("block"))?;
        // A block past the end of the file was never written (a torn batch): not held.
        match read_exact_at(part, block, layout.offset_of(index)) {
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => continue,
            other => other?,
        }
        if block_checksum(block) == checksum {
            kept.held.insert(index);
            kept.manifest.record(index, checksum);
            kept.bytes += len as u64;
        }
    }
    Ok(kept)
}

/// What a download of `id` into the shared folder `folder` would resume with, read as the
/// store resumes it and changing nothing: the layout the partial download on disk was begun
/// with and the bytes of its blocks that still verify. `None` when there is none to resume.
/// For progress displays that must tell bytes held before a download from bytes received.
#[must_use]
pub fn resumable(folder: &Path, id: &ContentId) -> Option<(BlockLayout, u64)> {
    let work = folder.join(super::PARTIAL_DIR);
    let manifest = read_manifest(&work.join(format!("{id}.manifest")), id)?;
    let part_path = work.join(format!("{id}.part"));
    if !part_fits(&part_path, manifest.layout()) {
        return None;
    }
    let kept = kept_blocks(&mut File::open(part_path).ok()?, &manifest).ok()?;
    Some((manifest.layout(), kept.bytes))
}

impl PartialDir {
    pub(super) fn new(work: PathBuf) -> Self {
        Self {
            work,
            open: BTreeMap::new(),
            disk: None,
        }
    }

    /// Writes the downloads begun from now on on `disk` (on threads of their own if `None`).
    pub(super) fn set_disk(&mut self, disk: Option<Disk>) {
        self.disk = disk;
    }

    /// Takes every open download out, to be closed by dropping what is returned.
    pub(super) fn take_open(&mut self) -> OpenPartials {
        OpenPartials(std::mem::take(&mut self.open))
    }

    pub(super) fn part_path(&self, id: &ContentId) -> PathBuf {
        self.work.join(format!("{id}.part"))
    }

    fn manifest_path(&self, id: &ContentId) -> PathBuf {
        self.work.join(format!("{id}.manifest"))
    }

    fn read_manifest(&self, id: &ContentId) -> Option<Manifest> {
        read_manifest(&self.manifest_path(id), id)
    }

    /// The layout of the partial download of `id`, open or left on disk by an earlier run.
    pub(super) fn layout(&self, id: &ContentId) -> Option<BlockLayout> {
        if let Some(open) = self.open.get(id) {
            return Some(open.layout);
        }
        self.read_manifest(id).map(|manifest| manifest.layout())
    }

    /// The shared folder the working folder is in: what messages name.
    fn folder(&self) -> &Path {
        self.work.parent().unwrap_or(&self.work)
    }

    /// A failed write, said plainly when the disk is full (naming the folder).
    fn explain(&self, err: io::Error) -> io::Error {
        if err.kind() == io::ErrorKind::StorageFull {
            io::Error::new(
                io::ErrorKind::StorageFull,
                format!(
                    "no space left in {} (the disk filled up during the download)",
                    self.folder().display()
                ),
            )
        } else {
            err
        }
    }

    /// Refuses to go on when the folder's file system has less room than `needed` bytes.
    fn check_room(&self, needed: u64) -> io::Result<()> {
        match free_space(&self.work) {
            // Not `StorageFull`, which [`Self::explain`] rewords: nothing filled up.
            Some(free) if free < needed => Err(io::Error::other(format!(
                "not enough free space in {}: {needed} bytes needed, {free} free",
                self.folder().display()
            ))),
            _ => Ok(()),
        }
    }

    /// Opens the partial download of `id`, resuming the one on disk when its layout matches:
    /// every block its manifest records is read back and hashed, and kept only if it matches.
    /// Refused, before anything is written, when the folder lacks room for the blocks still
    /// missing.
    pub(super) fn begin(&mut self, id: &ContentId, layout: BlockLayout) -> io::Result<BlockSet> {
        self.begin_inner(id, layout)
            .map_err(|err| self.explain(err))
    }

    fn begin_inner(&mut self, id: &ContentId, layout: BlockLayout) -> io::Result<BlockSet> {
        self.open.remove(id);
        let part_path = self.part_path(id);
        let resumable = self
            .read_manifest(id)
            .filter(|manifest| manifest.layout() == layout)
            .filter(|_| part_fits(&part_path, layout));
        let (part, kept) = if let Some(manifest) = resumable {
            let mut part = OpenOptions::new().read(true).write(true).open(&part_path)?;
            let kept = kept_blocks(&mut part, &manifest)?;
            let (held_bytes, missing) = (kept.bytes, layout.block_count() - kept.held.len());
            self.check_room(
                (layout.total_len - held_bytes).saturating_add(missing * MANIFEST_LINE),
            )?;
            (part, kept)
        } else {
            // Checked before an old partial is replaced: a refused fetch changes nothing.
            let needed = layout
                .total_len
                .saturating_add(layout.block_count().saturating_mul(MANIFEST_LINE));
            self.check_room(needed)?;
            let part = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&part_path)?;
            (part, Kept::nothing(*id, layout))
        };
        let Kept {
            held,
            manifest: kept,
            ..
        } = kept;
        // Rewrite the manifest compacted (only the blocks that passed), through a temporary
        // file and a rename so that a crash leaves either the old or the new one.
        let manifest_path = self.manifest_path(id);
        let temporary = self.work.join(format!("{id}.manifest.new"));
        fs::write(&temporary, kept.encode())?;
        fs::rename(&temporary, &manifest_path)?;
        let manifest = OpenOptions::new().append(true).open(&manifest_path)?;
        let writer = BlockWriter::start(part.try_clone()?, manifest, self.disk.as_ref())?;
        self.open.insert(
            *id,
            PartialFile {
                layout,
                part,
                writer,
            },
        );
        Ok(held)
    }

    fn get(&mut self, id: &ContentId) -> io::Result<&mut PartialFile> {
        self.open
            .get_mut(id)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "download not begun"))
    }

    pub(super) fn is_open(&self, id: &ContentId) -> bool {
        self.open.contains_key(id)
    }

    pub(super) fn write_block(
        &mut self,
        id: &ContentId,
        index: u64,
        bytes: &[u8],
        checksum: u64,
    ) -> io::Result<()> {
        let file = self.get(id)?;
        if index >= file.layout.block_count() || file.layout.len_of(index) != bytes.len() as u64 {
            return Err(invalid("block does not fit the layout"));
        }
        // The writer writes the data first, then its manifest line: a crash between them
        // loses the block, never vouches for bytes that were not written.
        let offset = file.layout.offset_of(index);
        let written =
            file.writer
                .write_block(offset, bytes, &Manifest::entry_line(index, Some(checksum)));
        written.map_err(|err| self.explain(err))
    }

    pub(super) fn read_block(
        &mut self,
        id: &ContentId,
        index: u64,
        buf: &mut [u8],
    ) -> io::Result<usize> {
        let file = self.get(id)?;
        let len = usize::try_from(file.layout.len_of(index)).map_err(|_| invalid("block"))?;
        let target = buf
            .get_mut(..len)
            .ok_or_else(|| invalid("buffer shorter than a block"))?;
        // The block may still be on its way to the file.
        let offset = file.layout.offset_of(index);
        let read = file
            .writer
            .flush()
            .and_then(|()| read_exact_at(&mut file.part, target, offset));
        read.map_err(|err| self.explain(err))?;
        Ok(len)
    }

    pub(super) fn forget_block(&mut self, id: &ContentId, index: u64) -> io::Result<()> {
        let file = self.get(id)?;
        let appended = file.writer.append_line(&Manifest::entry_line(index, None));
        appended.map_err(|err| self.explain(err))
    }

    /// Closes a verified download: flushes its data to disk and removes its manifest. Returns
    /// the `.part` file, ready to be renamed into the shared folder.
    pub(super) fn close_verified(&mut self, id: &ContentId) -> io::Result<PathBuf> {
        let file = self
            .open
            .remove(id)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "download not begun"))?;
        // Every block must be in the file, and the file on disk, before it is renamed.
        file.writer.finish().map_err(|err| self.explain(err))?;
        // Every block was written, so the file ends where the content does; a shorter one
        // would be a bug, never renamed into the folder.
        if file.part.metadata()?.len() != file.layout.total_len {
            return Err(invalid(
                "the partial file does not have the content's length",
            ));
        }
        file.part.sync_all()?;
        drop(file.part);
        remove_if_present(&self.manifest_path(id))?;
        Ok(self.part_path(id))
    }

    pub(super) fn abort(&mut self, id: &ContentId) -> io::Result<()> {
        self.open.remove(id);
        remove_if_present(&self.part_path(id))?;
        remove_if_present(&self.manifest_path(id))
    }
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}
