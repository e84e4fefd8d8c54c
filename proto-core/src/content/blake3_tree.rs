//! BLAKE3 content trees as the public CJP2P node lays them out, so that every 4 KiB block of
//! a download can be checked against the content's BLAKE3 id the moment it arrives.
//!
//! A BLAKE3 id is `blake3::hash` of the whole content. Under it, the content is cut into
//! [`LEAF_LEN`] leaves; a leaf's chaining value is the BLAKE3 subtree value of its bytes at its
//! offset. Parents are built pairwise, left to right, with an odd last entry passed up
//! unchanged to the next level; the last two entries merge into the root. (This is exactly
//! BLAKE3's own left-heavy tree, cut at 4 KiB subtrees, so the root is the content's hash.)
//!
//! The tree is itself content, `blake3_tree_v2/<root>`, in this layout:
//!
//! | bytes | what |
//! |---|---|
//! | 0..4 | the magic `B3T\x02` |
//! | 4..32 | zero |
//! | 32..64 | the root |
//! | 64.. | the levels above the leaves, highest (two entries) first, each with its passed-up entry |
//! | last `32 × leaves` | the leaves' chaining values |
//!
//! The leaf count is not stored: it follows from the file's length ([`Blake3Tree::parse`]).
//! Content of one leaf has no parents; its tree is the header and its one leaf value, and the
//! block is checked against the root itself.
//!
//! ```
//! use ejtp_proto::content::{Blake3Tree, LEAF_LEN};
//!
//! let content = vec![7u8; 3 * LEAF_LEN + 10];
//! let tree = Blake3Tree::build(&content).expect("content is not empty");
//! assert_eq!(tree.root(), *blake3::hash(&content).as_bytes());
//!
//! // What a peer sends as `blake3_tree_v2/<root>` is checked whole against the id...
//! let received = Blake3Tree::parse(tree.as_bytes().to_vec(), &tree.root())?;
//! // ...and then each block on its own, before it is written.
//! let block = &content[LEAF_LEN..2 * LEAF_LEN];
//! assert!(received.verify_block(1, block));
//! let mut altered = block.to_vec();
//! altered[0] ^= 1;
//! assert!(!received.verify_block(1, &altered));
//! # Ok::<(), ejtp_proto::content::TreeError>(())
//! ```

use alloc::vec::Vec;
use core::fmt;

use blake3::Hasher;
use blake3::hazmat::{HasherExt, Mode, merge_subtrees_non_root, merge_subtrees_root};

/// Bytes per leaf: the block size of CJP2P downloads.
pub const LEAF_LEN: usize = 4096;

/// The first four bytes of a tree file.
pub const TREE_MAGIC: [u8; 4] = *b"B3T\x02";

/// The header's length: magic, reserved zeroes, root.
pub const TREE_HEADER_LEN: usize = 64;

/// Bytes of one chaining value (and of the root).
const CV_LEN: usize = 32;

/// Most leaves a tree may have: 2^24 leaves describe 64 GiB of content with a tree of 1 GiB,
/// which is held in memory whole; the bound also keeps every length computation in range on
/// 32-bit targets.
pub const MAX_LEAVES: usize = 1 << 24;

/// Why a tree file was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TreeError {
    /// No leaf count gives a tree of this many bytes.
    BadLength {
        /// The file's length.
        len: usize,
    },
    /// The first four bytes are not [`TREE_MAGIC`].
    BadMagic,
    /// The header names another root than the id the tree was fetched for.
    WrongRoot,
    /// A stored parent is not the merge of its two children (or the top two do not merge
    /// into the root): the tree is corrupt or forged.
    Inconsistent {
        /// The level, counted from the leaves (0) up.
        level: usize,
        /// The entry's index in its level.
        index: usize,
    },
}

impl fmt::Display for TreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadLength { len } => write!(f, "no BLAKE3 tree is {len} bytes long"),
            Self::BadMagic => f.write_str("not a BLAKE3 tree (bad magic)"),
            Self::WrongRoot => f.write_str("the tree is for other content (its root differs)"),
            Self::Inconsistent { level, index } => write!(
                f,
                "the tree is corrupt: entry {index} of level {level} is not its children's merge"
            ),
        }
    }
}

impl core::error::Error for TreeError {}

/// How many leaves content of `len` bytes has (none for empty content, which has no tree).
#[must_use]
pub const fn leaf_count(len: u64) -> u64 {
    len.div_ceil(LEAF_LEN as u64)
}

