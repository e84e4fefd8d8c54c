//! Transport inside a Noise session: one ChaCha20-Poly1305 per frame, with keys that rotate.
//!
//! The keys come from the handshake's split; the nonce is Noise's (four zero bytes, then the
//! counter as u64 little-endian), with the counter carried in clear in the frame so frames may
//! arrive lost, duplicated or out of order. A [`ReplayWindow`] refuses any counter seen before.
//! The caller authenticates the frame's clear fields by passing them as associated data.
//!
//! # Rekeying
//!
//! The counter's high 32 bits are the key *epoch*: the key for a frame of epoch `e` is the
//! handshake's key passed `e` times through Noise's `REKEY()` (the first 32 bytes of
//! `ENCRYPT(k, 2^64 − 1, "", 32 zero bytes)`, Noise §11.3). A sender moves to the next epoch,
//! by jumping its counter to the epoch's first value, once a [`RekeyPolicy`] says so (frames,
//! bytes or age), and at the latest when an epoch's 2^32 counters are used. It forgets the old
//! key at once. A receiver follows when a frame of a later epoch authenticates, and keeps the
//! key and window of the epoch before that one for [`OLD_KEY_GRACE`], so frames still in
//! flight open.
//!
//! Nothing on the wire changes shape and no message is exchanged: each direction rotates on
//! its own. A key that leaks exposes its own epoch and later ones of that direction, never
//! earlier ones (the ratchet is one-way); a fresh handshake is what heals a leak.

use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use chacha20poly1305::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce, Tag};

use crate::crypto::CryptoError;
use crate::crypto::handshake::SessionKeys;
use crate::replay::ReplayWindow;
use crate::time::Instant;

/// Bytes a session ciphertext adds to its plaintext (the AEAD tag).
pub const SESSION_OVERHEAD: usize = 16;

/// Bits of the counter below the key epoch: an epoch has 2^32 counters.
pub const EPOCH_SHIFT: u32 = 32;

/// How long a receiver keeps the previous epoch's key after the first frame of a new epoch
/// opened: long enough for frames reordered or delayed on the path, short enough that an old
/// key does not linger.
pub const OLD_KEY_GRACE: Duration = Duration::from_secs(10);

/// How many epochs ahead of its own a receiver tries a frame's epoch (each try costs one key
/// derivation): a sender that rotated more often than that unheard has been gone longer than a
/// session lives idle.
pub const MAX_EPOCH_SKIP: u64 = 4;

/// When a sender moves to its next key epoch: after `max_frames` frames, `max_bytes` bytes of
/// plaintext or `max_age` in the epoch, whichever comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RekeyPolicy {
    /// Frames sealed in one epoch (at most 2^32, the epoch's counters).
    pub max_frames: u64,
    /// Plaintext bytes sealed in one epoch.
    pub max_bytes: u64,
    /// How long one epoch's key is used for sending.
    pub max_age: Duration,
}

impl RekeyPolicy {
    /// Rotate only when an epoch's counters run out.
    pub const NEVER: Self = Self {
        max_frames: 1 << EPOCH_SHIFT,
        max_bytes: u64::MAX,
        max_age: Duration::MAX,
    };
}

/// The key epoch a counter belongs to.
#[must_use]
pub const fn epoch_of(counter: u64) -> u64 {
    counter >> EPOCH_SHIFT
}

/// One receive epoch: its key and the counters seen in it.
struct ReceiveEpoch {
    epoch: u64,
    cipher: ChaCha20Poly1305,
    window: ReplayWindow,
}

/// An established session with one peer.
pub struct Session {
    policy: RekeyPolicy,
    send: ChaCha20Poly1305,
    send_epoch: u64,
    /// When the send epoch began, and what has been sealed in it.
    send_epoch_started: Instant,
    send_epoch_frames: u64,
    send_epoch_bytes: u64,
    next_send: u64,
    received: u64,
    receive: ReceiveEpoch,
    /// The epoch before `receive`, until the instant it is forgotten.
    previous: Option<(ReceiveEpoch, Instant)>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("sent", &self.next_send)
            .field("received", &self.received)
            .field("send_epoch", &self.send_epoch)
            .field("receive_epoch", &self.receive.epoch)
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

/// Noise's `REKEY(k)`: the next epoch's key, from the cipher holding this epoch's.
fn rekeyed(cipher: &ChaCha20Poly1305) -> ChaCha20Poly1305 {
    let mut key = [0u8; 32];
    // Encrypting 32 bytes cannot exceed the AEAD's length limit; the tag is not needed.
    let _ = cipher.encrypt_inout_detached(&nonce(u64::MAX), &[], key.as_mut_slice().into());
    let next = ChaCha20Poly1305::new(&Key::from(key));
    key = [0; 32];
    core::hint::black_box(&mut key);
    next
}

impl Session {
    /// A session using the keys of a completed handshake, rotating them only when an epoch's
    /// counters run out.
    #[must_use]
    pub fn new(keys: SessionKeys) -> Self {
        Self::with_rekeying(keys, RekeyPolicy::NEVER, Instant::ZERO)
    }

