//! The sender proof: what an `s` frame's "signature" field holds.
//!
//! Its first byte says the kind:
//!
//! ```text
//! Signed  = 0x01 || key (32) || timestamp u64 BE || nonce (16) || ed25519 signature (64)   (121 bytes)
//! Session = 0x02 || nonce (16)                                                             (17 bytes)
//! SignedReply  = 0x03 || key (32) || timestamp u64 BE || nonce (16) || reference (32)
//!                     || ed25519 signature (64)                                            (153 bytes)
//! SessionReply = 0x04 || nonce (16) || reference (32)                                      (49 bytes)
//! ```
//!
//! The reply kinds carry the [`reply_reference`] of the message they answer, so that the
//! receiver matches the reply to its query; otherwise they authenticate like 0x01 and 0x02.
//!
//! A signed proof is a [`SignatureBlob`] and authenticates the sender anywhere. A session proof
//! carries only the message nonce: it is accepted only directly inside a session frame, whose
//! Noise keys already authenticate the sender and whose counter window refuses replays, so a
//! signature would only cost time. Where it is accepted is the node's rule, not this decoder's.

use alloc::vec::Vec;

use sha2::{Digest, Sha256};

use crate::crypto::CryptoError;
use crate::crypto::signature::{REPLY_SIGNATURE_VERSION, SIGNATURE_VERSION, SignatureBlob};

/// Kind byte of a session reply proof.
pub const SESSION_REPLY_PROOF_KIND: u8 = 0x04;

/// Size of a session reply proof.
pub const SESSION_REPLY_PROOF_LEN: usize = 1 + 16 + 32;

/// Domain of the reply reference (a NUL follows it in the hashed bytes).
const REFERENCE_DOMAIN: &[u8] = b"ejtp-rs reply v1";

/// The reference a reply carries: `SHA-256("ejtp-rs reply v1" || 0x00 || nonce || j frame)`,
/// where `nonce` is the answered message's nonce and `j frame` the exact bytes of its `j`
/// frame.
#[must_use]
pub fn reply_reference(nonce: &[u8; 16], json_frame: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(REFERENCE_DOMAIN);
    hasher.update([0u8]);
    hasher.update(nonce);
    hasher.update(json_frame);
    hasher.finalize().into()
}

/// Kind byte of a session proof.
pub const SESSION_PROOF_KIND: u8 = 0x02;

/// Size of a session proof.
pub const SESSION_PROOF_LEN: usize = 1 + 16;

/// A decoded sender proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SenderProof {
    /// An ed25519 signature over the frame, its recipient, sender address, time and nonce.
    Signed(SignatureBlob),
    /// The message nonce only, for frames inside a Noise session.
    Session {
        /// The message nonce (the message id the application sees).
        nonce: [u8; 16],
    },
    /// A signed reply: like [`Signed`](Self::Signed), and the signature also covers the
    /// reference of the answered message.
    SignedReply {
        /// The signature blob (signed under the reply domain).
        blob: SignatureBlob,
        /// The answered message's [`reply_reference`].
        reference: [u8; 32],
    },
    /// A reply inside a Noise session: the nonce and the answered message's reference.
    SessionReply {
        /// The message nonce.
        nonce: [u8; 16],
        /// The answered message's [`reply_reference`].
        reference: [u8; 32],
    },
}

