//! The signature on a mailbox request: a recipient asking a relay to hold its frames, hand
//! them over, or stop holding them (see `docs/PROTOCOL.md`, section 14).
//!
//! The signed message is
//! `"ejtp-rs mailbox v1" || 0x00 || u16 len || header || op || timestamp u64 || address`,
//! where `header` is the request frame's own `r` header (the relay's address, so a request
//! cannot be replayed to another relay) and `address` the strict JSON address held frames are
//! handed over to.

use alloc::vec::Vec;

use crate::crypto::CryptoError;
use crate::identity::{Identity, PublicKey};
use crate::time::UnixMillis;

const DOMAIN: &[u8] = b"ejtp-rs mailbox v1\0";

fn signed_message(
    header: &[u8],
    op: u8,
    timestamp: UnixMillis,
    address: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let header_len = u16::try_from(header.len()).map_err(|_| CryptoError::Malformed)?;
    let mut message = Vec::with_capacity(DOMAIN.len() + 2 + header.len() + 9 + address.len());
    message.extend_from_slice(DOMAIN);
    message.extend_from_slice(&header_len.to_be_bytes());
    message.extend_from_slice(header);
    message.push(op);
    message.extend_from_slice(&timestamp.0.to_be_bytes());
    message.extend_from_slice(address);
    Ok(message)
}

/// Signs a mailbox request sent with the `r` header `header`.
///
/// # Errors
/// [`CryptoError::Malformed`] if the header is longer than 65 535 bytes.
pub fn sign(
    identity: &Identity,
    header: &[u8],
    op: u8,
    timestamp: UnixMillis,
    address: &[u8],
) -> Result<[u8; 64], CryptoError> {
    Ok(identity.sign(&signed_message(header, op, timestamp, address)?))
}

/// Checks a mailbox request's signature.
///
/// # Errors
/// [`CryptoError::BadSignature`] if it does not verify for `key`.
pub fn verify(
    key: &PublicKey,
    header: &[u8],
    op: u8,
    timestamp: UnixMillis,
    address: &[u8],
    signature: &[u8; 64],
) -> Result<(), CryptoError> {
    key.verify(&signed_message(header, op, timestamp, address)?, signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_verifies_only_for_its_relay_op_time_address_and_key() {
        let bob = Identity::from_secret_bytes(&[3; 32]);
        let relay = br#"["udp4",["127.0.0.1",9002]]"#;
        let address = br#"["udp4",["127.0.0.1",9003]]"#;
        let signature = sign(&bob, relay, 1, UnixMillis(5), address).unwrap();
        let key = bob.public_key();
        assert_eq!(
            verify(&key, relay, 1, UnixMillis(5), address, &signature),
            Ok(())
        );
        assert!(verify(&key, relay, 2, UnixMillis(5), address, &signature).is_err());
        assert!(verify(&key, relay, 1, UnixMillis(6), address, &signature).is_err());
        assert!(verify(&key, address, 1, UnixMillis(5), address, &signature).is_err());
        assert!(verify(&key, relay, 1, UnixMillis(5), relay, &signature).is_err());
        let eve = Identity::from_secret_bytes(&[4; 32]).public_key();
        assert!(verify(&eve, relay, 1, UnixMillis(5), address, &signature).is_err());
    }
}
