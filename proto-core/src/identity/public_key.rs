//! An ed25519 public key, validated once when it enters the node.

use core::fmt;
use core::str::FromStr;

use ed25519_dalek::{Signature, VerifyingKey};

use super::hex_text;
use super::node_id::NodeId;
use crate::crypto::CryptoError;

/// An ed25519 verifying key: a node's public identity.
///
/// Construction checks that the 32 bytes are the canonical encoding of a curve point that is not
/// of small order, so every key has one byte form (and so one [`NodeId`]), and keys that would
/// make signatures or X25519 agreement meaningless never get past the decoder. Points with a
/// torsion component are not refused: X25519 clamping multiplies the torsion out, and the only
/// party able to use such a "sibling" of a key is the holder of the original secret, so no one
/// can be impersonated through one.
///
/// Text form: 64 lowercase hex digits (also its serde form).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey([u8; 32]);

/// Why 32 bytes or a string are not a usable [`PublicKey`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not 64 lowercase hex digits.
    Encoding,
    /// The bytes do not decode to a point on the curve.
    NotOnCurve,
    /// The bytes decode to a point, but are not its canonical encoding.
    NonCanonical,
    /// The point has small order: anything would verify under it.
    Weak,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Encoding => "public key is not 64 lowercase hex digits",
            Self::NotOnCurve => "public key is not a point on the curve",
            Self::NonCanonical => "public key is not canonically encoded",
            Self::Weak => "public key has small order",
        })
    }
}

impl core::error::Error for KeyError {}

impl PublicKey {
    /// Validates and wraps the 32 bytes of an ed25519 public key.
    ///
    /// # Errors
    /// [`KeyError::NotOnCurve`], [`KeyError::NonCanonical`] or [`KeyError::Weak`].
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::NotOnCurve)?;
        // The decoder accepts some non-canonical encodings (ZIP-215 rules); re-encoding tells.
        if key.to_edwards().compress().to_bytes() != *bytes {
            return Err(KeyError::NonCanonical);
        }
        if key.is_weak() {
            return Err(KeyError::Weak);
        }
        Ok(Self(*bytes))
    }

    /// Wraps a key derived from a secret, which is valid by construction.
    pub(super) const fn from_derived(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes of the key.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key's id: the SHA-256 of its bytes.
    #[must_use]
    pub fn node_id(&self) -> NodeId {
        NodeId::of_key_bytes(&self.0)
    }

    fn verifying_key(&self) -> Result<VerifyingKey, CryptoError> {
        // Cannot fail: the bytes were validated on construction.
        VerifyingKey::from_bytes(&self.0).map_err(|_| CryptoError::BadKey)
    }

    /// Checks an ed25519 signature of `message` under this key.
    ///
    /// Uses strict verification (canonical `S`, no small-order `R`), so a signature cannot be
    /// altered into another valid one: the signature bytes can serve as a replay identifier.
    ///
    /// # Errors
    /// [`CryptoError::BadSignature`] if the signature does not verify.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> Result<(), CryptoError> {
        let signature = Signature::from_bytes(signature);
        self.verifying_key()?
            .verify_strict(message, &signature)
            .map_err(|_| CryptoError::BadSignature)
    }

    /// The key's Montgomery form (the ed25519 → X25519 birational map): the X25519 public key
    /// that HPKE seals to and that Noise uses as this node's static key.
    #[must_use]
    pub fn to_x25519(&self) -> [u8; 32] {
        // The bytes were validated on construction, so the fallback is never taken; an all-zero
        // key would be refused by both HPKE and the handshake's identity check.
        self.verifying_key()
            .map(|key| key.to_montgomery().to_bytes())
            .unwrap_or([0; 32])
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        hex_text::write_lower(&self.0, f)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<Self, KeyError> {
        let bytes = hex_text::parse_lower::<32>(text).ok_or(KeyError::Encoding)?;
        Self::from_bytes(&bytes)
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(hex_text::FromStrVisitor::new(
            "an ed25519 public key as 64 lowercase hex digits",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;
    use alloc::string::ToString;

    fn key() -> PublicKey {
        Identity::from_secret_bytes(&[9; 32]).public_key()
    }

    #[test]
    fn derived_keys_pass_validation() {
        let key = key();
        assert_eq!(PublicKey::from_bytes(key.as_bytes()), Ok(key));
    }

    #[test]
    fn small_order_points_are_refused() {
        // The identity point (0, 1) and the point of order 2 (0, -1).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey::from_bytes(&identity), Err(KeyError::Weak));
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        assert_eq!(PublicKey::from_bytes(&minus_one), Err(KeyError::Weak));
    }

    #[test]
    fn non_canonical_encodings_are_refused() {
        // y = p + 1 encodes the same point as y = 1, non-canonically.
        let mut y = [0xffu8; 32];
        y[0] = 0xee;
        y[31] = 0x7f;
        assert!(matches!(
            PublicKey::from_bytes(&y),
            Err(KeyError::NonCanonical | KeyError::Weak)
        ));
        // x = 0 with the sign bit set is the canonical point with the wrong sign bit.
        let mut signed_zero = [0u8; 32];
        signed_zero[0] = 1;
        signed_zero[31] = 0x80;
        assert!(PublicKey::from_bytes(&signed_zero).is_err());
    }

    #[test]
    fn bytes_off_the_curve_are_refused() {
        // y = 2 has no x on the curve.
        let mut two = [0u8; 32];
        two[0] = 2;
        assert_eq!(PublicKey::from_bytes(&two), Err(KeyError::NotOnCurve));
    }

    #[test]
    fn text_form_is_lowercase_hex_and_round_trips() {
        let key = key();
        let text = key.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text, crate::hex::encode(key.as_bytes()));
        assert_eq!(text.parse::<PublicKey>(), Ok(key));
        assert_eq!(
            text.to_uppercase().parse::<PublicKey>(),
            Err(KeyError::Encoding)
        );
        assert_eq!("00".parse::<PublicKey>(), Err(KeyError::Encoding));
    }

    #[test]
    fn serde_form_is_the_hex_string() {
        let key = key();
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, alloc::format!("\"{key}\""));
        assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), key);
        assert!(serde_json::from_str::<PublicKey>("\"zz\"").is_err());
        assert!(serde_json::from_str::<PublicKey>("42").is_err());
    }

    #[test]
    fn verify_accepts_only_the_signed_message() {
        let identity = Identity::from_secret_bytes(&[3; 32]);
        let signature = identity.sign(b"hello");
        let key = identity.public_key();
        assert_eq!(key.verify(b"hello", &signature), Ok(()));
        assert_eq!(
            key.verify(b"hellO", &signature),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            key.verify(b"hello", &[0; 64]),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn debug_shows_the_hex() {
        let key = key();
        assert_eq!(
            alloc::format!("{key:?}"),
            alloc::format!("PublicKey({key})")
        );
    }
}
