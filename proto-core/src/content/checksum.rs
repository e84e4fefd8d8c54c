//! The per-block checksum a partial download's manifest keeps: XXH64 (seed 0).
//!
//! The manifest guards a partial file against torn writes and disk errors between runs, not
//! against an adversary (whoever can rewrite the partial file can rewrite its manifest too), and
//! the whole content is always hashed with SHA-256 against its id before it is accepted. So a
//! fast non-cryptographic checksum is enough here, and it keeps the download path to one
//! cryptographic pass over each byte: XXH64 runs at several GB/s, about an eighth of SHA-256's
//! cost on the machine this project is measured on (`cargo bench -p ejtp-bench --bench transfer`).
//!
//! XXH64 is a published, stable algorithm, so manifests written by one build are read by the
//! next; the tests check the result against the reference implementation's outputs. The hashing
//! is the `xxhash-rust` crate's, which measured at least as fast as the version written here
//! before (`cargo bench -p ejtp-proto --bench codecs` keeps that version as its baseline).

/// The checksum of one block as the manifest records it: XXH64 of `bytes` with seed 0.
#[must_use]
pub fn block_checksum(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh64::xxh64(bytes, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn matches_the_reference_implementation() {
        // Outputs of the reference XXH64 (the `xxhash` Python package), seed 0.
        let long: Vec<u8> = (0..16).flat_map(|_| 0..=255u8).chain(*b"xyz").collect();
        let cases: [(&[u8], u64); 5] = [
            (b"", 0xef46_db37_51d8_e999),
            (b"a", 0xd24e_c4f1_a98c_6e5b),
            (b"abc", 0x44bc_2cf5_ad77_0999),
            (b"0123456789abcdef0123456789abcdef", 0x642a_9495_8e71_e6c5),
            (&long, 0xb2d6_f733_cc8b_f0de),
        ];
        for (input, expected) in cases {
            assert_eq!(block_checksum(input), expected, "length {}", input.len());
        }
    }

    #[test]
    fn one_changed_byte_changes_the_checksum() {
        let block: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 256) as u8).collect();
        let original = block_checksum(&block);
        for position in [0, 1, 31, 32, 4000, 4095] {
            let mut changed = block.clone();
            changed[position] ^= 1;
            assert_ne!(block_checksum(&changed), original, "byte {position}");
        }
    }
}
