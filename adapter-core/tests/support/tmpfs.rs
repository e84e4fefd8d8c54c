//! A small tmpfs for disk-full tests, shared by `adapter-core/tests/disk_full.rs` and
//! `cli/tests/fetch_disk_full.rs` (included by path). Mounting needs root; where it is not
//! allowed the test says so and skips.

use std::path::PathBuf;
use std::process::Command;

/// A tmpfs of a given size mounted on a fresh folder, unmounted when dropped.
pub(crate) struct Tmpfs {
    /// The mounted folder.
    pub(crate) dir: PathBuf,
    _parent: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it, e.g. `2m`); `None`, with a
    /// message, where mounting is not allowed.
    pub(crate) fn mount(size: &str) -> Option<Self> {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("small");
        std::fs::create_dir(&dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|status| status.success());
        if !mounted {
            eprintln!("SKIPPED: cannot mount a tmpfs here (not root, or no mount allowed)");
            return None;
        }
        Some(Self {
            dir,
            _parent: parent,
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}
