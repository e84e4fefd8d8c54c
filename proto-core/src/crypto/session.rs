//! Transport inside a Noise session: one ChaCha20-Poly1305 per frame.
//!
//! The keys come from the handshake's split; the nonce is Noise's (four zero bytes, then the
//! counter as u64 little-endian), with the counter carried in clear in the frame so frames may
//! arrive lost, duplicated or out of order. A [`ReplayWindow`] refuses any counter seen before.
//! The caller authenticates the frame's clear fields by passing them as associated data.

use alloc::vec::Vec;
use core::fmt;

use chacha20poly1305::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce, Tag};

use crate::crypto::CryptoError;
use crate::crypto::handshake::SessionKeys;
use crate::replay::ReplayWindow;

/// Bytes a session ciphertext adds to its plaintext (the AEAD tag).
pub const SESSION_OVERHEAD: usize = 16;

/// An established session with one peer.
pub struct Session {
    send: ChaCha20Poly1305,
    receive: ChaCha20Poly1305,
    next_send: u64,
    received: u64,
    window: ReplayWindow,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("sent", &self.next_send)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

/// Noise's ChaChaPoly nonce for `counter`.
fn nonce(counter: u64) -> Nonce {
    let mut nonce = [0u8; 12];
    for (byte, counter_byte) in nonce.iter_mut().skip(4).zip(counter.to_le_bytes()) {
        *byte = counter_byte;
    }
    Nonce::from(nonce)
}

impl Session {
    /// A session using the keys of a completed handshake.
    #[must_use]
    pub fn new(keys: SessionKeys) -> Self {
        Self {
            send: ChaCha20Poly1305::new(&Key::from(keys.send)),
            receive: ChaCha20Poly1305::new(&Key::from(keys.receive)),
            next_send: 0,
            received: 0,
            window: ReplayWindow::new(),
        }
    }

    /// Reserves the next counter to send with; each is handed out once.
    ///
    /// # Errors
    /// [`CryptoError::CounterExhausted`] once 2^64 − 1 counters are used (Noise reserves the
    /// last): the caller must handshake again.
    pub fn next_send_counter(&mut self) -> Result<u64, CryptoError> {
        let counter = self.next_send;
        if counter == u64::MAX {
            return Err(CryptoError::CounterExhausted);
        }
        self.next_send = counter + 1;
        Ok(counter)
    }

    /// Encrypts `plaintext` under `counter` (from [`Self::next_send_counter`]) and appends the
    /// ciphertext and tag to `out`, encrypting in place there: `out` can already hold the
    /// frame's header, so the frame is built in one buffer with one copy of the payload.
    ///
    /// # Errors
    /// [`CryptoError::CounterExhausted`] for the reserved counter `u64::MAX`,
    /// [`CryptoError::SealFailed`] for a plaintext beyond the AEAD's limit (`out` is then left
    /// as it was).
    pub fn seal(
        &self,
        counter: u64,
        aad: &[u8],
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), CryptoError> {
        if counter == u64::MAX {
            return Err(CryptoError::CounterExhausted);
        }
        let start = out.len();
        out.reserve(plaintext.len() + SESSION_OVERHEAD);
        out.extend_from_slice(plaintext);
        let tag = match out.get_mut(start..) {
            Some(buffer) => self
                .send
                .encrypt_inout_detached(&nonce(counter), aad, buffer.into())
                .map_err(|_| CryptoError::SealFailed),
            None => Err(CryptoError::SealFailed),
        };
        match tag {
            Ok(tag) => {
                out.extend_from_slice(&tag);
                Ok(())
            }
            Err(err) => {
                out.truncate(start);
                Err(err)
            }
        }
    }

    /// Decrypts a frame received with `counter`.
    ///
    /// The replay window is consulted before any decryption (a replay costs no AEAD work) and
    /// updated only after the frame authenticates (a forged frame cannot burn a counter).
    ///
    /// # Errors
    /// [`CryptoError::Replay`] for a counter already received or too old to tell,
    /// [`CryptoError::Malformed`] for a ciphertext shorter than its tag,
    /// [`CryptoError::OpenFailed`] if it does not authenticate.
    pub fn open(
        &mut self,
        counter: u64,
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        if counter == u64::MAX || !self.window.check(counter) {
            return Err(CryptoError::Replay);
        }
        let tag_start = ciphertext
            .len()
            .checked_sub(SESSION_OVERHEAD)
            .ok_or(CryptoError::Malformed)?;
        let (body, tag) = ciphertext
            .split_at_checked(tag_start)
            .ok_or(CryptoError::Malformed)?;
        let tag = Tag::try_from(tag).map_err(|_| CryptoError::Malformed)?;
        let mut plaintext = body.to_vec();
        self.receive
            .decrypt_inout_detached(&nonce(counter), aad, plaintext.as_mut_slice().into(), &tag)
            .map_err(|_| CryptoError::OpenFailed)?;
        self.window.mark(counter);
        self.received += 1;
        Ok(plaintext)
    }

    /// How many counters have been reserved for sending.
    #[must_use]
    pub fn sent(&self) -> u64 {
        self.next_send
    }

