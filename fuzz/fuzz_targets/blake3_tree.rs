//! BLAKE3 tree files from peers: arbitrary bytes, for the root the header names, give an
//! error or a tree; a tree that parses has a leaf for each block index it claims, and checking
//! a block against it never panics.
#![no_main]

use ejtp_proto::content::Blake3Tree;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The root the header names, so that the parents' check is reached.
    let mut root = [0u8; 32];
    if let Some(named) = data.get(32..64) {
        root.copy_from_slice(named);
    }
    if let Ok(tree) = Blake3Tree::parse(data.to_vec(), &root) {
        assert_eq!(tree.as_bytes(), data);
        for index in 0..tree.leaves().min(4) {
            assert!(tree.leaf(index).is_some());
            let _ = tree.verify_block(index, data.get(..data.len().min(4096)).unwrap_or_default());
        }
        assert!(tree.leaf(tree.leaves()).is_none());
    }
});
