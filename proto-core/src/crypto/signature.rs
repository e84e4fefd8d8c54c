//! The signature of an `s` frame.
//!
//! EJTP's `s` frame body is `siglen (u16 BE) || signature || inner frame`. Its "signature" here is
//! a fixed [`SIGNATURE_BLOB_LEN`]-byte blob:
//!
//! ```text
//! version 0x01 || sender's ed25519 key (32) || timestamp u64 BE (Unix ms) || nonce (16)
//!              || ed25519 signature (64)
//! ```
//!
//! The signature covers more than the inner frame (which is all EJTP's covers):
//!
//! ```text
//! "ejtp-rs s-frame v1\0" || u16 BE len || recipient address (strict JSON)
//!                        || u16 BE len || sender address (the s header, strict JSON)
//!                        || timestamp u64 BE || nonce (16) || inner frame
//! ```
//!
//! so a signed frame cannot be re-wrapped for another recipient, claimed from another address,
//! or replayed outside its time window (inside it, the nonce memory refuses it). The domain
//! string keeps these signatures from ever being valid for any other message this key signs.

use alloc::vec::Vec;

use crate::crypto::CryptoError;
use crate::identity::{Identity, PublicKey};
use crate::time::UnixMillis;

/// Size of the signature blob in an `s` frame.
pub const SIGNATURE_BLOB_LEN: usize = 121;

/// The blob layout this implementation writes and reads.
pub const SIGNATURE_VERSION: u8 = 0x01;

/// Domain separation for the signed message (the NUL ends the label).
const DOMAIN: &[u8] = b"ejtp-rs s-frame v1\0";

/// Domain separation for a signed reply: it also covers the reference to the answered message.
const REPLY_DOMAIN: &[u8] = b"ejtp-rs s-frame reply v1\0";

/// Size of a signed reply proof: `0x03 || key || timestamp || nonce || reference || signature`.
pub const REPLY_SIGNATURE_LEN: usize = 1 + 32 + 8 + 16 + 32 + 64;

/// Kind byte of a signed reply proof.
pub const REPLY_SIGNATURE_VERSION: u8 = 0x03;

/// The parsed signature blob of an `s` frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignatureBlob {
    /// The signer's key: the frame's authenticated sender.
    pub key: PublicKey,
    /// When the sender signed, by its wall clock.
    pub timestamp: UnixMillis,
    /// A random value that makes each signed frame unique, for replay detection.
    pub nonce: [u8; 16],
    /// The ed25519 signature.
    pub signature: [u8; 64],
}

/// Appends `part` with its u16 big-endian length, so that the boundaries between the variable
/// parts of the signed message are unambiguous.
fn push_with_len(message: &mut Vec<u8>, part: &[u8]) -> Result<(), CryptoError> {
    let len = u16::try_from(part.len()).map_err(|_| CryptoError::Malformed)?;
    message.extend_from_slice(&len.to_be_bytes());
    message.extend_from_slice(part);
    Ok(())
}

/// The exact bytes the signature covers.
fn signed_message(
    recipient: &[u8],
    sender: &[u8],
    timestamp: UnixMillis,
    nonce: &[u8; 16],
    inner: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    signed_message_in(DOMAIN, recipient, sender, timestamp, nonce, inner, None)
}

/// The bytes a signature covers under `domain`; a reply appends its reference.
fn signed_message_in(
    domain: &[u8],
    recipient: &[u8],
    sender: &[u8],
    timestamp: UnixMillis,
    nonce: &[u8; 16],
    inner: &[u8],
    reference: Option<&[u8; 32]>,
) -> Result<Vec<u8>, CryptoError> {
    let len = domain.len() + 2 + recipient.len() + 2 + sender.len() + 8 + 16 + inner.len() + 32;
    let mut message = Vec::with_capacity(len);
    message.extend_from_slice(domain);
    push_with_len(&mut message, recipient)?;
    push_with_len(&mut message, sender)?;
    message.extend_from_slice(&timestamp.0.to_be_bytes());
    message.extend_from_slice(nonce);
    message.extend_from_slice(inner);
    if let Some(reference) = reference {
        message.extend_from_slice(reference);
    }
    Ok(message)
}

/// The bytes a signed reply's signature covers.
fn reply_message(
    recipient: &[u8],
    sender: &[u8],
    timestamp: UnixMillis,
    nonce: &[u8; 16],
    inner: &[u8],
    reference: &[u8; 32],
) -> Result<Vec<u8>, CryptoError> {
    signed_message_in(
        REPLY_DOMAIN,
        recipient,
        sender,
        timestamp,
        nonce,
        inner,
        Some(reference),
    )
}

