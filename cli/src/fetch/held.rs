//! What an earlier, interrupted `ejtp fetch` left in `OUT/.ejtp-partial`, read before the
//! fetch starts: the bytes the new run will not ask for again.
//!
//! The node reports progress only once a source has answered, and its first figure then
//! already includes what arrived, so it cannot tell "held before" from "just received". The
//! store says what it would resume with ([`ejtp_adapter_core::store::resumable`], its own resume
//! rule); this keeps it only for a layout the download would resume (its block size, within
//! its length limit).

use std::path::Path;

use ejtp_adapter_core::store::resumable;
use ejtp_proto::content::{ContentId, DownloadConfig};

/// Bytes of a content held on disk, of its total length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Held {
    /// Bytes in blocks that verify.
    pub(super) bytes: u64,
    /// The content's length, as the manifest records it.
    pub(super) total: u64,
}

/// The partial download of `id` in `out`, if there is one the node will resume.
pub(super) fn held_before(out: &Path, id: ContentId) -> Option<Held> {
    let (layout, bytes) = resumable(out, &id)?;
    let config = DownloadConfig::default();
    (layout.block_size == config.block_size && layout.total_len <= config.max_content_len)
        .then_some(Held {
            bytes,
            total: layout.total_len,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ejtp_adapter_core::store::PARTIAL_DIR;
    use ejtp_proto::content::{BlockLayout, Manifest, block_checksum};

    #[test]
    fn only_blocks_that_verify_count() {
        let dir = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let id = ContentId::of(&bytes);
        assert_eq!(held_before(dir.path(), id), None, "nothing there");
        let work = dir.path().join(PARTIAL_DIR);
        std::fs::create_dir_all(&work).unwrap();
        let layout = BlockLayout::new(bytes.len() as u64, 4096).unwrap();
        let mut manifest = Manifest::new(id, layout);
        manifest.record(0, block_checksum(&bytes[..4096]));
        // Block 1 is recorded but its bytes on disk are wrong: the store would drop it.
        manifest.record(1, block_checksum(&bytes[4096..8192]));
        manifest.record(2, block_checksum(&bytes[8192..]));
        let mut part = bytes;
        part[5000] ^= 1;
        std::fs::write(work.join(format!("{id}.part")), &part).unwrap();
        std::fs::write(work.join(format!("{id}.manifest")), manifest.encode()).unwrap();
        assert_eq!(
            held_before(dir.path(), id),
            Some(Held {
                bytes: 4096 + (10_000 - 8192),
                total: 10_000
            })
        );
        // A part file cut short holds only the blocks that fit in it (it grows as blocks
        // are written); a longer one than the content is not resumed at all.
        std::fs::write(work.join(format!("{id}.part")), &part[..9000]).unwrap();
        assert_eq!(
            held_before(dir.path(), id),
            Some(Held {
                bytes: 4096,
                total: 10_000
            })
        );
        let mut longer = part.clone();
        longer.push(0);
        std::fs::write(work.join(format!("{id}.part")), &longer).unwrap();
        assert_eq!(held_before(dir.path(), id), None);
    }
}