    /// A session using the keys of a completed handshake at `now`, rotating its send key as
    /// `policy` says.
    #[must_use]
    pub fn with_rekeying(keys: SessionKeys, policy: RekeyPolicy, now: Instant) -> Self {
        Self {
            policy,
            send: ChaCha20Poly1305::new(&Key::from(keys.send)),
            send_epoch: 0,
            send_epoch_started: now,
            send_epoch_frames: 0,
            send_epoch_bytes: 0,
            next_send: 0,
            received: 0,
            receive: ReceiveEpoch {
                epoch: 0,
                cipher: ChaCha20Poly1305::new(&Key::from(keys.receive)),
                window: ReplayWindow::new(),
            },
            previous: None,
        }
    }

    /// Reserves the next counter to send `len` plaintext bytes with at `now`, moving to the
    /// next key epoch first if the policy says it is due; each counter is handed out once.
    ///
    /// # Errors
    /// [`CryptoError::CounterExhausted`] once 2^64 − 1 counters are used (Noise reserves the
    /// last): the caller must handshake again.
    pub fn next_send_counter(&mut self, now: Instant, len: usize) -> Result<u64, CryptoError> {
        let len = u64::try_from(len).unwrap_or(u64::MAX);
        let due = self.send_epoch_frames >= self.policy.max_frames.clamp(1, 1 << EPOCH_SHIFT)
            || self.send_epoch_bytes.saturating_add(len) > self.policy.max_bytes
                && self.send_epoch_frames > 0
            || now.saturating_duration_since(self.send_epoch_started) >= self.policy.max_age;
        if due || epoch_of(self.next_send) != self.send_epoch {
            self.advance_send_epoch(now)?;
        }
        let counter = self.next_send;
        if counter == u64::MAX {
            return Err(CryptoError::CounterExhausted);
        }
        self.next_send = counter + 1;
        self.send_epoch_frames += 1;
        self.send_epoch_bytes = self.send_epoch_bytes.saturating_add(len);
        Ok(counter)
    }

    /// Moves the send side to the next epoch: the next key, the epoch's first counter.
    fn advance_send_epoch(&mut self, now: Instant) -> Result<(), CryptoError> {
        let epoch = self
            .send_epoch
            .checked_add(1)
            .filter(|epoch| *epoch <= epoch_of(u64::MAX))
            .ok_or(CryptoError::CounterExhausted)?;
        self.send = rekeyed(&self.send);
        self.send_epoch = epoch;
        self.next_send = epoch << EPOCH_SHIFT;
        self.send_epoch_started = now;
        self.send_epoch_frames = 0;
        self.send_epoch_bytes = 0;
        Ok(())
    }

