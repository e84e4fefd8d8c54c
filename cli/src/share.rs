//! `ejtp share`: copy files into a shared folder and print their content ids.

use std::fs;
use std::path::{Path, PathBuf};

use ejtp_adapter_core::store::DirectoryStore;

use crate::args::ShareArgs;
use crate::console;
use crate::error::{CliError, io_reason};

/// Copies each file into the folder (unless it is already there), hashes it, and prints
/// `<id> <path in the folder>`. `ejtp run --share DIR` then serves them.
pub(crate) fn share(args: &ShareArgs) -> Result<(), CliError> {
    let mut store = DirectoryStore::open(&args.dir).map_err(|err| {
        CliError::failure(format!(
            "cannot open the shared folder {}: {}",
            args.dir.display(),
            io_reason(&err)
        ))
    })?;
    for path in &args.paths {
        let placed = place(path, &args.dir)?;
        let id = store.share(&placed).map_err(|err| {
            CliError::failure(format!(
                "cannot read {}: {}",
                placed.display(),
                io_reason(&err)
            ))
        })?;
        console::line(format_args!("{id} {}", placed.display()))?;
    }
    Ok(())
}

/// Where `path` is in `dir`: itself if it is already there, else a copy (never overwriting a
/// different file of the same name).
fn place(path: &Path, dir: &Path) -> Result<PathBuf, CliError> {
    let reason = |err: &std::io::Error| {
        CliError::failure(format!(
            "cannot share {}: {}",
            path.display(),
            io_reason(err)
        ))
    };
    let metadata = fs::metadata(path).map_err(|err| reason(&err))?;
    if !metadata.is_file() {
        return Err(CliError::failure(format!(
            "cannot share {}: not a regular file",
            path.display()
        )));
    }
    let name = path.file_name().ok_or_else(|| {
        CliError::failure(format!("cannot share {}: no file name", path.display()))
    })?;
    let destination = dir.join(name);
    let canonical = |p: &Path| fs::canonicalize(p).ok();
    if canonical(path.parent().unwrap_or(Path::new("."))).is_some()
        && canonical(path) == canonical(&destination)
    {
        return Ok(destination);
    }
    if destination.exists() {
        let same = fs::read(&destination).ok() == fs::read(path).ok();
        if !same {
            return Err(CliError::failure(format!(
                "cannot share {}: {} already exists with other content",
                path.display(),
                destination.display()
            )));
        }
        return Ok(destination);
    }
    fs::copy(path, &destination).map_err(|err| reason(&err))?;
    Ok(destination)
}
