//! The content id of bytes that arrive in pieces (a file read in chunks).

use sha2::{Digest, Sha256};

use super::ContentId;

/// Computes a [`ContentId`] incrementally: feed the content in order, then [`finish`](Self::finish).
#[derive(Clone, Debug, Default)]
pub struct ContentHasher(Sha256);

impl ContentHasher {
    /// A hasher that has seen nothing.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the content.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The id of everything fed.
    #[must_use]
    pub fn finish(self) -> ContentId {
        ContentId(self.0.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_hash_like_the_whole() {
        let mut hasher = ContentHasher::new();
        hasher.update(b"hello ");
        hasher.update(b"world");
        assert_eq!(hasher.finish(), ContentId::of(b"hello world"));
    }
}
