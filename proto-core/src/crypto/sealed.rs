//! Single sealed frames: HPKE (RFC 9180) base mode to the recipient's published key.
//!
//! Suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305; `info` is
//! [`HPKE_INFO`]. The recipient's X25519 key is the Montgomery form of its ed25519 key, so a
//! sender needs nothing but the peer's published identity. Base mode does not authenticate the
//! sender: that is the job of the `s` frame signed inside. Each seal draws a fresh ephemeral key
//! from the node's generator, so sealing is deterministic given the node seed.

use alloc::vec::Vec;

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};

use crate::crypto::CryptoError;
use crate::identity::{Identity, PublicKey};
use crate::rng::CoreRng;

/// HPKE's `info`: binds every sealed frame to this protocol and version.
pub const HPKE_INFO: &[u8] = b"ejtp-rs r-frame v1";

/// Bytes a sealed ciphertext adds to its plaintext (the AEAD tag).
pub const SEALED_OVERHEAD: usize = 16;

type Kem = X25519HkdfSha256;
type Kdf = HkdfSha256;
type Aead = ChaCha20Poly1305;

/// Seals `plaintext` to `recipient`, authenticating `aad` with it (for an `r` frame: the frame
/// up to and including the timestamp, see [`body`](crate::crypto::body)).
///
/// Returns HPKE's encapsulated key and the ciphertext (plaintext length plus
/// [`SEALED_OVERHEAD`]).
///
/// # Errors
/// [`CryptoError::BadKey`] if the recipient's X25519 key is unusable, [`CryptoError::SealFailed`]
/// if HPKE refuses (a plaintext beyond ChaCha20-Poly1305's limit).
pub fn seal(
    rng: &mut CoreRng,
    recipient: &PublicKey,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<([u8; 32], Vec<u8>), CryptoError> {
    let recipient = <Kem as hpke::Kem>::PublicKey::from_bytes(&recipient.to_x25519())
        .map_err(|_| CryptoError::BadKey)?;
    let (enc, ciphertext) = hpke::single_shot_seal_with_rng::<Aead, Kdf, Kem>(
        &OpModeS::Base,
        &recipient,
        HPKE_INFO,
        plaintext,
        aad,
        rng.as_rand_core(),
    )
    .map_err(|err| match err {
        hpke::HpkeError::EncapError => CryptoError::BadKey,
        _ => CryptoError::SealFailed,
    })?;
    Ok((enc.to_bytes().into(), ciphertext))
}

/// Opens a frame sealed to `identity`.
///
/// # Errors
/// [`CryptoError::OpenFailed`] if the ciphertext, `enc` or `aad` are not exactly what was sealed
/// to this identity (or `enc` is a degenerate key).
pub fn open(
    identity: &Identity,
    enc: &[u8; 32],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let secret = <Kem as hpke::Kem>::PrivateKey::from_bytes(&identity.x25519_secret())
        .map_err(|_| CryptoError::BadKey)?;
    let enc =
        <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).map_err(|_| CryptoError::Malformed)?;
    hpke::single_shot_open::<Aead, Kdf, Kem>(
        &OpModeR::Base,
        &secret,
        &enc,
        HPKE_INFO,
        ciphertext,
        aad,
    )
    .map_err(|_| CryptoError::OpenFailed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex;

    fn bob() -> Identity {
        Identity::from_secret_bytes(&[0xb0; 32])
    }

    #[test]
    fn sealed_frames_open_for_the_recipient() {
        let mut rng = CoreRng::from_seed([1; 32]);
        let (enc, ciphertext) = seal(&mut rng, &bob().public_key(), b"aad", b"hello bob").unwrap();
        assert_eq!(ciphertext.len(), 9 + SEALED_OVERHEAD);
        assert_eq!(
            open(&bob(), &enc, b"aad", &ciphertext).unwrap(),
            b"hello bob"
        );
    }

    #[test]
    fn sealing_is_pinned_by_the_seed() {
        // Fixed seed, fixed key, fixed inputs: these bytes may only change with the protocol
        // version (a change here breaks replayed scenario vectors).
        let mut rng = CoreRng::from_seed([42; 32]);
        let (enc, ciphertext) = seal(&mut rng, &bob().public_key(), b"r\0aad", b"pinned").unwrap();
        assert_eq!(hex::encode(&enc), PINNED_ENC);
        assert_eq!(hex::encode(&ciphertext), PINNED_CIPHERTEXT);
        let mut again = CoreRng::from_seed([42; 32]);
        assert_eq!(
            seal(&mut again, &bob().public_key(), b"r\0aad", b"pinned").unwrap(),
            (enc, ciphertext)
        );
    }

    const PINNED_ENC: &str = "f253d8fcffc6319a00519dafd67df48a85906b7d750e4aa0fe843e0a461c3526";
    const PINNED_CIPHERTEXT: &str = "16e4eca40ab630719d497c66268cccae38b1db27baac";

    #[test]
    fn tampering_with_aad_enc_or_ciphertext_fails() {
        let mut rng = CoreRng::from_seed([2; 32]);
        let (enc, ciphertext) = seal(&mut rng, &bob().public_key(), b"header", b"secret").unwrap();
        assert_eq!(
            open(&bob(), &enc, b"headex", &ciphertext),
            Err(CryptoError::OpenFailed)
        );
        let mut bad_enc = enc;
        bad_enc[5] ^= 0x10;
        assert_eq!(
            open(&bob(), &bad_enc, b"header", &ciphertext),
            Err(CryptoError::OpenFailed)
        );
        for index in 0..ciphertext.len() {
            let mut bad = ciphertext.clone();
            bad[index] ^= 0x01;
            assert_eq!(
                open(&bob(), &enc, b"header", &bad),
                Err(CryptoError::OpenFailed)
            );
        }
        assert_eq!(
            open(&bob(), &enc, b"header", &ciphertext[..ciphertext.len() - 1]),
            Err(CryptoError::OpenFailed)
        );
        assert_eq!(
            open(&bob(), &enc, b"header", &[]),
            Err(CryptoError::OpenFailed)
        );
    }

    #[test]
    fn only_the_recipient_can_open() {
        let mut rng = CoreRng::from_seed([3; 32]);
        let (enc, ciphertext) = seal(&mut rng, &bob().public_key(), b"", b"for bob").unwrap();
        let eve = Identity::from_secret_bytes(&[0xee; 32]);
        assert_eq!(
            open(&eve, &enc, b"", &ciphertext),
            Err(CryptoError::OpenFailed)
        );
    }

    #[test]
    fn degenerate_enc_is_refused() {
        // The all-zero X25519 point gives an all-zero shared secret, which HPKE must refuse.
        assert!(open(&bob(), &[0; 32], b"", &[0; 32]).is_err());
    }
}