/// The sizes of the levels above `leaves` leaves, lowest first: each half the one below
/// (rounded up), up to the level of two entries. Empty for one or two leaves.
fn upper_levels(leaves: usize) -> impl Iterator<Item = usize> {
    core::iter::successors(Some(leaves), |&n| (n > 2).then(|| n.div_ceil(2))).skip(1)
}

/// The length of the tree file of `leaves` leaves.
#[must_use]
pub fn tree_len(leaves: usize) -> usize {
    let entries: usize = leaves + upper_levels(leaves).sum::<usize>();
    TREE_HEADER_LEN + entries * CV_LEN
}

/// The chaining value of leaf `index`, whose bytes are `block`. Content of one leaf is checked
/// against its root instead (the leaf is the root's own input).
#[must_use]
pub fn leaf_value(index: u64, block: &[u8]) -> [u8; 32] {
    let mut hasher = Hasher::new();
    hasher.set_input_offset(index.saturating_mul(LEAF_LEN as u64));
    hasher.update(block);
    hasher.finalize_non_root()
}

/// A BLAKE3 tree in the public CJP2P node's layout (see the module documentation): built from
/// content, or parsed and checked whole from the bytes a peer sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Blake3Tree {
    /// The tree file.
    bytes: Vec<u8>,
    /// Its leaf count (at least one).
    leaves: usize,
}

impl fmt::Debug for Blake3Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blake3Tree")
            .field("root", &blake3::Hash::from(self.root()))
            .field("leaves", &self.leaves)
            .finish()
    }
}

impl Blake3Tree {
    /// The tree of `content`, whose root is `blake3::hash(content)`. `None` for empty content,
    /// which has no tree, and past [`MAX_LEAVES`].
    #[must_use]
    pub fn build(content: &[u8]) -> Option<Self> {
        let leaves = content.len().div_ceil(LEAF_LEN);
        if leaves == 0 || leaves > MAX_LEAVES {
            return None;
        }
        let values: Vec<[u8; 32]> = content
            .chunks(LEAF_LEN)
            .zip(0u64..)
            .map(|(block, index)| leaf_value(index, block))
            .collect();
        // One leaf is never merged (the layout still stores its value): the root is the hash.
        let (root, levels) = if leaves == 1 {
            (*blake3::hash(content).as_bytes(), Vec::new())
        } else {
            build_levels(&values)
        };
        let mut bytes = header(&root);
        for level in levels.iter().rev() {
            bytes.extend(level.iter().flatten());
        }
        bytes.extend(values.iter().flatten());
        Some(Self { bytes, leaves })
    }

    /// Checks the tree file `bytes`, fetched for the id `root`: its length is that of a
    /// tree, its magic and root are right, and every parent is the merge of its children up to
    /// the root. Then each leaf value can be trusted to check its block.
    ///
    /// # Errors
    /// [`TreeError`], saying what is wrong; the tree's source sent something false.
    pub fn parse(bytes: Vec<u8>, root: &[u8; 32]) -> Result<Self, TreeError> {
        let leaves =
            leaves_for_len(bytes.len()).ok_or(TreeError::BadLength { len: bytes.len() })?;
        if bytes.get(..4) != Some(&TREE_MAGIC[..]) {
            return Err(TreeError::BadMagic);
        }
        if bytes.get(32..64) != Some(&root[..]) {
            return Err(TreeError::WrongRoot);
        }
        let tree = Self { bytes, leaves };
        tree.check_parents(root)?;
        Ok(tree)
    }

    /// The root: the content's BLAKE3 hash, its id.
    #[must_use]
    pub fn root(&self) -> [u8; 32] {
        cv_at(&self.bytes, 32).unwrap_or_default()
    }

    /// How many leaves (4 KiB blocks) the content has.
    #[must_use]
    pub const fn leaves(&self) -> usize {
        self.leaves
    }

    /// The tree file's bytes, as served under `blake3_tree_v2/<root>`.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The stored chaining value of leaf `index`.
    #[must_use]
    pub fn leaf(&self, index: usize) -> Option<[u8; 32]> {
        if index >= self.leaves {
            return None;
        }
        let start = self.bytes.len() - (self.leaves - index) * CV_LEN;
        cv_at(&self.bytes, start)
    }

