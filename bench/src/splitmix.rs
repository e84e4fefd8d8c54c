//! SplitMix64: a tiny seeded generator, so that a bench's choices repeat from run to run.
//!
//! Not for keys or anything secret: it only picks sizes, kinds and bytes of test traffic.

/// A SplitMix64 stream (Steele, Lea and Flood's generator, as `java.util.SplittableRandom`).
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// The stream of `seed`.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (0 when `bound` is 0); the tiny bias of the modulo does not
    /// matter for test traffic.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }

    /// A number in `low..=high` (`low` if `high < low`).
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high.saturating_sub(low).saturating_add(1))
    }

    /// A length in `low..=high`.
    pub fn len_between(&mut self, low: usize, high: usize) -> usize {
        let picked = self.between(low as u64, high as u64);
        usize::try_from(picked).unwrap_or(low)
    }

    /// True `per_mille` times in a thousand.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1_000) < per_mille
    }

    /// Fills `out` with bytes of the stream.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    /// `len` bytes of the stream.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        self.fill(&mut out);
        out
    }

    /// 32 bytes of the stream (a secret key or node seed for test identities).
    pub fn array32(&mut self) -> [u8; 32] {
        let mut out = [0; 32];
        self.fill(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_repeats_and_stays_in_bounds() {
        // The first output of seed 0, as published with the algorithm.
        assert_eq!(SplitMix64::new(0).next_u64(), 0xe220_a839_7b1d_cdaf);
        let (mut a, mut b) = (SplitMix64::new(7), SplitMix64::new(7));
        assert_eq!(a.bytes(13), b.bytes(13));
        for _ in 0..1_000 {
            let picked = a.between(3, 5);
            assert!((3..=5).contains(&picked));
        }
        assert_eq!(a.below(0), 0);
        assert_eq!(a.between(9, 2), 9);
    }
}
