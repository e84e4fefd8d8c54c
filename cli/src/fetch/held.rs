//! What an earlier, interrupted `ejtp fetch` left in `OUT/.ejtp-partial`, read before the
//! fetch starts: the bytes the new run will not ask for again.
//!
//! The node reports progress only once a source has answered, and its first figure then
//! already includes what arrived, so it cannot tell "held before" from "just received". This
//! reads the partial download the way the store resumes it (`adapter-core`'s
//! `store/partial.rs`): `<id>.manifest` for the layout and the recorded blocks, `<id>.part`
//! no longer than the content (it holds only what was written, so a block past its end was
//! never written), and each recorded block kept only if its checksum matches.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use adapter_core::store::PARTIAL_DIR;
use proto_core::content::{ContentId, DownloadConfig, Manifest, block_checksum};

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
    let work = out.join(PARTIAL_DIR);
    let manifest = Manifest::parse(&std::fs::read(work.join(format!("{id}.manifest"))).ok()?)
        .ok()
        .filter(|manifest| manifest.id() == id)?;
    let layout = manifest.layout();
    let config = DownloadConfig::default();
    if layout.block_size != config.block_size || layout.total_len > config.max_content_len {
        return None;
    }
    let mut part = File::open(work.join(format!("{id}.part"))).ok()?;
    if part.metadata().ok()?.len() > layout.total_len {
        return None;
    }
    let mut block = vec![0u8; usize::try_from(layout.block_size).ok()?];
    let mut bytes = 0;
    for (index, checksum) in manifest.entries() {
        let len = layout.len_of(index);
        let buffer = block.get_mut(..usize::try_from(len).ok()?)?;
        part.seek(SeekFrom::Start(layout.offset_of(index))).ok()?;
        if part.read_exact(buffer).is_ok() && block_checksum(buffer) == checksum {
            bytes += len;
        }
    }
    Some(Held {
        bytes,
        total: layout.total_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_core::content::BlockLayout;

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
