//! A folder of the demo's own under the system's temporary folder, removed when dropped.

use std::fs;
use std::path::{Path, PathBuf};

/// A folder of the demo's own under the system's temporary folder, removed when dropped.
pub(super) struct Scratch(PathBuf);

impl Scratch {
    /// Names a fresh folder `ejtp-demo-<what>-<random hex>` (created by whoever writes in it).
    pub(super) fn new(what: &str) -> Result<Self, String> {
        let seed =
            ejtp_adapter_core::os_seed().map_err(|err| format!("cannot draw randomness: {err}"))?;
        let unique: String = seed.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Ok(Self(
            std::env::temp_dir().join(format!("ejtp-demo-{what}-{unique}")),
        ))
    }

    /// The folder.
    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
