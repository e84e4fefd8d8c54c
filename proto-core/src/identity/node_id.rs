//! A node's id: the SHA-256 of its public key.

use core::fmt;
use core::str::FromStr;

use sha2::{Digest, Sha256};

use super::hex_text;

/// The SHA-256 of a node's ed25519 public key bytes: a fixed-size name for a peer in routing
/// tables and events, that does not need the key's curve arithmetic to compare.
///
/// Any 32 bytes are a valid id (lookups may name peers whose key is not yet known). Text and
/// serde form: 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId([u8; 32]);

impl NodeId {
    /// An id from its 32 bytes (for ids learnt from the network or from a file).
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The id of the key with these bytes.
    pub(super) fn of_key_bytes(key: &[u8; 32]) -> Self {
        Self(Sha256::digest(key).into())
    }

    /// The 32 bytes of the id.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        hex_text::write_lower(&self.0, f)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

/// Why a string is not a [`NodeId`]: it is not 64 lowercase hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeIdParseError;

impl fmt::Display for NodeIdParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("node id is not 64 lowercase hex digits")
    }
}

impl core::error::Error for NodeIdParseError {}

impl FromStr for NodeId {
    type Err = NodeIdParseError;

    fn from_str(text: &str) -> Result<Self, NodeIdParseError> {
        hex_text::parse_lower(text)
            .map(Self)
            .ok_or(NodeIdParseError)
    }
}

impl serde::Serialize for NodeId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for NodeId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(hex_text::FromStrVisitor::new(
            "a node id as 64 lowercase hex digits",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;
    use alloc::string::ToString;

    #[test]
    fn id_is_sha256_of_the_key_bytes() {
        let key = Identity::from_secret_bytes(&[1; 32]).public_key();
        let expected: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        assert_eq!(key.node_id().as_bytes(), &expected);
    }

    #[test]
    fn sha256_is_the_standard_one() {
        // FIPS 180-2 test vector: SHA-256("abc").
        let id = NodeId(Sha256::digest(b"abc").into());
        assert_eq!(
            id.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn text_and_serde_forms_round_trip() {
        let id = NodeId::from_bytes([0xab; 32]);
        let text = id.to_string();
        assert_eq!(text, "ab".repeat(32));
        assert_eq!(text.parse::<NodeId>(), Ok(id));
        assert_eq!(text.to_uppercase().parse::<NodeId>(), Err(NodeIdParseError));
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, alloc::format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<NodeId>(&json).unwrap(), id);
    }
}