    /// Encrypts `plaintext` under `counter` (from [`Self::next_send_counter`]) and appends the
    /// ciphertext and tag to `out`, encrypting in place there: `out` can already hold the
    /// frame's header, so the frame is built in one buffer with one copy of the payload.
    ///
    /// # Errors
    /// [`CryptoError::CounterExhausted`] for the reserved counter `u64::MAX`,
    /// [`CryptoError::SealFailed`] for a counter of another epoch than the current send key's,
    /// or a plaintext beyond the AEAD's limit (`out` is then left as it was).
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
        if epoch_of(counter) != self.send_epoch {
            return Err(CryptoError::SealFailed);
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

    /// Decrypts a frame received at `now` with `counter`.
    ///
    /// The replay window is consulted before any decryption (a replay costs no AEAD work) and
    /// updated only after the frame authenticates (a forged frame cannot burn a counter). A
    /// frame of a later epoch (at most [`MAX_EPOCH_SKIP`] ahead) is tried under that epoch's
    /// key, and if it opens the session moves to it; one of the previous epoch opens for
    /// [`OLD_KEY_GRACE`] after that.
    ///
    /// # Errors
    /// [`CryptoError::Replay`] for a counter already received, too old to tell, or of an epoch
    /// whose key is forgotten; [`CryptoError::Malformed`] for a ciphertext shorter than its tag,
    /// [`CryptoError::OpenFailed`] if it does not authenticate (or its epoch is too far ahead).
    pub fn open(
        &mut self,
        now: Instant,
        counter: u64,
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        if self
            .previous
            .as_ref()
            .is_some_and(|(_, forget_at)| now >= *forget_at)
        {
            self.previous = None;
        }
        if counter == u64::MAX {
            return Err(CryptoError::Replay);
        }
        let epoch = epoch_of(counter);
        let current = self.receive.epoch;
        if epoch > current {
            return self.open_in_new_epoch(now, counter, aad, ciphertext);
        }
        let receive = if epoch == current {
            &mut self.receive
        } else {
            match self.previous.as_mut() {
                Some((previous, _)) if previous.epoch == epoch => previous,
                _ => return Err(CryptoError::Replay),
            }
        };
        if !receive.window.check(counter) {
            return Err(CryptoError::Replay);
        }
        let plaintext = decrypt(&receive.cipher, counter, aad, ciphertext)?;
        receive.window.mark(counter);
        self.received += 1;
        Ok(plaintext)
    }

    /// Tries a frame of a later epoch under that epoch's key; moves there if it opens.
    fn open_in_new_epoch(
        &mut self,
        now: Instant,
        counter: u64,
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let epoch = epoch_of(counter);
        let steps = epoch - self.receive.epoch;
        if steps > MAX_EPOCH_SKIP {
            return Err(CryptoError::OpenFailed);
        }
        if ciphertext.len() < SESSION_OVERHEAD {
            return Err(CryptoError::Malformed);
        }
        // The key of the epoch just before the frame's is kept too: when epochs were skipped,
        // it is that epoch's frames, not the older ones, that are still in flight.
        let mut before = None;
        let mut cipher = rekeyed(&self.receive.cipher);
        for _ in 1..steps {
            let next = rekeyed(&cipher);
            before = Some(core::mem::replace(&mut cipher, next));
        }
        let plaintext = decrypt(&cipher, counter, aad, ciphertext)?;
        let mut window = ReplayWindow::new();
        window.mark(counter);
        let current = core::mem::replace(
            &mut self.receive,
            ReceiveEpoch {
                epoch,
                cipher,
                window,
            },
        );
        let previous = match before {
            Some(cipher) => ReceiveEpoch {
                epoch: epoch - 1,
                cipher,
                window: ReplayWindow::new(),
            },
            None => current,
        };
        self.previous = Some((previous, now.saturating_add(OLD_KEY_GRACE)));
        self.received += 1;
        Ok(plaintext)
    }

    /// How many counters have been reserved for sending, the epochs skipped included.
    #[must_use]
    pub fn sent(&self) -> u64 {
        self.next_send
    }

    /// How many frames have been received and authenticated.
    #[must_use]
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The key epoch frames are sealed in: how many times the send key has rotated.
    #[must_use]
    pub fn send_epoch(&self) -> u64 {
        self.send_epoch
    }

    /// The newest key epoch a frame has opened in.
    #[must_use]
    pub fn receive_epoch(&self) -> u64 {
        self.receive.epoch
    }

    /// Whether the previous receive epoch's key is still kept (within its grace).
    #[must_use]
    pub fn holds_previous_key(&self) -> bool {
        self.previous.is_some()
    }
}

/// Opens `ciphertext` (tag last) under `cipher` and `counter`'s nonce.
fn decrypt(
    cipher: &ChaCha20Poly1305,
    counter: u64,
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let tag_start = ciphertext
        .len()
        .checked_sub(SESSION_OVERHEAD)
        .ok_or(CryptoError::Malformed)?;
    let (body, tag) = ciphertext
        .split_at_checked(tag_start)
        .ok_or(CryptoError::Malformed)?;
    let tag = Tag::try_from(tag).map_err(|_| CryptoError::Malformed)?;
    let mut plaintext = body.to_vec();
    cipher
        .decrypt_inout_detached(&nonce(counter), aad, plaintext.as_mut_slice().into(), &tag)
        .map_err(|_| CryptoError::OpenFailed)?;
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const T0: Instant = Instant::ZERO;

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
        let counter = session.next_send_counter(T0, 0).unwrap();
        let mut out = Vec::new();
        session.seal(counter, aad, plaintext, &mut out).unwrap();
        (counter, out)
    }