impl SignatureBlob {
    /// Signs `inner` as sent by `identity` from the address `sender` to the address `recipient`
    /// (both as strict JSON text), at `timestamp`, with a fresh random `nonce`.
    ///
    /// # Errors
    /// [`CryptoError::Malformed`] if an address is longer than 65 535 bytes (the length prefix
    /// cannot say so, and frames never carry one that long).
    pub fn sign(
        identity: &Identity,
        recipient: &[u8],
        sender: &[u8],
        timestamp: UnixMillis,
        nonce: [u8; 16],
        inner: &[u8],
    ) -> Result<Self, CryptoError> {
        let message = signed_message(recipient, sender, timestamp, &nonce, inner)?;
        Ok(Self {
            key: identity.public_key(),
            timestamp,
            nonce,
            signature: identity.sign(&message),
        })
    }

    /// Checks that the signature covers exactly this recipient, sender address and inner frame
    /// (and the blob's timestamp and nonce). Freshness of the timestamp and nonce is the
    /// caller's to check, with a [`NonceMemory`](crate::replay::NonceMemory).
    ///
    /// # Errors
    /// [`CryptoError::BadSignature`], or [`CryptoError::Malformed`] for an oversized address.
    pub fn verify(&self, recipient: &[u8], sender: &[u8], inner: &[u8]) -> Result<(), CryptoError> {
        let message = signed_message(recipient, sender, self.timestamp, &self.nonce, inner)?;
        self.key.verify(&message, &self.signature)
    }

    /// Signs `inner` like [`sign`](Self::sign), as a reply to the message whose reference is
    /// `reference` (under its own domain string, so a reply signature is never a plain one).
    ///
    /// # Errors
    /// As [`sign`](Self::sign).
    pub fn sign_reply(
        identity: &Identity,
        recipient: &[u8],
        sender: &[u8],
        timestamp: UnixMillis,
        nonce: [u8; 16],
        inner: &[u8],
        reference: &[u8; 32],
    ) -> Result<Self, CryptoError> {
        let message = reply_message(recipient, sender, timestamp, &nonce, inner, reference)?;
        Ok(Self {
            key: identity.public_key(),
            timestamp,
            nonce,
            signature: identity.sign(&message),
        })
    }

    /// Checks a reply signature: as [`verify`](Self::verify), plus the reference.
    ///
    /// # Errors
    /// [`CryptoError::BadSignature`], or [`CryptoError::Malformed`] for an oversized address.
    pub fn verify_reply(
        &self,
        recipient: &[u8],
        sender: &[u8],
        inner: &[u8],
        reference: &[u8; 32],
    ) -> Result<(), CryptoError> {
        let message = reply_message(
            recipient,
            sender,
            self.timestamp,
            &self.nonce,
            inner,
            reference,
        )?;
        self.key.verify(&message, &self.signature)
    }

    /// The signed reply proof's bytes:
    /// `0x03 || key || timestamp || nonce || reference || signature`.
    #[must_use]
    pub fn to_reply_bytes(&self, reference: &[u8; 32]) -> [u8; REPLY_SIGNATURE_LEN] {
        let mut out = [0u8; REPLY_SIGNATURE_LEN];
        self.write(REPLY_SIGNATURE_VERSION, Some(reference), &mut out);
        out
    }

    /// Reads a signed reply proof: the blob and the reference it carries.
    ///
    /// # Errors
    /// [`CryptoError::Malformed`] unless `bytes` is exactly [`REPLY_SIGNATURE_LEN`] bytes of
    /// kind [`REPLY_SIGNATURE_VERSION`]; [`CryptoError::BadKey`] for an invalid key.
    pub fn from_reply_bytes(bytes: &[u8]) -> Result<(Self, [u8; 32]), CryptoError> {
        let (blob, reference) = Self::parse(bytes, REPLY_SIGNATURE_VERSION, true)?;
        reference
            .map(|reference| (blob, reference))
            .ok_or(CryptoError::Malformed)
    }

