//! The admitting peer's bans on disk: a JSON array of bans, so that they survive a restart.
//!
//! The core keeps bans in memory only; this file is the adapter side of "bans are stored by
//! the adapter". It is rewritten whole, through a temporary file and a rename, so a crash
//! never leaves half a file.

use std::path::{Path, PathBuf};

use ejtp_proto::group::Ban;

use crate::error::{CliError, io_reason};

/// The default bans file: beside the identity file, `<identity>.bans.json`.
pub(crate) fn default_path(identity: &Path) -> PathBuf {
    let mut name = identity.file_name().unwrap_or_default().to_os_string();
    name.push(".bans.json");
    identity.with_file_name(name)
}

/// The stored bans; none if the file does not exist yet.
pub(crate) fn load(path: &Path) -> Result<Vec<Ban>, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => {
            return Err(CliError::failure(format!(
                "cannot read the bans file {}: {}",
                path.display(),
                io_reason(&err)
            )));
        }
    };
    serde_json::from_str(&text).map_err(|err| {
        CliError::failure(format!(
            "the bans file {} is not a JSON list of bans: {err}",
            path.display()
        ))
    })
}

/// Writes `bans` to `path`, replacing it atomically.
pub(crate) fn store(path: &Path, bans: &[Ban]) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(bans)
        .map_err(|err| CliError::failure(format!("cannot encode the bans: {err}")))?;
    let mut temporary = path.as_os_str().to_os_string();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text + "\n")
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|err| {
            CliError::failure(format!(
                "cannot write the bans file {}: {}",
                path.display(),
                io_reason(&err)
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ejtp_proto::group::BanTarget;
    use ejtp_proto::{Identity, UnixMillis};

    #[test]
    fn bans_written_are_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alice.json.bans.json");
        assert!(load(&path).unwrap().is_empty());
        let bans = vec![Ban {
            target: BanTarget::Peer(Identity::from_secret_bytes(&[1; 32]).node_id()),
            until: UnixMillis(42),
        }];
        store(&path, &bans).unwrap();
        assert_eq!(load(&path).unwrap(), bans);
    }

    #[test]
    fn the_default_path_sits_beside_the_identity() {
        assert_eq!(
            default_path(Path::new("/x/alice.json")),
            PathBuf::from("/x/alice.json.bans.json")
        );
    }
}