    #[test]
    fn frames_open_on_the_other_side_in_any_order() {
        let (mut a, mut b) = pair();
        let first = sealed(&mut a, b"h1", b"one");
        let second = sealed(&mut a, b"h2", b"two");
        assert_eq!(b.open(T0, second.0, b"h2", &second.1).unwrap(), b"two");
        assert_eq!(b.open(T0, first.0, b"h1", &first.1).unwrap(), b"one");
        assert_eq!((a.sent(), b.received()), (2, 2));
        let back = sealed(&mut b, b"", b"back");
        assert_eq!(a.open(T0, back.0, b"", &back.1).unwrap(), b"back");
    }

    #[test]
    fn seal_appends_after_what_out_holds() {
        let (mut a, mut b) = pair();
        let counter = a.next_send_counter(T0, 0).unwrap();
        let mut out = b"header".to_vec();
        a.seal(counter, b"header", b"payload", &mut out).unwrap();
        assert_eq!(&out[..6], b"header");
        assert_eq!(out.len(), 6 + 7 + SESSION_OVERHEAD);
        assert_eq!(
            b.open(T0, counter, b"header", &out[6..]).unwrap(),
            b"payload"
        );
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
        assert!(b.open(T0, counter, b"", &frame).is_ok());
        assert_eq!(b.open(T0, counter, b"", &frame), Err(CryptoError::Replay));
        assert_eq!(b.received(), 1);
    }

    #[test]
    fn forgeries_do_not_burn_the_counter() {
        let (mut a, mut b) = pair();
        let (counter, frame) = sealed(&mut a, b"aad", b"real");
        let mut forged = frame.clone();
        forged[0] ^= 1;
        assert_eq!(
            b.open(T0, counter, b"aad", &forged),
            Err(CryptoError::OpenFailed)
        );
        assert_eq!(
            b.open(T0, counter, b"aax", &frame),
            Err(CryptoError::OpenFailed)
        );
        assert_eq!(
            b.open(T0, counter + 1, b"aad", &frame),
            Err(CryptoError::OpenFailed)
        );
        assert_eq!(b.open(T0, counter, b"aad", &frame).unwrap(), b"real");
    }

    #[test]
    fn short_ciphertexts_are_malformed() {
        let (_, mut b) = pair();
        assert_eq!(b.open(T0, 0, b"", &[0; 15]), Err(CryptoError::Malformed));
        assert_eq!(b.open(T0, 0, b"", &[0; 16]), Err(CryptoError::OpenFailed));
    }

    #[test]
    fn counters_are_handed_out_once_until_exhausted() {
        let (mut a, mut b) = pair();
        assert_eq!(a.next_send_counter(T0, 0), Ok(0));
        assert_eq!(a.next_send_counter(T0, 0), Ok(1));
        a.send_epoch = epoch_of(u64::MAX);
        a.next_send = u64::MAX - 1;
        assert_eq!(a.next_send_counter(T0, 0), Ok(u64::MAX - 1));
        assert_eq!(
            a.next_send_counter(T0, 0),
            Err(CryptoError::CounterExhausted)
        );
        assert_eq!(a.sent(), u64::MAX);
        let mut out = vec![9];
        assert_eq!(
            a.seal(u64::MAX, b"", b"x", &mut out),
            Err(CryptoError::CounterExhausted)
        );
        assert_eq!(out, [9]);
        assert_eq!(
            b.open(T0, u64::MAX, b"", &[0; 17]),
            Err(CryptoError::Replay)
        );
    }

    #[test]
    fn sessions_from_a_real_handshake_talk() {
        use crate::crypto::handshake::{HandshakeTime, InitiatorHandshake, respond};
        use crate::identity::Identity;
        use crate::rng::CoreRng;
        let alice = Identity::from_secret_bytes(&[0xa1; 32]);
        let bob = Identity::from_secret_bytes(&[0xb0; 32]);
        let mut rng = CoreRng::from_seed([9; 32]);
        let (handshake, message1) =
            InitiatorHandshake::start(&mut rng, &alice, &bob.public_key(), HandshakeTime(1))
                .unwrap();
        let answered = respond(&mut rng, &bob, &message1).unwrap();
        let (message2, bob_keys) = (answered.message, answered.keys);
        let mut a = Session::new(handshake.finish(&message2).unwrap());
        let mut b = Session::new(bob_keys);
        let (counter, frame) = sealed(&mut a, b"r", b"hi bob");
        assert_eq!(b.open(T0, counter, b"r", &frame).unwrap(), b"hi bob");
        let (counter, frame) = sealed(&mut b, b"r", b"hi alice");
        assert_eq!(a.open(T0, counter, b"r", &frame).unwrap(), b"hi alice");
    }

