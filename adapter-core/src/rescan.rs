//! Keeping a running node's shared folder current: a rescan compares the folder with what is
//! served, hashes the new and changed files, and withdraws the ids of files changed or gone.
//!
//! A rescan runs on the node's disk thread ([`DiskThread`](crate::disk::DiskThread)), every
//! [`NodeOptions::share_rescan`](crate::NodeOptions::share_rescan): it only stats the files
//! that did not change, and hashes outside the folder's lock, so the node's driver never waits
//! for a large file to be hashed. A file is served under a new id only if it had the same
//! stamp before and after it was hashed (a file still being written waits for a later rescan);
//! the serving side checks the stamp again before every read
//! ([`Files::check_before_read`](crate::shared_files::Files::check_before_read)).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ejtp_proto::content::ContentId;

use crate::SharedDirectory;
use crate::folder::{folder_files, hash_file};
use crate::shared_files::{Commit, MAX_SHARED_FILES, Stamp};

/// The shortest time between two rescans, whatever the options say, so that a zero interval
/// cannot make the thread spin.
pub(crate) const MIN_RESCAN_INTERVAL: Duration = Duration::from_millis(50);

/// What a rescan found to hash.
enum Why {
    New,
    Changed,
}

/// Brings what `shared` serves in line with its folder: new and changed files are hashed and
/// served (the changed ones no longer under their old id), files gone are withdrawn. Each
/// change is logged, at info level while the node runs (`initial`: at debug level, the node
/// starting). Returns early once `stop` is raised.
///
/// `between` is called between reads of a file being hashed and while waiting for the
/// folder's lock: the node's disk thread writes the downloads' blocks there, so that neither a
/// long hash nor a node holding the lock (waiting for those very writes) holds them up.
pub(crate) fn rescan(
    shared: &SharedDirectory,
    stop: &AtomicBool,
    initial: bool,
    between: &mut dyn FnMut(),
) {
    let dir = shared.with_files_serving(between, |files| files.store.dir().to_path_buf());
    let listed = match folder_files(&dir) {
        Ok(listed) => listed,
        Err(err) => {
            tracing::warn!(dir = %dir.display(), %err, "cannot read the shared folder");
            return;
        }
    };
    let (tracked, served) = shared.with_files_serving(between, |files| {
        let served: BTreeMap<PathBuf, ContentId> = (files.store.shared_files().into_iter())
            .map(|(id, path, _)| (path, id))
            .collect();
        (files.tracked(), served)
    });
    let known: BTreeMap<PathBuf, _> = tracked.iter().cloned().collect();
    let mut to_hash = Vec::new();
    for path in &listed {
        let Ok(stamp) = Stamp::of(path) else { continue };
        match known.get(path) {
            Some(tracked) if tracked.stamp == stamp => {}
            Some(_) => to_hash.push((path.clone(), Why::Changed)),
            None => {
                // A finished download is served already, from where it was renamed to: its
                // stamp is recorded. If it changed since, its id is withdrawn and the file is
                // hashed as a new one.
                let adopted = served.get(path).is_some_and(|id| {
                    shared.with_files_serving(between, |files| {
                        let adopted = files.adopt(path, *id, stamp);
                        // (Unless shared meanwhile, by `SharedDirectory::share`.)
                        if !adopted && !files.knows(path) {
                            files.store.unshare(id, path);
                        }
                        adopted
                    })
                });
                if !adopted {
                    to_hash.push((path.clone(), Why::New));
                }
            }
        }
    }
    let listed: BTreeSet<&PathBuf> = listed.iter().collect();
    for (path, tracked) in &tracked {
        let in_folder = path.parent() == Some(dir.as_path());
        let gone = if in_folder {
            !listed.contains(path)
        } else {
            // Shared from elsewhere: followed as long as it is there.
            match Stamp::of(path) {
                Ok(stamp) if stamp == tracked.stamp => false,
                Ok(_) => {
                    to_hash.push((path.clone(), Why::Changed));
                    false
                }
                Err(_) => true,
            }
        };
        if gone
            && shared
                .with_files_serving(between, |files| files.withdraw(path))
                .is_some()
        {
            tracing::info!(
                path = %path.display(),
                id = %tracked.id,
                "shared file removed: no longer served"
            );
        }
    }
    for (path, why) in to_hash {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        hash_and_serve(shared, &path, &why, (stop, initial), between);
    }
}

/// Hashes the file at `path` and serves it, if it did not change meanwhile.
fn hash_and_serve(
    shared: &SharedDirectory,
    path: &Path,
    why: &Why,
    (stop, initial): (&AtomicBool, bool),
    between: &mut dyn FnMut(),
) {
    let hashed = Stamp::of(path).and_then(|before| {
        let (id, len) = hash_file(path, stop, between)?;
        Ok((before, id, len, Stamp::of(path)?))
    });
    let (before, id, len, after) = match hashed {
        Ok(hashed) => hashed,
        Err(err) if err.kind() == io::ErrorKind::Interrupted => return,
        Err(err) => {
            tracing::warn!(path = %path.display(), %err, "cannot hash a shared file");
            return;
        }
    };
    if before != after || len != before.len {
        tracing::debug!(path = %path.display(), "file changed while hashed: next rescan");
        return;
    }
    let path_text = path.display();
    match shared.with_files_serving(between, |files| files.commit(path, id, before)) {
        Commit::New if initial => tracing::debug!(path = %path_text, %id, "file shared"),
        Commit::New => tracing::info!(path = %path_text, %id, "new file shared"),
        Commit::Changed { old } => tracing::info!(
            path = %path_text,
            %id,
            %old,
            "shared file changed: re-hashed, served under its new id, no longer under the old"
        ),
        Commit::Same if matches!(why, Why::Changed) => {
            tracing::debug!(path = %path_text, %id, "file touched, content unchanged");
        }
        Commit::Same => {}
        Commit::Full => tracing::warn!(
            path = %path_text,
            "not shared: the folder already serves {MAX_SHARED_FILES} files"
        ),
    }
}