    /// How many frames have been received and authenticated.
    #[must_use]
    pub fn received(&self) -> u64 {
        self.received
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn pair() -> (Session, Session) {
        let a = SessionKeys {
            send: [1; 32],
            receive: [2; 32],
        };
        let b = SessionKeys {
            send: [2; 32],
            receive: [1; 32],
        };
        (Session::new(a), Session::new(b))
    }

    fn sealed(session: &mut Session, aad: &[u8], plaintext: &[u8]) -> (u64, Vec<u8>) {
        let counter = session.next_send_counter().unwrap();
        let mut out = Vec::new();
        session.seal(counter, aad, plaintext, &mut out).unwrap();
        (counter, out)
    }

    #[test]
    fn frames_open_on_the_other_side_in_any_order() {
        let (mut a, mut b) = pair();
        let first = sealed(&mut a, b"h1", b"one");
        let second = sealed(&mut a, b"h2", b"two");
        assert_eq!(b.open(second.0, b"h2", &second.1).unwrap(), b"two");
        assert_eq!(b.open(first.0, b"h1", &first.1).unwrap(), b"one");
        assert_eq!((a.sent(), b.received()), (2, 2));
        let back = sealed(&mut b, b"", b"back");
        assert_eq!(a.open(back.0, b"", &back.1).unwrap(), b"back");
    }

    #[test]
    fn seal_appends_after_what_out_holds() {
        let (mut a, mut b) = pair();
        let counter = a.next_send_counter().unwrap();
        let mut out = b"header".to_vec();
        a.seal(counter, b"header", b"payload", &mut out).unwrap();
        assert_eq!(&out[..6], b"header");
        assert_eq!(out.len(), 6 + 7 + SESSION_OVERHEAD);
        assert_eq!(b.open(counter, b"header", &out[6..]).unwrap(), b"payload");
    }

    #[test]
    fn ciphertext_is_chacha20poly1305_under_the_noise_nonce() {
        assert_eq!(
            nonce(0x0102_0304_0506_0708).as_slice(),
            &[0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1]
        );
        let (a, _) = pair();
        let mut out = Vec::new();
        a.seal(5, b"ad", b"text", &mut out).unwrap();
        let cipher = ChaCha20Poly1305::new(&Key::from([1; 32]));
        let mut expected = b"text".to_vec();
        let tag = cipher
            .encrypt_inout_detached(&nonce(5), b"ad", expected.as_mut_slice().into())
            .unwrap();
        expected.extend_from_slice(&tag);
        assert_eq!(out, expected);
    }

    #[test]
    fn replays_are_refused_before_decryption() {
        let (mut a, mut b) = pair();
        let (counter, frame) = sealed(&mut a, b"", b"once");
        assert!(b.open(counter, b"", &frame).is_ok());
        assert_eq!(b.open(counter, b"", &frame), Err(CryptoError::Replay));
        assert_eq!(b.received(), 1);
    }

    #[test]
    fn forgeries_do_not_burn_the_counter() {
        let (mut a, mut b) = pair();
        let (counter, frame) = sealed(&mut a, b"aad", b"real");
        let mut forged = frame.clone();
        forged[0] ^= 1;
        assert_eq!(
            b.open(counter, b"aad", &forged),
            Err(CryptoError::OpenFailed)
        );
        assert_eq!(
            b.open(counter, b"aax", &frame),
            Err(CryptoError::OpenFailed)
        );
        assert_eq!(
            b.open(counter + 1, b"aad", &frame),
            Err(CryptoError::OpenFailed)
        );
        assert_eq!(b.open(counter, b"aad", &frame).unwrap(), b"real");
    }

    #[test]
    fn short_ciphertexts_are_malformed() {
        let (_, mut b) = pair();
        assert_eq!(b.open(0, b"", &[0; 15]), Err(CryptoError::Malformed));
        assert_eq!(b.open(0, b"", &[0; 16]), Err(CryptoError::OpenFailed));
    }

    #[test]
    fn counters_are_handed_out_once_until_exhausted() {
        let (mut a, mut b) = pair();
        assert_eq!(a.next_send_counter(), Ok(0));
        assert_eq!(a.next_send_counter(), Ok(1));
        a.next_send = u64::MAX - 1;
        assert_eq!(a.next_send_counter(), Ok(u64::MAX - 1));
        assert_eq!(a.next_send_counter(), Err(CryptoError::CounterExhausted));
        assert_eq!(a.sent(), u64::MAX);
        let mut out = vec![9];
        assert_eq!(
            a.seal(u64::MAX, b"", b"x", &mut out),
            Err(CryptoError::CounterExhausted)
        );
        assert_eq!(out, [9]);
        assert_eq!(b.open(u64::MAX, b"", &[0; 17]), Err(CryptoError::Replay));
    }

    #[test]
    fn sessions_from_a_real_handshake_talk() {
        use crate::crypto::handshake::{InitiatorHandshake, respond};
        use crate::identity::Identity;
        use crate::rng::CoreRng;
        let alice = Identity::from_secret_bytes(&[0xa1; 32]);
        let bob = Identity::from_secret_bytes(&[0xb0; 32]);
        let mut rng = CoreRng::from_seed([9; 32]);
        let (handshake, message1) =
            InitiatorHandshake::start(&mut rng, &alice, &bob.public_key()).unwrap();
        let (_, message2, bob_keys) = respond(&mut rng, &bob, &message1).unwrap();
        let mut a = Session::new(handshake.finish(&message2).unwrap());
        let mut b = Session::new(bob_keys);
        let (counter, frame) = sealed(&mut a, b"r", b"hi bob");
        assert_eq!(b.open(counter, b"r", &frame).unwrap(), b"hi bob");
        let (counter, frame) = sealed(&mut b, b"r", b"hi alice");
        assert_eq!(a.open(counter, b"r", &frame).unwrap(), b"hi alice");
    }
}
