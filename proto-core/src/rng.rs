//! The node's one source of randomness.
//!
//! Every random draw in the core (nonces, ephemeral keys, session indices) goes through a
//! [`CoreRng`] seeded once, at construction, with 32 bytes the caller supplies. The same seed
//! and the same inputs give the same outputs, byte for byte: that is what makes scenario vectors
//! replayable.

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

/// A seeded ChaCha20 CSPRNG.
///
/// Adapters seed it from the operating system; tests and vectors seed it with fixed bytes.
#[derive(Clone, Debug)]
pub struct CoreRng(ChaCha20Rng);

impl CoreRng {
    /// A generator that will produce the stream determined by `seed`.
    #[must_use]
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self(ChaCha20Rng::from_seed(seed))
    }

    /// Fills `out` with random bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        self.0.fill_bytes(out);
    }

    /// A random array.
    #[must_use]
    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        self.fill(&mut out);
        out
    }

    /// A random `u32`.
    pub fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    /// A random `u64`.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A new generator seeded from this one: for components (such as a Noise handshake) that own
    /// their generator, so that their draws stay a function of the node's seed.
    #[must_use]
    pub fn fork(&mut self) -> Self {
        Self::from_seed(self.array())
    }

    /// The underlying generator, for crates that take a `rand_core` generator.
    pub fn as_rand_core(&mut self) -> &mut ChaCha20Rng {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_stream() {
        let mut a = CoreRng::from_seed([7; 32]);
        let mut b = CoreRng::from_seed([7; 32]);
        assert_eq!(a.array::<64>(), b.array::<64>());
        assert_eq!(a.fork().next_u64(), b.fork().next_u64());
    }

    #[test]
    fn different_seeds_differ() {
        let mut a = CoreRng::from_seed([1; 32]);
        let mut b = CoreRng::from_seed([2; 32]);
        assert_ne!(a.array::<32>(), b.array::<32>());
    }
}
