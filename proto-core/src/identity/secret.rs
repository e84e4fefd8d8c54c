//! A node's secret: its ed25519 signing key.

use core::fmt;

use ed25519_dalek::{Signer, SigningKey};

use super::node_id::NodeId;
use super::public_key::PublicKey;
use crate::rng::CoreRng;

/// A node's ed25519 key pair.
///
/// The secret is the 32-byte ed25519 seed. `Debug` shows only the public key, so logging an
/// identity never leaks it; the signing key is wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    signing: SigningKey,
}

impl Identity {
    /// The identity whose ed25519 seed is `secret` (as stored in an identity file).
    #[must_use]
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Self {
        Self {
            signing: SigningKey::from_bytes(secret),
        }
    }

    /// A new identity drawn from the node's generator.
    #[must_use]
    pub fn generate(rng: &mut CoreRng) -> Self {
        Self::from_secret_bytes(&rng.array())
    }

    /// The 32-byte ed25519 seed, for writing the identity file.
    #[must_use]
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The public half of the key pair.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_derived(self.signing.verifying_key().to_bytes())
    }

    /// The id peers know this node by.
    #[must_use]
    pub fn node_id(&self) -> NodeId {
        self.public_key().node_id()
    }

    /// The ed25519 signature of `message`.
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        // ed25519-dalek's signing cannot fail (`try_sign` always returns `Ok`).
        self.signing.sign(message).to_bytes()
    }

    /// The X25519 secret scalar matching [`PublicKey::to_x25519`] of [`Self::public_key`]: the
    /// first half of SHA-512 of the seed, as ed25519 itself derives its scalar (X25519 clamps it
    /// the same way on use). It is what HPKE opens with and Noise uses as the static key.
    #[must_use]
    pub fn x25519_secret(&self) -> [u8; 32] {
        self.signing.to_scalar_bytes()
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use hpke::kem::X25519HkdfSha256;
    use hpke::{Deserializable, Kem, Serializable};

    #[test]
    fn rfc8032_test_1_key_and_signature() {
        // RFC 8032 section 7.1, TEST 1 (empty message).
        let secret = crate::hex::decode_array(
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        )
        .unwrap();
        let identity = Identity::from_secret_bytes(&secret);
        assert_eq!(
            identity.public_key().to_string(),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let signature = identity.sign(b"");
        assert_eq!(
            crate::hex::encode(&signature),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert_eq!(identity.secret_bytes(), secret);
    }

    #[test]
    fn x25519_secret_times_basepoint_is_the_montgomery_public_key() {
        let mut rng = CoreRng::from_seed([5; 32]);
        for _ in 0..8 {
            let identity = Identity::generate(&mut rng);
            let secret =
                <X25519HkdfSha256 as Kem>::PrivateKey::from_bytes(&identity.x25519_secret())
                    .unwrap();
            let public = X25519HkdfSha256::sk_to_pk(&secret);
            assert_eq!(
                public.to_bytes().as_slice(),
                identity.public_key().to_x25519().as_slice()
            );
        }
    }

    #[test]
    fn generation_is_a_function_of_the_seed() {
        let a = Identity::generate(&mut CoreRng::from_seed([1; 32]));
        let b = Identity::generate(&mut CoreRng::from_seed([1; 32]));
        let c = Identity::generate(&mut CoreRng::from_seed([2; 32]));
        assert_eq!(a, b);
        assert_ne!(a.public_key(), c.public_key());
        assert_eq!(a.node_id(), a.public_key().node_id());
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let identity = Identity::from_secret_bytes(&[0x5a; 32]);
        let debug = alloc::format!("{identity:?}");
        assert!(!debug.contains(&crate::hex::encode(&identity.secret_bytes())));
        assert!(!debug.contains("90, 90"));
        assert!(debug.contains(&identity.public_key().to_string()));
    }
}
