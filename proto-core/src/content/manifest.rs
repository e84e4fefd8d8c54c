//! The per-block checksum manifest kept beside a partial download.
//!
//! # What it proves, and what it does not
//!
//! A content id is the SHA-256 of the *whole* content: that is the only trust root. Without a
//! trusted list of block hashes, a single block cannot be checked against the id, so a source
//! that sends wrong bytes of the right length is caught only when the whole file is hashed (the
//! download then finds and drops the culprit, see [`Download`](super::Download)).
//!
//! The manifest records a checksum of each block *as it was received and written*
//! ([`block_checksum`](super::block_checksum), XXH64). It protects the partial file, not the
//! network: after a restart, each block on disk is checked again and kept only if it still
//! matches (a torn write, a disk error or a hand-edited file is re-fetched instead of poisoning
//! the result). Whatever is kept is hashed again with SHA-256, with the rest of the content,
//! before the content is accepted, so the checksum never has to stand against an adversary;
//! that is why it is not a cryptographic hash, which would cost a second SHA-256 pass over
//! every byte downloaded.
//!
//! # Format
//!
//! UTF-8 text, one record per line, append-only so that a block costs one small write:
//!
//! ```text
//! ejtp-manifest 2 <content id, 64 hex> <total length> <block size>
//! <block index> <XXH64 of the block, 16 hex>
//! <block index> -
//! ```
//!
//! Numbers are decimal without sign or leading zeros, hex is lowercase. Version 1 manifests
//! (SHA-256 per block, from earlier builds) are not read: such a partial download starts over. A later line about a block replaces an
//! earlier one; `-` forgets the block (it was found wrong). A last line without its newline was
//! torn by a crash and is ignored.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use core::fmt;

use super::{BlockLayout, ContentId};

/// The first word of a manifest and its version.
const MAGIC: &str = "ejtp-manifest 2";

/// Why bytes are not a manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManifestError {
    /// The first line is missing or not a version 2 header.
    BadHeader,
    /// A complete line after the header is malformed or names a block past the end.
    BadEntry,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadHeader => f.write_str("manifest header is missing or malformed"),
            Self::BadEntry => f.write_str("manifest entry is malformed"),
        }
    }
}

impl core::error::Error for ManifestError {}

/// The block checksums of one partial download.
///
/// Sparse: memory is about 40 bytes per recorded block, whatever the content's length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    id: ContentId,
    layout: BlockLayout,
    checksums: BTreeMap<u64, u64>,
}

