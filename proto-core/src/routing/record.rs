//! Signed address records: how a node tells the network where it can be reached.
//!
//! ```text
//! record    = 0x01 (version) || key (32) || seq u64 BE || expires u64 BE (Unix ms)
//!             || count u8 (1..=MAX_RECORD_ADDRESSES)
//!             || count x (len u16 BE (1..=MAX_RECORD_ADDRESS_LEN) || address, strict JSON, no callsign)
//!             || signature (64)
//! signature = ed25519(key, "ejtp-rs address-record v1" || 0x00 || every record byte before it)
//! ```
//!
//! A record is self-authenticating: whoever holds it can hand it on, and a receiver accepts it
//! only if its key hashes to the node id it looked up, its signature verifies, it has not
//! expired, and its `seq` is newer than the one it already holds.

use alloc::vec::Vec;
use core::fmt;

use crate::address::Address;
use crate::identity::{Identity, NodeId, PublicKey};
use crate::time::UnixMillis;

/// The record layout version this implementation writes and reads.
pub const RECORD_VERSION: u8 = 0x01;
/// Most addresses one record carries.
pub const MAX_RECORD_ADDRESSES: usize = 8;
/// Longest address (its strict JSON text) a record carries, in bytes.
pub const MAX_RECORD_ADDRESS_LEN: usize = 256;
/// Largest record in bytes, given the two limits above.
pub const MAX_RECORD_LEN: usize =
    1 + 32 + 8 + 8 + 1 + MAX_RECORD_ADDRESSES * (2 + MAX_RECORD_ADDRESS_LEN) + 64;

const DOMAIN: &[u8] = b"ejtp-rs address-record v1\0";

/// Why bytes are not an acceptable address record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// The bytes do not follow the layout (truncated, trailing bytes, bad counts or addresses,
    /// an unknown version, an invalid key).
    Malformed,
    /// The signature does not verify for the record's key.
    BadSignature,
    /// The record's key is not the one of the node id looked up.
    WrongNode,
    /// The record's expiry has passed.
    Expired,
    /// Too many or too long addresses to publish.
    TooLarge,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "malformed address record",
            Self::BadSignature => "address record signature does not verify",
            Self::WrongNode => "address record is for another node",
            Self::Expired => "address record has expired",
            Self::TooLarge => "too many or too long addresses for a record",
        })
    }
}

impl core::error::Error for RecordError {}

/// A decoded, signature-checked address record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressRecord {
    /// The publishing node's key.
    pub key: PublicKey,
    /// Higher is newer: a record only replaces one with a lower `seq`.
    pub seq: u64,
    /// When the record stops being valid (wall clock).
    pub expires: UnixMillis,
    /// Where the node is reached, most preferred first (node addresses, no callsign).
    pub addresses: Vec<Address>,
    /// The record as signed: what is handed on to others, byte for byte.
    pub bytes: Vec<u8>,
}

impl AddressRecord {
    /// Builds and signs `identity`'s record.
    ///
    /// # Errors
    /// [`RecordError::TooLarge`] with no address, more than [`MAX_RECORD_ADDRESSES`], or one
    /// longer than [`MAX_RECORD_ADDRESS_LEN`].
    pub fn sign(
        identity: &Identity,
        seq: u64,
        expires: UnixMillis,
        addresses: &[Address],
    ) -> Result<Self, RecordError> {
        let count = u8::try_from(addresses.len()).map_err(|_| RecordError::TooLarge)?;
        if addresses.is_empty() || addresses.len() > MAX_RECORD_ADDRESSES {
            return Err(RecordError::TooLarge);
        }
        let key = identity.public_key();
        let mut bytes = Vec::new();
        bytes.push(RECORD_VERSION);
        bytes.extend_from_slice(key.as_bytes());
        bytes.extend_from_slice(&seq.to_be_bytes());
        bytes.extend_from_slice(&expires.0.to_be_bytes());
        bytes.push(count);
        let mut kept = Vec::with_capacity(addresses.len());
        for address in addresses {
            let address = address.without_callsign();
            let text = address.to_strict_json();
            if text.len() > MAX_RECORD_ADDRESS_LEN {
                return Err(RecordError::TooLarge);
            }
            let len = u16::try_from(text.len()).map_err(|_| RecordError::TooLarge)?;
            bytes.extend_from_slice(&len.to_be_bytes());
            bytes.extend_from_slice(text.as_bytes());
            kept.push(address);
        }
        let signature = identity.sign(&signed_message(&bytes));
        bytes.extend_from_slice(&signature);
        Ok(Self {
            key,
            seq,
            expires,
            addresses: kept,
            bytes,
        })
    }

