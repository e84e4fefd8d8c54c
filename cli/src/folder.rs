//! Start-up checks of the paths a node will write, so that a folder or file that cannot be
//! written is named when the command starts, not found out (or lost) later.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::Path;

use ejtp_adapter_core::store::PARTIAL_DIR;

use crate::error::{CliError, io_reason};

/// Makes sure downloads can be written into `dir`: it and `dir/.ejtp-partial` exist (created
/// if need be) and a file can be created there. `option` names the flag that chose `dir`.
pub(crate) fn check_download_folder(dir: &Path, option: &str) -> Result<(), CliError> {
    let cannot = |err: &io::Error| {
        CliError::failure(format!(
            "cannot download into {}: {} (choose a folder you can write with {option})",
            dir.display(),
            io_reason(err)
        ))
    };
    let work = dir.join(PARTIAL_DIR);
    fs::create_dir_all(&work).map_err(|err| cannot(&err))?;
    let probe = work.join(format!(".write-check-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|err| cannot(&err))?;
    fs::remove_file(&probe).map_err(|err| cannot(&err))
}

/// Makes sure the recording can be written at `path` when the node stops: the file is opened
/// for writing (created if missing, never truncated), and a file the check created is removed
/// again, so that nothing is left if the node does not start.
pub(crate) fn check_recording(path: &Path) -> Result<(), CliError> {
    let existed = path.exists();
    match OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
    {
        Ok(_) => {
            if !existed {
                let _ = fs::remove_file(path);
            }
            Ok(())
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            let folder = path
                .parent()
                .filter(|parent| !parent.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            Err(CliError::failure(format!(
                "cannot write the recording {}: the folder {} does not exist (create it, or \
                 give --record another path)",
                path.display(),
                folder.display()
            )))
        }
        Err(err) => Err(CliError::failure(format!(
            "cannot write the recording {}: {} (give --record another path)",
            path.display(),
            io_reason(&err)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_check_leaves_nothing_behind_and_keeps_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.json");
        check_recording(&path).unwrap();
        assert!(!path.exists());
        fs::write(&path, "old").unwrap();
        check_recording(&path).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        let err = check_recording(&dir.path().join("missing").join("rec.json")).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }
}
