//! The sender proof: what an `s` frame's "signature" field holds.
//!
//! Its first byte says the kind:
//!
//! ```text
//! Signed  = 0x01 || key (32) || timestamp u64 BE || nonce (16) || ed25519 signature (64)   (121 bytes)
//! Session = 0x02 || nonce (16)                                                             (17 bytes)
//! ```
//!
//! A signed proof is a [`SignatureBlob`] and authenticates the sender anywhere. A session proof
//! carries only the message nonce: it is accepted only directly inside a session frame, whose
//! Noise keys already authenticate the sender and whose counter window refuses replays, so a
//! signature would only cost time. Where it is accepted is the node's rule, not this decoder's.

use alloc::vec::Vec;

use crate::crypto::CryptoError;
use crate::crypto::signature::{SIGNATURE_VERSION, SignatureBlob};

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
    fn unknown_kinds_and_wrong_lengths_are_malformed() {
        assert_eq!(SenderProof::from_bytes(&[]), Err(CryptoError::Malformed));
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