fn parse_number(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

/// Exactly 16 lowercase hex digits.
fn parse_checksum(text: &str) -> Option<u64> {
    let canonical = text.len() == 16
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if canonical {
        u64::from_str_radix(text, 16).ok()
    } else {
        None
    }
}

impl Manifest {
    /// An empty manifest for `id` cut as `layout`.
    #[must_use]
    pub fn new(id: ContentId, layout: BlockLayout) -> Self {
        Self {
            id,
            layout,
            checksums: BTreeMap::new(),
        }
    }

    /// The content this manifest belongs to.
    #[must_use]
    pub fn id(&self) -> ContentId {
        self.id
    }

    /// How the content is cut.
    #[must_use]
    pub fn layout(&self) -> BlockLayout {
        self.layout
    }

    /// The recorded checksum of block `index`.
    #[must_use]
    pub fn checksum_of(&self, index: u64) -> Option<u64> {
        self.checksums.get(&index).copied()
    }

    /// Every recorded block with its checksum, in block order.
    pub fn entries(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.checksums
            .iter()
            .map(|(index, checksum)| (*index, *checksum))
    }

    /// How many blocks are recorded.
    #[must_use]
    pub fn len(&self) -> usize {
        self.checksums.len()
    }

    /// Whether no block is recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.checksums.is_empty()
    }

    /// Records block `index` with `checksum`; ignored past the last block.
    pub fn record(&mut self, index: u64, checksum: u64) {
        if index < self.layout.block_count() {
            self.checksums.insert(index, checksum);
        }
    }

    /// Forgets block `index`.
    pub fn forget(&mut self, index: u64) {
        self.checksums.remove(&index);
    }

    /// The header line, newline included.
    #[must_use]
    pub fn header_line(&self) -> String {
        format!(
            "{MAGIC} {} {} {}\n",
            self.id, self.layout.total_len, self.layout.block_size
        )
    }

    /// The line that records `checksum` for block `index` (`None`: forget it), newline
    /// included.
    #[must_use]
    pub fn entry_line(index: u64, checksum: Option<u64>) -> String {
        match checksum {
            Some(checksum) => format!("{index} {checksum:016x}\n"),
            None => format!("{index} -\n"),
        }
    }

    /// The whole manifest, compacted: the header and one line per recorded block.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut text = self.header_line();
        for (index, checksum) in self.entries() {
            text.push_str(&Self::entry_line(index, Some(checksum)));
        }
        text
    }

    /// Reads a manifest, replaying its lines in order.
    ///
    /// # Errors
    /// [`ManifestError::BadHeader`] when the header is missing or malformed,
    /// [`ManifestError::BadEntry`] when a complete line is malformed or names a block past the
    /// end. A torn last line (no newline) is not an error: it is ignored.
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        // Only complete lines count: drop whatever follows the last newline.
        let complete = match bytes.iter().rposition(|&b| b == b'\n') {
            Some(end) => bytes.get(..end).unwrap_or_default(),
            None => return Err(ManifestError::BadHeader),
        };
        let text = core::str::from_utf8(complete).map_err(|_| ManifestError::BadHeader)?;
        let mut lines = text.split('\n');
        let header = lines.next().ok_or(ManifestError::BadHeader)?;
        let mut manifest = Self::parse_header(header).ok_or(ManifestError::BadHeader)?;
        for line in lines {
            let (index, checksum) = line.split_once(' ').ok_or(ManifestError::BadEntry)?;
            let index = parse_number(index).ok_or(ManifestError::BadEntry)?;
            if index >= manifest.layout.block_count() {
                return Err(ManifestError::BadEntry);
            }
            if checksum == "-" {
                manifest.forget(index);
            } else {
                manifest.record(
                    index,
                    parse_checksum(checksum).ok_or(ManifestError::BadEntry)?,
                );
            }
        }
        Ok(manifest)
    }

    fn parse_header(line: &str) -> Option<Self> {
        let rest = line.strip_prefix(MAGIC)?.strip_prefix(' ')?;
        let mut fields = rest.split(' ');
        let id_text = fields.next()?;
        if id_text.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let id: ContentId = id_text.parse().ok()?;
        let total_len = parse_number(fields.next()?)?;
        let block_size = u32::try_from(parse_number(fields.next()?)?).ok()?;
        if fields.next().is_some() {
            return None;
        }
        Some(Self::new(id, BlockLayout::new(total_len, block_size)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn sample() -> Manifest {
        let layout = BlockLayout::new(10_000, 4096).unwrap();
        let mut manifest = Manifest::new(ContentId::of(b"x"), layout);
        manifest.record(0, 1);
        manifest.record(2, u64::MAX);
        manifest
    }

    #[test]
    fn encoding_round_trips() {
        let manifest = sample();
        let text = manifest.encode();
        assert!(text.starts_with("ejtp-manifest 2 "));
        assert!(text.ends_with("\n0 0000000000000001\n2 ffffffffffffffff\n"));
        assert_eq!(Manifest::parse(text.as_bytes()), Ok(manifest));
    }

    #[test]
    fn later_lines_replace_earlier_ones_and_dash_forgets() {
        let mut text = sample().encode();
        text.push_str(&Manifest::entry_line(0, None));
        text.push_str(&Manifest::entry_line(2, Some(9)));
        let parsed = Manifest::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.checksum_of(0), None);
        assert_eq!(parsed.checksum_of(2), Some(9));
        assert_eq!(parsed.len(), 1);
    }

    #[test]
    fn a_torn_last_line_is_ignored() {
        let mut text = sample().encode();
        text.push_str("1 0101");
        assert_eq!(Manifest::parse(text.as_bytes()), Ok(sample()));
    }

    #[test]
    fn malformed_lines_and_blocks_past_the_end_are_refused() {
        let header = sample().header_line();
        let bad_lines = [
            "3 -\n",
            "01 -\n",
            "x -\n",
            "1 abc\n",
            "1 000000000000000A\n",
            "1 00000000000000001\n",
            "1 +00000000000000a\n",
            "1\n",
            "\n",
        ];
        for bad in bad_lines {
            let text = [header.as_str(), bad].concat();
            assert_eq!(
                Manifest::parse(text.as_bytes()),
                Err(ManifestError::BadEntry),
                "{bad:?}"
            );
        }
        let version_1 = [
            "ejtp-manifest 1 ",
            &"0".repeat(64),
            " 4096 4096\n0 ",
            &"0".repeat(64),
            "\n",
        ]
        .concat();
        for bad in ["", "ejtp-manifest 2 x 1 1\n", "nonsense\n", &version_1] {
            assert_eq!(
                Manifest::parse(bad.as_bytes()),
                Err(ManifestError::BadHeader)
            );
        }
        let zero_block = header.replace(" 4096\n", " 0\n");
        assert_eq!(
            Manifest::parse(zero_block.as_bytes()),
            Err(ManifestError::BadHeader)
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let inputs: Vec<&[u8]> = alloc::vec![b"\n\n\n", b"\xff\n", b"ejtp-manifest 2 \n"];
        for input in inputs {
            let _ = Manifest::parse(input);
        }
    }
}
