//! Reading a shared folder: which files it shares, and hashing one of them.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use ejtp_proto::content::{ContentHasher, ContentId};

/// The files a scan shares: every regular file directly in `dir` whose name does not start
/// with `.` (the working folder among those left out), in name order.
///
/// # Errors
/// When the folder cannot be read.
pub(crate) fn folder_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && entry.file_type()?.is_file() {
            paths.push(entry.path());
        }
    }
    paths.sort();
    Ok(paths)
}

/// Hashes the file at `path`: its id and length. Gives up with
/// [`io::ErrorKind::Interrupted`] once `stop` is raised (looked at between reads of 64 KiB),
/// so that a node stopping does not wait for a large file; calls `between` between reads (the
/// disk thread writes the downloads' blocks there, so that a long hash does not hold them up).
///
/// # Errors
/// When the file cannot be read, or `stop` was raised.
pub(crate) fn hash_file(
    path: &Path,
    stop: &AtomicBool,
    between: &mut dyn FnMut(),
) -> io::Result<(ContentId, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = ContentHasher::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut len = 0u64;
    loop {
        between();
        if stop.load(Ordering::Relaxed) {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "hashing stopped",
            ));
        }
        let read = match file.read(&mut buffer) {
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        let Some(chunk) = buffer.get(..read).filter(|chunk| !chunk.is_empty()) else {
            break;
        };
        hasher.update(chunk);
        len += read as u64;
    }
    Ok((hasher.finish(), len))
}