    /// Whether `block` is leaf `index` of the content: the block a peer sent, checked before it
    /// is written. A block of the wrong length fails too (its value differs).
    #[must_use]
    pub fn verify_block(&self, index: usize, block: &[u8]) -> bool {
        if block.is_empty() || block.len() > LEAF_LEN {
            return false;
        }
        if self.leaves == 1 {
            return index == 0 && blake3::hash(block).as_bytes() == &self.root();
        }
        self.leaf(index)
            .is_some_and(|stored| stored == leaf_value(index as u64, block))
    }

    /// Every stored parent against its children, and the top two against the root.
    fn check_parents(&self, root: &[u8; 32]) -> Result<(), TreeError> {
        if self.leaves == 1 {
            // Nothing to merge: the block itself is checked against the root.
            return Ok(());
        }
        // Offsets of each level, lowest (the leaves) first.
        let mut sizes = alloc::vec![self.leaves];
        sizes.extend(upper_levels(self.leaves));
        let mut offsets = Vec::with_capacity(sizes.len());
        let mut from_end = 0;
        for size in &sizes {
            from_end += size * CV_LEN;
            offsets.push(self.bytes.len() - from_end);
        }
        let entry = |level: usize, index: usize| -> Option<[u8; 32]> {
            cv_at(&self.bytes, offsets.get(level)? + index * CV_LEN)
        };
        for level in 1..sizes.len() {
            let below = sizes.get(level - 1).copied().unwrap_or_default();
            let size = sizes.get(level).copied().unwrap_or_default();
            for index in 0..size {
                let (left, right) = (2 * index, 2 * index + 1);
                let expected = if right < below {
                    entry(level - 1, left)
                        .zip(entry(level - 1, right))
                        .map(|(left, right)| merge_subtrees_non_root(&left, &right, Mode::Hash))
                } else {
                    // The odd last entry, passed up unchanged.
                    entry(level - 1, left)
                };
                if expected.is_none() || entry(level, index) != expected {
                    return Err(TreeError::Inconsistent { level, index });
                }
            }
        }
        let top = sizes.len() - 1;
        match (entry(top, 0), entry(top, 1)) {
            (Some(left), Some(right))
                if merge_subtrees_root(&left, &right, Mode::Hash).as_bytes() == root =>
            {
                Ok(())
            }
            _ => Err(TreeError::Inconsistent {
                level: top + 1,
                index: 0,
            }),
        }
    }
}

/// The header of a tree with `root`.
fn header(root: &[u8; 32]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(TREE_HEADER_LEN);
    bytes.extend_from_slice(&TREE_MAGIC);
    bytes.extend_from_slice(&[0; 28]);
    bytes.extend_from_slice(root);
    bytes
}

/// The root over `leaves` (two or more) and the levels between, lowest first.
fn build_levels(leaves: &[[u8; 32]]) -> ([u8; 32], Vec<Vec<[u8; 32]>>) {
    let mut levels: Vec<Vec<[u8; 32]>> = Vec::new();
    let mut below = leaves;
    while below.len() > 2 {
        let next = below
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => merge_subtrees_non_root(left, right, Mode::Hash),
                // The odd last entry, passed up unchanged.
                [last, ..] => *last,
                [] => [0; 32],
            })
            .collect();
        levels.push(next);
        below = levels.last().map_or(&[][..], Vec::as_slice);
    }
    let root = match below {
        [left, right] => *merge_subtrees_root(left, right, Mode::Hash).as_bytes(),
        _ => [0; 32],
    };
    (root, levels)
}

/// The 32 bytes at `start`, if there are.
fn cv_at(bytes: &[u8], start: usize) -> Option<[u8; 32]> {
    bytes
        .get(start..start.checked_add(CV_LEN)?)?
        .try_into()
        .ok()
}

/// The leaf count whose tree is `len` bytes long, if one is.
fn leaves_for_len(len: usize) -> Option<usize> {
    let entries_len = len.checked_sub(TREE_HEADER_LEN)?;
    if entries_len == 0 || entries_len % CV_LEN != 0 {
        return None;
    }
    let entries = entries_len / CV_LEN;
    // The tree's length grows strictly with its leaves: bisect for the count.
    let (mut low, mut high) = (1, entries.min(MAX_LEAVES));
    while low < high {
        let mid = low + (high - low) / 2;
        if tree_len(mid) < len {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    let leaves = low.max(1);
    (tree_len(leaves) == len).then_some(leaves)
}

#[cfg(test)]
mod tests;
