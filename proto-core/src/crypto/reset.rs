//! The signature on a session reset: proof that the node whose key signed it really has no
//! session under an index, so that a peer may drop its side of that session.
//!
//! The signed message is
//! `"ejtp-rs session-reset v1" || 0x00 || u16 len || header || receiver_index u32 || timestamp u64`,
//! where `header` is the reset frame's own `r` header (the address it is sent to). Anyone can
//! replay a reset, but only within the clock-skew window and only for an index its signer
//! already found unknown: a replay can end no session that was alive.

use alloc::vec::Vec;

use crate::crypto::CryptoError;
use crate::identity::{Identity, PublicKey};
use crate::time::UnixMillis;

const DOMAIN: &[u8] = b"ejtp-rs session-reset v1\0";

fn signed_message(
    header: &[u8],
    receiver_index: u32,
    timestamp: UnixMillis,
) -> Result<Vec<u8>, CryptoError> {
    let header_len = u16::try_from(header.len()).map_err(|_| CryptoError::Malformed)?;
    let mut message = Vec::with_capacity(DOMAIN.len() + 2 + header.len() + 12);
    message.extend_from_slice(DOMAIN);
    message.extend_from_slice(&header_len.to_be_bytes());
    message.extend_from_slice(header);
    message.extend_from_slice(&receiver_index.to_be_bytes());
    message.extend_from_slice(&timestamp.0.to_be_bytes());
    Ok(message)
}

/// Signs a reset of `receiver_index`, sent with the `r` header `header`.
///
/// # Errors
/// [`CryptoError::Malformed`] if the header is longer than 65 535 bytes.
pub fn sign(
    identity: &Identity,
    header: &[u8],
    receiver_index: u32,
    timestamp: UnixMillis,
) -> Result<[u8; 64], CryptoError> {
    Ok(identity.sign(&signed_message(header, receiver_index, timestamp)?))
}

/// Checks a reset's signature.
///
/// # Errors
/// [`CryptoError::BadSignature`] if it does not verify for `key`.
pub fn verify(
    key: &PublicKey,
    header: &[u8],
    receiver_index: u32,
    timestamp: UnixMillis,
    signature: &[u8; 64],
) -> Result<(), CryptoError> {
    key.verify(
        &signed_message(header, receiver_index, timestamp)?,
        signature,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_verifies_only_for_its_index_header_time_and_key() {
        let alice = Identity::from_secret_bytes(&[1; 32]);
        let header = br#"["udp4",["127.0.0.1",9002]]"#;
        let signature = sign(&alice, header, 7, UnixMillis(1000)).unwrap();
        let key = alice.public_key();
        assert_eq!(
            verify(&key, header, 7, UnixMillis(1000), &signature),
            Ok(())
        );
        assert!(verify(&key, header, 8, UnixMillis(1000), &signature).is_err());
        assert!(verify(&key, header, 7, UnixMillis(1001), &signature).is_err());
        assert!(verify(&key, b"[\"local\"]", 7, UnixMillis(1000), &signature).is_err());
        let bob = Identity::from_secret_bytes(&[2; 32]).public_key();
        assert!(verify(&bob, header, 7, UnixMillis(1000), &signature).is_err());
    }
}