    /// Decodes a record and checks its signature. Expiry and the node it is for are the
    /// caller's checks ([`check_for`](Self::check_for)).
    ///
    /// # Errors
    /// [`RecordError::Malformed`] or [`RecordError::BadSignature`].
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        if bytes.len() > MAX_RECORD_LEN {
            return Err(RecordError::Malformed);
        }
        let (signed, signature) = bytes
            .split_last_chunk::<64>()
            .ok_or(RecordError::Malformed)?;
        let (&version, rest) = signed.split_first().ok_or(RecordError::Malformed)?;
        if version != RECORD_VERSION {
            return Err(RecordError::Malformed);
        }
        let (key, rest) = rest
            .split_first_chunk::<32>()
            .ok_or(RecordError::Malformed)?;
        let key = PublicKey::from_bytes(key).map_err(|_| RecordError::Malformed)?;
        let (seq, rest) = rest
            .split_first_chunk::<8>()
            .ok_or(RecordError::Malformed)?;
        let (expires, rest) = rest
            .split_first_chunk::<8>()
            .ok_or(RecordError::Malformed)?;
        let (&count, mut rest) = rest.split_first().ok_or(RecordError::Malformed)?;
        if count == 0 || usize::from(count) > MAX_RECORD_ADDRESSES {
            return Err(RecordError::Malformed);
        }
        let mut addresses = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let (len, after) = rest
                .split_first_chunk::<2>()
                .ok_or(RecordError::Malformed)?;
            let len = usize::from(u16::from_be_bytes(*len));
            if len == 0 || len > MAX_RECORD_ADDRESS_LEN {
                return Err(RecordError::Malformed);
            }
            let text = after.get(..len).ok_or(RecordError::Malformed)?;
            let address = Address::from_json_bytes(text).map_err(|_| RecordError::Malformed)?;
            // Only the one strict encoding of a node address is accepted, so a record has one
            // byte form and a callsign cannot ride along.
            if address.callsign().is_some() || address.to_strict_json().as_bytes() != text {
                return Err(RecordError::Malformed);
            }
            addresses.push(address);
            rest = after.get(len..).ok_or(RecordError::Malformed)?;
        }
        if !rest.is_empty() {
            return Err(RecordError::Malformed);
        }
        key.verify(&signed_message(signed), signature)
            .map_err(|_| RecordError::BadSignature)?;
        Ok(Self {
            key,
            seq: u64::from_be_bytes(*seq),
            expires: UnixMillis(u64::from_be_bytes(*expires)),
            addresses,
            bytes: bytes.to_vec(),
        })
    }

    /// Checks that the record is for `node` and still valid at `wall`.
    ///
    /// # Errors
    /// [`RecordError::WrongNode`] or [`RecordError::Expired`].
    pub fn check_for(&self, node: &NodeId, wall: UnixMillis) -> Result<(), RecordError> {
        if self.key.node_id() != *node {
            return Err(RecordError::WrongNode);
        }
        if self.expires <= wall {
            return Err(RecordError::Expired);
        }
        Ok(())
    }
}

fn signed_message(unsigned: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(DOMAIN.len() + unsigned.len());
    message.extend_from_slice(DOMAIN);
    message.extend_from_slice(unsigned);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp(port: u16) -> Address {
        Address::udp(core::net::SocketAddr::from(([127, 0, 0, 1], port)), None)
    }

    #[test]
    fn records_round_trip_with_the_documented_layout() {
        let identity = Identity::from_secret_bytes(&[7; 32]);
        let record =
            AddressRecord::sign(&identity, 5, UnixMillis(1_000), &[udp(9001), udp(9002)]).unwrap();
        let text = br#"["udp4",["127.0.0.1",9001]]"#;
        assert_eq!(record.bytes[0], RECORD_VERSION);
        assert_eq!(&record.bytes[1..33], identity.public_key().as_bytes());
        assert_eq!(&record.bytes[33..41], &5u64.to_be_bytes());
        assert_eq!(&record.bytes[41..49], &1_000u64.to_be_bytes());
        assert_eq!(record.bytes[49], 2);
        assert_eq!(&record.bytes[50..52], &(text.len() as u16).to_be_bytes());
        assert_eq!(&record.bytes[52..52 + text.len()], text);
        assert_eq!(record.bytes.len(), 50 + 2 * (2 + text.len()) + 64);
        let decoded = AddressRecord::decode(&record.bytes).unwrap();
        assert_eq!(decoded, record);
        assert_eq!(
            decoded.check_for(&identity.node_id(), UnixMillis(999)),
            Ok(())
        );
        assert_eq!(
            decoded.check_for(&identity.node_id(), UnixMillis(1_000)),
            Err(RecordError::Expired)
        );
        let other = Identity::from_secret_bytes(&[8; 32]).node_id();
        assert_eq!(
            decoded.check_for(&other, UnixMillis(0)),
            Err(RecordError::WrongNode)
        );
    }

    #[test]
    fn a_changed_byte_or_a_foreign_signature_is_refused() {
        let identity = Identity::from_secret_bytes(&[7; 32]);
        let record = AddressRecord::sign(&identity, 5, UnixMillis(1_000), &[udp(9001)]).unwrap();
        let mut bumped = record.bytes.clone();
        bumped[40] ^= 1; // seq 5 -> 4
        assert_eq!(
            AddressRecord::decode(&bumped),
            Err(RecordError::BadSignature)
        );
        // A forger signs a record that claims the victim's key with its own key.
        let forger = Identity::from_secret_bytes(&[9; 32]);
        let forged = AddressRecord::sign(&forger, 99, UnixMillis(1_000), &[udp(6666)]).unwrap();
        let mut claimed = forged.bytes;
        claimed[1..33].copy_from_slice(identity.public_key().as_bytes());
        assert_eq!(
            AddressRecord::decode(&claimed),
            Err(RecordError::BadSignature)
        );
        let mut trailing = record.bytes;
        trailing.insert(50, 0);
        assert!(AddressRecord::decode(&trailing).is_err());
    }

    #[test]
    fn empty_and_oversized_address_lists_are_not_signed() {
        let identity = Identity::from_secret_bytes(&[7; 32]);
        assert_eq!(
            AddressRecord::sign(&identity, 1, UnixMillis(1), &[]),
            Err(RecordError::TooLarge)
        );
        let many: Vec<Address> = (0..9).map(|i| udp(9000 + i)).collect();
        assert_eq!(
            AddressRecord::sign(&identity, 1, UnixMillis(1), &many),
            Err(RecordError::TooLarge)
        );
    }
}
