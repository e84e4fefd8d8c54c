//! The one error type of the crypto layer.

use core::fmt;

/// Why a cryptographic operation failed.
///
/// Most variants mean "drop the frame": the node counts them and moves on. They say no more than
/// needed (an `OpenFailed` does not tell which byte was wrong).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    /// A public key is not a usable ed25519 or X25519 key.
    BadKey,
    /// A signature does not verify.
    BadSignature,
    /// Bytes do not have the expected layout (length, version or kind).
    Malformed,
    /// Encryption failed (a plaintext too long for the AEAD, or an unusable recipient key).
    SealFailed,
    /// A ciphertext does not authenticate under the key, nonce and associated data.
    OpenFailed,
    /// A Noise handshake message was refused, or the peer's identity does not match its key.
    HandshakeFailed,
    /// The session has used all its counters: a new handshake is needed.
    CounterExhausted,
    /// The counter was already received, or is too far behind the window to tell.
    Replay,
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadKey => "invalid public key",
            Self::BadSignature => "signature does not verify",
            Self::Malformed => "malformed cryptographic data",
            Self::SealFailed => "encryption failed",
            Self::OpenFailed => "decryption failed: ciphertext not authentic",
            Self::HandshakeFailed => "handshake failed",
            Self::CounterExhausted => "session counter exhausted",
            Self::Replay => "replayed or too old session counter",
        })
    }
}

impl core::error::Error for CryptoError {}
