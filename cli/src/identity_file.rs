//! Reading and writing identity files: the secret key, kept owner-only.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ejtp_proto::IdentityFile;

use crate::error::{CliError, io_reason};

/// The callsign a node hosts, and a message is sent to, when none is named.
pub(crate) const DEFAULT_CALLSIGN: &str = "ejtp";

/// Reads and checks an identity file.
pub(crate) fn load(path: &Path) -> Result<IdentityFile, CliError> {
    let bytes = fs::read(path).map_err(|err| {
        CliError::failure(format!(
            "cannot read identity file {}: {}",
            path.display(),
            io_reason(&err)
        ))
    })?;
    let file = IdentityFile::from_json_bytes(&bytes).map_err(|err| {
        CliError::failure(format!("{} is not an identity file: {err}", path.display()))
    })?;
    warn_if_shared(path);
    Ok(file)
}

/// The callsign of the client an identity file describes (its location's callsign).
pub(crate) fn callsign(file: &IdentityFile) -> &str {
    file.location.callsign().unwrap_or(DEFAULT_CALLSIGN)
}

/// Writes `file` at `path`, readable and writable by its owner only (0600 on unix; the file
/// is created with that mode, never widened first). Refuses to replace an existing file unless
/// `force`; when replacing, the new file is written beside it and renamed over it, so the old
/// file's permissions are not inherited.
pub(crate) fn create(path: &Path, file: &IdentityFile, force: bool) -> Result<(), CliError> {
    let mut text = file.to_strict_json();
    text.push('\n');
    let written = if force {
        replace(path, text.as_bytes())
    } else {
        write_new(path, text.as_bytes())
    };
    written.map_err(|err| match err.kind() {
        io::ErrorKind::AlreadyExists => CliError::failure(format!(
            "{} already exists (use --force to replace it)",
            path.display()
        )),
        _ => CliError::failure(format!(
            "cannot write identity file {}: {}",
            path.display(),
            io_reason(&err)
        )),
    })
}

/// Creates `path` (which must not exist) and writes `bytes`; removes it again if writing fails.
fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = open_owner_only(path)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if written.is_err() {
        let _ = fs::remove_file(path);
    }
    written
}

/// Writes `bytes` to a new owner-only file beside `path`, then renames it over `path`.
fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temporary = beside(path);
    write_new(&temporary, bytes)?;
    fs::rename(&temporary, path).inspect_err(|_| {
        let _ = fs::remove_file(&temporary);
    })
}

/// A temporary name in the same directory as `path`, so a rename cannot cross file systems.
fn beside(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.partial", std::process::id()));
    path.with_file_name(name)
}

#[cfg(unix)]
fn open_owner_only(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_owner_only(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// Warns when others may read the secret key.
#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = fs::metadata(path) {
        let mode = metadata.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                "identity file {} can be read by others (mode {:o}); `chmod 600` it",
                path.display(),
                mode & 0o777
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;
    use ejtp_proto::{Address, Identity};

    fn sample() -> IdentityFile {
        IdentityFile {
            name: "test".to_string(),
            location: Address::local("alice"),
            identity: Identity::from_secret_bytes(&[3; 32]),
        }
    }

    #[test]
    fn a_written_file_loads_back_and_names_its_callsign() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id.json");
        create(&path, &sample(), false).unwrap();
        let loaded = load(&path).unwrap();
        assert_eq!(loaded, sample());
        assert_eq!(callsign(&loaded), "alice");
    }

    #[test]
    fn an_existing_file_is_kept_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id.json");
        fs::write(&path, "keep me").unwrap();
        let err = create(&path, &sample(), false).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "keep me");
        create(&path, &sample(), true).unwrap();
        assert_eq!(load(&path).unwrap(), sample());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no leftovers");
    }

    #[cfg(unix)]
    #[test]
    fn a_forced_replacement_is_owner_only_too() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id.json");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        create(&path, &sample(), true).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn unreadable_and_malformed_files_say_which_and_why() {
        let dir = tempfile::tempdir().unwrap();
        let missing = load(&dir.path().join("missing.json")).unwrap_err();
        assert!(missing.to_string().contains("cannot read identity file"));
        let path = dir.path().join("bad.json");
        fs::write(&path, "{}").unwrap();
        let bad = load(&path).unwrap_err();
        assert!(bad.to_string().contains("is not an identity file"), "{bad}");
    }
}
