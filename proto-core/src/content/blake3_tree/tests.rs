//! The tree against `blake3::hash` for many lengths, round trips, block checks, and hostile
//! tree files.

use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;

use super::*;

/// Content of `len` bytes that differs from block to block.
fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 4096) as u8).collect()
}

#[test]
fn the_root_is_the_content_hash_at_every_boundary() {
    for len in [
        1,
        1023,
        1024,
        1025,
        4095,
        4096,
        4097,
        8192,
        8193,
        3 * 4096,
        3 * 4096 + 1,
        5 * 4096,
        7 * 4096 + 5,
        16 * 4096,
        17 * 4096 - 1,
        100_000,
    ] {
        let content = content(len);
        let tree = Blake3Tree::build(&content).unwrap();
        assert_eq!(tree.root(), *blake3::hash(&content).as_bytes(), "len {len}");
        assert_eq!(tree.leaves(), len.div_ceil(LEAF_LEN));
        assert_eq!(tree.as_bytes().len(), tree_len(tree.leaves()), "len {len}");
        assert_eq!(leaf_count(len as u64), tree.leaves() as u64);
    }
    assert!(
        Blake3Tree::build(&[]).is_none(),
        "empty content has no tree"
    );
}

#[test]
fn the_layout_is_the_public_nodes() {
    // Five leaves: levels of 3 and 2 entries above them, highest first, then the leaves.
    let content = content(5 * LEAF_LEN);
    let tree = Blake3Tree::build(&content).unwrap();
    let bytes = tree.as_bytes();
    assert_eq!(bytes.len(), 64 + (2 + 3 + 5) * 32);
    assert_eq!(&bytes[..4], b"B3T\x02");
    assert_eq!(&bytes[4..32], &[0; 28]);
    assert_eq!(&bytes[32..64], blake3::hash(&content).as_bytes());
    let leaf = |i: usize| leaf_value(i as u64, &content[i * LEAF_LEN..(i + 1) * LEAF_LEN]);
    let merge = |l: [u8; 32], r: [u8; 32]| merge_subtrees_non_root(&l, &r, Mode::Hash);
    let level1 = [merge(leaf(0), leaf(1)), merge(leaf(2), leaf(3)), leaf(4)];
    let level2 = [merge(level1[0], level1[1]), level1[2]];
    let at = |entry: usize| &bytes[64 + entry * 32..64 + (entry + 1) * 32];
    assert_eq!(at(0), level2[0]);
    assert_eq!(at(1), level2[1], "the odd entry is passed up unchanged");
    assert_eq!(at(2), level1[0]);
    assert_eq!(at(4), level1[2]);
    for i in 0..5 {
        assert_eq!(at(5 + i), leaf(i));
    }
}

#[test]
fn each_block_verifies_alone_and_a_changed_byte_fails_only_its_block() {
    let content = content(6 * LEAF_LEN + 100);
    let tree = Blake3Tree::build(&content).unwrap();
    let parsed = Blake3Tree::parse(tree.as_bytes().to_vec(), &tree.root()).unwrap();
    let blocks: Vec<&[u8]> = content.chunks(LEAF_LEN).collect();
    for (i, block) in blocks.iter().enumerate() {
        assert!(parsed.verify_block(i, block), "block {i}");
    }
    let mut bad = blocks[3].to_vec();
    bad[17] ^= 1;
    assert!(!parsed.verify_block(3, &bad));
    assert!(
        !parsed.verify_block(2, blocks[3]),
        "a block at the wrong index"
    );
    assert!(
        !parsed.verify_block(6, &blocks[6][..99]),
        "a short last block"
    );
    assert!(!parsed.verify_block(7, blocks[0]), "past the end");
}

#[test]
fn one_leaf_is_checked_against_the_root() {
    let content = content(700);
    let tree = Blake3Tree::build(&content).unwrap();
    assert_eq!(tree.as_bytes().len(), 64 + 32);
    let parsed = Blake3Tree::parse(tree.as_bytes().to_vec(), &tree.root()).unwrap();
    assert!(parsed.verify_block(0, &content));
    assert!(!parsed.verify_block(0, &content[1..]));
}

#[test]
fn a_tree_for_other_content_or_a_forged_parent_is_refused() {
    let content = content(9 * LEAF_LEN);
    let tree = Blake3Tree::build(&content).unwrap();
    let other = Blake3Tree::build(&content[1..]).unwrap();
    assert_eq!(
        Blake3Tree::parse(other.as_bytes().to_vec(), &tree.root()),
        Err(TreeError::WrongRoot)
    );
    let mut forged = tree.as_bytes().to_vec();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert!(matches!(
        Blake3Tree::parse(forged, &tree.root()),
        Err(TreeError::Inconsistent { level: 1, .. })
    ));
    let mut magic = tree.as_bytes().to_vec();
    magic[0] = b'X';
    assert_eq!(
        Blake3Tree::parse(magic, &tree.root()),
        Err(TreeError::BadMagic)
    );
    assert_eq!(
        Blake3Tree::parse(vec![0; 100], &tree.root()),
        Err(TreeError::BadLength { len: 100 })
    );
}

proptest! {
    #[test]
    fn built_trees_hash_like_blake3_and_parse_back(len in 1usize..(40 * LEAF_LEN), seed: u8) {
        let content: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
        let tree = Blake3Tree::build(&content).unwrap();
        prop_assert_eq!(tree.root(), *blake3::hash(&content).as_bytes());
        let parsed = Blake3Tree::parse(tree.as_bytes().to_vec(), &tree.root()).unwrap();
        for (i, block) in content.chunks(LEAF_LEN).enumerate() {
            prop_assert!(parsed.verify_block(i, block));
        }
    }

    #[test]
    fn any_changed_byte_after_the_reserved_bytes_is_refused(len in (2 * LEAF_LEN)..(20 * LEAF_LEN), at: usize) {
        let content = content(len);
        let tree = Blake3Tree::build(&content).unwrap();
        let mut bytes = tree.as_bytes().to_vec();
        let at = 32 + at % (bytes.len() - 32);
        bytes[at] ^= 0x40;
        prop_assert!(Blake3Tree::parse(bytes, &tree.root()).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), root: [u8; 32]) {
        let _ = Blake3Tree::parse(bytes.clone(), &root);
        let mut tree = TREE_MAGIC.to_vec();
        tree.extend_from_slice(&[0; 28]);
        tree.extend_from_slice(&root);
        tree.extend_from_slice(&bytes);
        if let Ok(parsed) = Blake3Tree::parse(tree, &root) {
            let _ = parsed.verify_block(0, &bytes);
        }
    }

    #[test]
    fn the_leaf_count_is_found_from_every_tree_length(leaves in 1usize..100_000) {
        prop_assert_eq!(leaves_for_len(tree_len(leaves)), Some(leaves));
        prop_assert_ne!(leaves_for_len(tree_len(leaves) + 32), Some(leaves));
    }
}