    fn at(seconds: u64) -> Instant {
        Instant::from_millis(seconds * 1000)
    }

    fn rekeying_pair(policy: RekeyPolicy) -> (Session, Session) {
        let keys = |send, receive| SessionKeys { send, receive };
        (
            Session::with_rekeying(keys([1; 32], [2; 32]), policy, T0),
            Session::with_rekeying(keys([2; 32], [1; 32]), policy, T0),
        )
    }

    fn seal_at(session: &mut Session, now: Instant, plaintext: &[u8]) -> (u64, Vec<u8>) {
        let counter = session.next_send_counter(now, plaintext.len()).unwrap();
        let mut out = Vec::new();
        session.seal(counter, b"ad", plaintext, &mut out).unwrap();
        (counter, out)
    }

    #[test]
    fn the_next_key_is_noise_rekey() {
        // REKEY(k) = the first 32 bytes of ENCRYPT(k, 2^64 - 1, "", 32 zero bytes).
        let cipher = ChaCha20Poly1305::new(&Key::from([7; 32]));
        let mut expected = [0u8; 32];
        let _ =
            cipher.encrypt_inout_detached(&nonce(u64::MAX), &[], expected.as_mut_slice().into());
        let next = ChaCha20Poly1305::new(&Key::from(expected));
        let mut by_rekey = b"x".to_vec();
        let mut by_hand = b"x".to_vec();
        let tag = rekeyed(&cipher)
            .encrypt_inout_detached(&nonce(0), b"", by_rekey.as_mut_slice().into())
            .unwrap();
        let tag2 = next
            .encrypt_inout_detached(&nonce(0), b"", by_hand.as_mut_slice().into())
            .unwrap();
        assert_eq!((by_rekey, tag), (by_hand, tag2));
    }

    #[test]
    fn the_sender_rotates_after_its_frame_budget_and_the_receiver_follows() {
        let policy = RekeyPolicy {
            max_frames: 3,
            ..RekeyPolicy::NEVER
        };
        let (mut a, mut b) = rekeying_pair(policy);
        let counters: Vec<u64> = (0..7)
            .map(|n| {
                let (counter, frame) = seal_at(&mut a, T0, &[n]);
                assert_eq!(b.open(T0, counter, b"ad", &frame).unwrap(), [n]);
                counter
            })
            .collect();
        let e1 = 1 << EPOCH_SHIFT;
        let e2 = 2 << EPOCH_SHIFT;
        assert_eq!(counters, [0, 1, 2, e1, e1 + 1, e1 + 2, e2]);
        assert_eq!((a.send_epoch(), b.receive_epoch()), (2, 2));
        // The other direction did not rotate.
        assert_eq!((b.send_epoch(), a.receive_epoch()), (0, 0));
    }

    #[test]
    fn the_sender_rotates_after_its_byte_budget_and_its_age() {
        let policy = RekeyPolicy {
            max_bytes: 100,
            max_age: Duration::from_secs(120),
            ..RekeyPolicy::NEVER
        };
        let (mut a, mut b) = rekeying_pair(policy);
        let (first, _) = seal_at(&mut a, T0, &[0; 60]);
        let (second, _) = seal_at(&mut a, T0, &[0; 40]);
        // 60 + 40 fits in 100; one more byte does not.
        let (third, frame) = seal_at(&mut a, T0, &[0; 1]);
        assert_eq!((first, second, third), (0, 1, 1 << EPOCH_SHIFT));
        // A frame larger than the whole budget still goes, alone in its epoch.
        let (fourth, _) = seal_at(&mut a, T0, &[0; 500]);
        let (fifth, _) = seal_at(&mut a, T0, &[0; 1]);
        assert_eq!((fourth, fifth), (2 << EPOCH_SHIFT, 3 << EPOCH_SHIFT));
        let (aged, _) = seal_at(&mut a, at(119), &[]);
        assert_eq!(aged, (3 << EPOCH_SHIFT) + 1);
        let (aged, _) = seal_at(&mut a, at(120), &[]);
        assert_eq!(aged, 4 << EPOCH_SHIFT);
        assert_eq!(b.open(T0, third, b"ad", &frame).unwrap(), [0]);
    }