    /// The blob's bytes, as they go in the `s` frame.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; SIGNATURE_BLOB_LEN] {
        let mut out = [0u8; SIGNATURE_BLOB_LEN];
        self.write(SIGNATURE_VERSION, None, &mut out);
        out
    }

    /// Writes `version || key || timestamp || nonce || reference? || signature` into `out`,
    /// which is exactly that long.
    fn write(&self, version: u8, reference: Option<&[u8; 32]>, out: &mut [u8]) {
        let timestamp = self.timestamp.0.to_be_bytes();
        let parts = core::iter::once(&version)
            .chain(self.key.as_bytes())
            .chain(&timestamp)
            .chain(&self.nonce)
            .chain(reference.into_iter().flatten())
            .chain(&self.signature);
        for (byte, part) in out.iter_mut().zip(parts) {
            *byte = *part;
        }
    }

    /// Reads a blob from an `s` frame's signature field.
    ///
    /// # Errors
    /// [`CryptoError::Malformed`] unless `bytes` is exactly [`SIGNATURE_BLOB_LEN`] bytes of
    /// version [`SIGNATURE_VERSION`]; [`CryptoError::BadKey`] if the key is not a valid one.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        Self::parse(bytes, SIGNATURE_VERSION, false).map(|(blob, _)| blob)
    }

    /// Reads `version || key || timestamp || nonce || reference? || signature`, refusing any
    /// other kind or length.
    fn parse(
        bytes: &[u8],
        version: u8,
        with_reference: bool,
    ) -> Result<(Self, Option<[u8; 32]>), CryptoError> {
        let Some((&kind, rest)) = bytes.split_first() else {
            return Err(CryptoError::Malformed);
        };
        if kind != version {
            return Err(CryptoError::Malformed);
        }
        let (key, rest) = rest
            .split_first_chunk::<32>()
            .ok_or(CryptoError::Malformed)?;
        let (timestamp, rest) = rest
            .split_first_chunk::<8>()
            .ok_or(CryptoError::Malformed)?;
        let (nonce, rest) = rest
            .split_first_chunk::<16>()
            .ok_or(CryptoError::Malformed)?;
        let (reference, rest) = if with_reference {
            let (reference, rest) = rest
                .split_first_chunk::<32>()
                .ok_or(CryptoError::Malformed)?;
            (Some(*reference), rest)
        } else {
            (None, rest)
        };
        // Exactly a signature must remain: this also fixes the total length.
        let signature: &[u8; 64] = rest.try_into().map_err(|_| CryptoError::Malformed)?;
        let blob = Self {
            key: PublicKey::from_bytes(key).map_err(|_| CryptoError::BadKey)?,
            timestamp: UnixMillis(u64::from_be_bytes(*timestamp)),
            nonce: *nonce,
            signature: *signature,
        };
        Ok((blob, reference))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECIPIENT: &[u8] = br#"["udp4",["10.0.0.2",9001],"bob"]"#;
    const SENDER: &[u8] = br#"["udp4",["10.0.0.1",9001],"alice"]"#;
    const INNER: &[u8] = br#"j{"hello":"world"}"#;

    fn alice() -> Identity {
        Identity::from_secret_bytes(&[0xa1; 32])
    }

    fn blob() -> SignatureBlob {
        SignatureBlob::sign(
            &alice(),
            RECIPIENT,
            SENDER,
            UnixMillis(1_700_000_000_000),
            [0x5e; 16],
            INNER,
        )
        .unwrap()
    }

    #[test]
    fn reply_signatures_cover_the_reference_and_differ_from_plain_ones() {
        let reference = [0x77; 32];
        let reply = SignatureBlob::sign_reply(
            &alice(),
            RECIPIENT,
            SENDER,
            UnixMillis(1_700_000_000_000),
            [0x5e; 16],
            INNER,
            &reference,
        )
        .unwrap();
        assert_eq!(
            reply.verify_reply(RECIPIENT, SENDER, INNER, &reference),
            Ok(())
        );
        assert_eq!(
            reply.verify_reply(RECIPIENT, SENDER, INNER, &[0x78; 32]),
            Err(CryptoError::BadSignature)
        );
        // Same fields, other domain: a reply is never valid as a plain message, nor back.
        assert_eq!(
            reply.verify(RECIPIENT, SENDER, INNER),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            blob().verify_reply(RECIPIENT, SENDER, INNER, &reference),
            Err(CryptoError::BadSignature)
        );
        let bytes = reply.to_reply_bytes(&reference);
        assert_eq!(bytes[0], REPLY_SIGNATURE_VERSION);
        assert_eq!(&bytes[41..57], &[0x5e; 16]);
        assert_eq!(&bytes[57..89], &reference);
        assert_eq!(
            SignatureBlob::from_reply_bytes(&bytes),
            Ok((reply, reference))
        );
        assert_eq!(
            SignatureBlob::from_reply_bytes(&bytes[..152]),
            Err(CryptoError::Malformed)
        );
        let mut message = Vec::new();
        message.extend_from_slice(b"ejtp-rs s-frame reply v1\0");
        message.extend_from_slice(&[0, 1, b'R', 0, 1, b'S']);
        message.extend_from_slice(&[0; 8]);
        message.extend_from_slice(&[7; 16]);
        message.extend_from_slice(b"in");
        message.extend_from_slice(&reference);
        let short = SignatureBlob::sign_reply(
            &alice(),
            b"R",
            b"S",
            UnixMillis(0),
            [7; 16],
            b"in",
            &reference,
        )
        .unwrap();
        assert_eq!(
            short.signature,
            alice().sign(&message),
            "the documented signed bytes"
        );
    }

    #[test]
    fn signed_blob_verifies_and_round_trips() {
        let blob = blob();
        assert_eq!(blob.verify(RECIPIENT, SENDER, INNER), Ok(()));
        let bytes = blob.to_bytes();
        assert_eq!(bytes.len(), SIGNATURE_BLOB_LEN);
        assert_eq!(bytes[0], SIGNATURE_VERSION);
        assert_eq!(&bytes[1..33], alice().public_key().as_bytes());
        assert_eq!(&bytes[33..41], &1_700_000_000_000u64.to_be_bytes());
        assert_eq!(&bytes[41..57], &[0x5e; 16]);
        assert_eq!(SignatureBlob::from_bytes(&bytes), Ok(blob));
    }

    #[test]
    fn signed_message_layout_is_the_documented_one() {
        let message = signed_message(b"R", b"SS", UnixMillis(0x0102), &[7; 16], b"inner").unwrap();
        let mut expected = Vec::new();
        expected.extend_from_slice(b"ejtp-rs s-frame v1\0");
        expected.extend_from_slice(&[0, 1, b'R', 0, 2, b'S', b'S']);
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 1, 2]);
        expected.extend_from_slice(&[7; 16]);
        expected.extend_from_slice(b"inner");
        assert_eq!(message, expected);
        assert_eq!(
            blob().signature,
            alice().sign(
                &signed_message(
                    RECIPIENT,
                    SENDER,
                    UnixMillis(1_700_000_000_000),
                    &[0x5e; 16],
                    INNER
                )
                .unwrap()
            )
        );
    }

    #[test]
    fn rewrapping_for_another_recipient_fails() {
        let other = br#"["udp4",["10.0.0.3",9001],"eve"]"#;
        assert_eq!(
            blob().verify(other, SENDER, INNER),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn claiming_another_sender_address_fails() {
        let other = br#"["udp4",["10.0.0.3",9001],"alice"]"#;
        assert_eq!(
            blob().verify(RECIPIENT, other, INNER),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn changing_time_nonce_inner_or_key_fails() {
        let mut later = blob();
        later.timestamp = UnixMillis(later.timestamp.0 + 1);
        assert_eq!(
            later.verify(RECIPIENT, SENDER, INNER),
            Err(CryptoError::BadSignature)
        );
        let mut renonced = blob();
        renonced.nonce[0] ^= 1;
        assert_eq!(
            renonced.verify(RECIPIENT, SENDER, INNER),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            blob().verify(RECIPIENT, SENDER, b"j{}"),
            Err(CryptoError::BadSignature)
        );
        let mut rekeyed = blob();
        rekeyed.key = Identity::from_secret_bytes(&[0xe5; 32]).public_key();
        assert_eq!(
            rekeyed.verify(RECIPIENT, SENDER, INNER),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn length_prefixes_keep_address_boundaries_apart() {
        // Moving a byte from the recipient to the sender changes the signed message.
        let blob = SignatureBlob::sign(&alice(), b"ab", b"c", UnixMillis(1), [0; 16], b"").unwrap();
        assert_eq!(blob.verify(b"ab", b"c", b""), Ok(()));
        assert_eq!(
            blob.verify(b"a", b"bc", b""),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn wrong_length_version_or_key_is_malformed() {
        let bytes = blob().to_bytes();
        assert_eq!(
            SignatureBlob::from_bytes(&bytes[..120]),
            Err(CryptoError::Malformed)
        );
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert_eq!(
            SignatureBlob::from_bytes(&longer),
            Err(CryptoError::Malformed)
        );
        let mut version = bytes;
        version[0] = 2;
        assert_eq!(
            SignatureBlob::from_bytes(&version),
            Err(CryptoError::Malformed)
        );
        let mut weak = bytes;
        weak[1..33].copy_from_slice(&[0; 32]);
        weak[1] = 1;
        assert_eq!(SignatureBlob::from_bytes(&weak), Err(CryptoError::BadKey));
        assert_eq!(SignatureBlob::from_bytes(&[]), Err(CryptoError::Malformed));
    }

    #[test]
    fn oversized_addresses_are_refused_not_truncated() {
        let huge = alloc::vec![b'x'; usize::from(u16::MAX) + 1];
        assert_eq!(
            SignatureBlob::sign(&alice(), &huge, SENDER, UnixMillis(0), [0; 16], INNER),
            Err(CryptoError::Malformed)
        );
        assert_eq!(
            blob().verify(RECIPIENT, &huge, INNER),
            Err(CryptoError::Malformed)
        );
    }
}