impl SenderProof {
    /// The proof's bytes, as they go in the `s` frame.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::Signed(blob) => blob.to_bytes().to_vec(),
            Self::Session { nonce } => {
                let mut out = Vec::with_capacity(SESSION_PROOF_LEN);
                out.push(SESSION_PROOF_KIND);
                out.extend_from_slice(nonce);
                out
            }
            Self::SignedReply { blob, reference } => blob.to_reply_bytes(reference).to_vec(),
            Self::SessionReply { nonce, reference } => {
                let mut out = Vec::with_capacity(SESSION_REPLY_PROOF_LEN);
                out.push(SESSION_REPLY_PROOF_KIND);
                out.extend_from_slice(nonce);
                out.extend_from_slice(reference);
                out
            }
        }
    }

    /// Reads a proof from an `s` frame's signature field.
    ///
    /// # Errors
    /// [`CryptoError::Malformed`] for an unknown kind or a wrong length;
    /// [`CryptoError::BadKey`] for a signed proof whose key is invalid.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        match bytes.split_first() {
            Some((&SIGNATURE_VERSION, _)) => SignatureBlob::from_bytes(bytes).map(Self::Signed),
            Some((&SESSION_PROOF_KIND, nonce)) => nonce
                .try_into()
                .map(|nonce| Self::Session { nonce })
                .map_err(|_| CryptoError::Malformed),
            Some((&REPLY_SIGNATURE_VERSION, _)) => SignatureBlob::from_reply_bytes(bytes)
                .map(|(blob, reference)| Self::SignedReply { blob, reference }),
            Some((&SESSION_REPLY_PROOF_KIND, rest)) => {
                let rest: &[u8; 48] = rest.try_into().map_err(|_| CryptoError::Malformed)?;
                let (nonce, reference) = rest.split_at(16);
                Ok(Self::SessionReply {
                    nonce: nonce.try_into().map_err(|_| CryptoError::Malformed)?,
                    reference: reference.try_into().map_err(|_| CryptoError::Malformed)?,
                })
            }
            _ => Err(CryptoError::Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;
    use crate::time::UnixMillis;

    #[test]
    fn both_kinds_round_trip() {
        let identity = Identity::from_secret_bytes(&[1; 32]);
        let blob =
            SignatureBlob::sign(&identity, b"to", b"from", UnixMillis(5), [6; 16], b"j{}").unwrap();
        let signed = SenderProof::Signed(blob);
        assert_eq!(signed.to_bytes().len(), 121);
        assert_eq!(SenderProof::from_bytes(&signed.to_bytes()), Ok(signed));
        let session = SenderProof::Session { nonce: [9; 16] };
        let bytes = session.to_bytes();
        assert_eq!(bytes.len(), SESSION_PROOF_LEN);
        assert_eq!(bytes[0], 0x02);
        assert_eq!(SenderProof::from_bytes(&bytes), Ok(session));
    }

    #[test]
    fn reply_kinds_round_trip() {
        let identity = Identity::from_secret_bytes(&[1; 32]);
        let reference = reply_reference(&[6; 16], b"j\0{}");
        let blob = SignatureBlob::sign_reply(
            &identity,
            b"to",
            b"from",
            UnixMillis(5),
            [6; 16],
            b"j{}",
            &reference,
        )
        .unwrap();
        let signed = SenderProof::SignedReply { blob, reference };
        let bytes = signed.to_bytes();
        assert_eq!(bytes.len(), 153);
        assert_eq!(bytes[0], 0x03);
        assert_eq!(SenderProof::from_bytes(&bytes), Ok(signed));
        let session = SenderProof::SessionReply {
            nonce: [9; 16],
            reference,
        };
        let bytes = session.to_bytes();
        assert_eq!(bytes.len(), SESSION_REPLY_PROOF_LEN);
        assert_eq!(bytes[0], 0x04);
        assert_eq!(&bytes[17..], &reference);
        assert_eq!(SenderProof::from_bytes(&bytes), Ok(session));
        assert_eq!(
            SenderProof::from_bytes(&bytes[..48]),
            Err(CryptoError::Malformed)
        );
    }

    #[test]
    fn the_reference_is_the_documented_hash() {
        let mut input = b"ejtp-rs reply v1\0".to_vec();
        input.extend_from_slice(&[3; 16]);
        input.extend_from_slice(b"j\0[1]");
        let expected: [u8; 32] = Sha256::digest(&input).into();
        assert_eq!(reply_reference(&[3; 16], b"j\0[1]"), expected);
        assert_ne!(reply_reference(&[4; 16], b"j\0[1]"), expected);
        assert_ne!(reply_reference(&[3; 16], b"j\0[2]"), expected);
    }

    #[test]
    fn unknown_kinds_and_wrong_lengths_are_malformed() {
        assert_eq!(SenderProof::from_bytes(&[]), Err(CryptoError::Malformed));
        assert_eq!(
            SenderProof::from_bytes(&[5; 17]),
            Err(CryptoError::Malformed)
        );
        assert_eq!(
            SenderProof::from_bytes(&[3; 17]),
            Err(CryptoError::Malformed)
        );
        assert_eq!(
            SenderProof::from_bytes(&[2; 16]),
            Err(CryptoError::Malformed)
        );
        assert_eq!(
            SenderProof::from_bytes(&[2; 18]),
            Err(CryptoError::Malformed)
        );
        assert_eq!(
            SenderProof::from_bytes(&[1; 120]),
            Err(CryptoError::Malformed)
        );
    }
}