    #[test]
    fn frames_of_the_previous_epoch_open_within_the_grace_only() {
        let policy = RekeyPolicy {
            max_frames: 2,
            ..RekeyPolicy::NEVER
        };
        let (mut a, mut b) = rekeying_pair(policy);
        let old: Vec<_> = (0..2).map(|n| seal_at(&mut a, T0, &[n])).collect();
        let new = seal_at(&mut a, T0, b"new");
        // The new epoch's frame arrives first; the old ones were delayed.
        assert_eq!(b.open(at(1), new.0, b"ad", &new.1).unwrap(), b"new");
        assert!(b.holds_previous_key());
        assert_eq!(b.open(at(2), old[0].0, b"ad", &old[0].1).unwrap(), [0]);
        assert_eq!(
            b.open(at(2), old[0].0, b"ad", &old[0].1),
            Err(CryptoError::Replay)
        );
        let grace_ends = at(1).saturating_add(OLD_KEY_GRACE);
        assert_eq!(
            b.open(grace_ends, old[1].0, b"ad", &old[1].1),
            Err(CryptoError::Replay)
        );
        assert!(!b.holds_previous_key());
        assert_eq!(b.received(), 2);
    }

    #[test]
    fn a_receiver_catches_up_over_skipped_epochs_but_not_too_many() {
        let policy = RekeyPolicy {
            max_frames: 1,
            ..RekeyPolicy::NEVER
        };
        let (mut a, mut b) = rekeying_pair(policy);
        let frames: Vec<_> = (0..=(2 * MAX_EPOCH_SKIP + 1) as u8)
            .map(|n| seal_at(&mut a, T0, &[n]))
            .collect();
        // Epochs 1..=MAX_EPOCH_SKIP lost: the next one still opens.
        let reachable = &frames[MAX_EPOCH_SKIP as usize];
        assert_eq!(epoch_of(reachable.0), MAX_EPOCH_SKIP);
        assert!(b.open(T0, reachable.0, b"ad", &reachable.1).is_ok());
        // One too far ahead of the receiver's epoch is refused without trying.
        let too_far = &frames[2 * MAX_EPOCH_SKIP as usize + 1];
        assert_eq!(
            b.open(T0, too_far.0, b"ad", &too_far.1),
            Err(CryptoError::OpenFailed)
        );
        assert_eq!(b.receive_epoch(), MAX_EPOCH_SKIP);
        // After the skip, the epoch just before is the one kept: its delayed frame opens.
        let delayed = &frames[MAX_EPOCH_SKIP as usize - 1];
        assert!(b.open(T0, delayed.0, b"ad", &delayed.1).is_ok());
        let older = &frames[0];
        assert_eq!(
            b.open(T0, older.0, b"ad", &older.1),
            Err(CryptoError::Replay)
        );
    }

    #[test]
    fn a_forged_frame_of_a_new_epoch_changes_nothing() {
        let (mut a, mut b) = rekeying_pair(RekeyPolicy {
            max_frames: 1,
            ..RekeyPolicy::NEVER
        });
        let (_, frame) = seal_at(&mut a, T0, b"real");
        let (next, frame2) = seal_at(&mut a, T0, b"next");
        let mut forged = frame2.clone();
        forged[0] ^= 1;
        assert_eq!(
            b.open(T0, next, b"ad", &forged),
            Err(CryptoError::OpenFailed)
        );
        assert_eq!(b.receive_epoch(), 0);
        assert!(!b.holds_previous_key());
        assert_eq!(b.open(T0, 0, b"ad", &frame).unwrap(), b"real");
        assert_eq!(b.open(T0, next, b"ad", &frame2).unwrap(), b"next");
    }

    #[test]
    fn an_epoch_runs_out_of_counters_into_the_next() {
        let (mut a, mut b) = pair();
        a.next_send = (1 << EPOCH_SHIFT) - 1;
        a.send_epoch_frames = 5;
        let (last, frame) = sealed(&mut a, b"", b"last of epoch 0");
        let (first, frame2) = sealed(&mut a, b"", b"first of epoch 1");
        assert_eq!((last, first), ((1 << EPOCH_SHIFT) - 1, 1 << EPOCH_SHIFT));
        assert_eq!(a.send_epoch(), 1);
        assert!(b.open(T0, last, b"", &frame).is_ok());
        assert!(b.open(T0, first, b"", &frame2).is_ok());
        assert_eq!(b.receive_epoch(), 1);
    }
}
