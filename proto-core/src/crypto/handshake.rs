//! The Noise IK handshake that opens a session (`Noise_IK_25519_ChaChaPoly_SHA256`, via snow).
//!
//! IK fits how peers meet here: the initiator already knows the responder's published key, so
//! the handshake is one round trip, and the initiator's identity is hidden from observers.
//! Static keys are the Montgomery forms of the two ed25519 identities. Message 1's payload is the
//! initiator's ed25519 key and a timestamp: the responder checks that the key maps to the static
//! key Noise authenticated, so it learns the peer's full identity (its
//! [`NodeId`](crate::identity::NodeId)) and not only an X25519 key. Message 2 carries no payload.
//!
//! Snow draws ephemeral keys from a generator forked from the node's [`CoreRng`], so handshakes
//! are a function of the node seed, like everything else in the core.
//!
//! IK gives message 1 no freshness of its own, so it could be replayed to the responder. The
//! timestamp in its payload is the defence, as WireGuard's TAI64N is: it is encrypted and
//! authenticated with the initiator's static key, each initiator makes it strictly increasing,
//! and the node refuses a message 1 whose timestamp is outside the clock-skew window or not newer
//! than the last one it took from that peer (`node/handshake_times.rs`). A replay therefore
//! never replaces a session. Even a fresh one yields a session no one else can use, so the node
//! only sends on a responder session after the initiator's first frame proves it holds the keys.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt;

use snow::params::{CipherChoice, DHChoice, HashChoice, NoiseParams};
use snow::resolvers::{CryptoResolver, DefaultResolver};
use snow::types::{Cipher, Dh, Hash, Random};
use snow::{Builder, HandshakeState};

use crate::crypto::CryptoError;
use crate::identity::{Identity, PublicKey};
use crate::rng::CoreRng;

/// The Noise protocol name.
pub const NOISE_PATTERN: &str = "Noise_IK_25519_ChaChaPoly_SHA256";

/// The Noise prologue: binds handshakes to this protocol and version. Version 2 added the
/// timestamp to message 1's payload.
pub const NOISE_PROLOGUE: &[u8] = b"ejtp-rs noise v2";

/// Length of message 1's payload: the initiator's ed25519 key (32) and its
/// [`HandshakeTime`] (8, big-endian).
const INIT_PAYLOAD_LEN: usize = 32 + 8;

/// Length of message 1: ephemeral key (32), encrypted static key (32 + 16), encrypted payload
/// (the 40-byte payload + 16).
pub const HANDSHAKE_INIT_LEN: usize = 32 + 48 + INIT_PAYLOAD_LEN + 16;

/// When an initiator started a handshake: Unix time in microseconds, made strictly increasing
/// by each initiator (see [`HandshakeTime::after`]), so that a responder can refuse a message 1
/// that is not newer than the last it took from the same peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HandshakeTime(pub u64);

impl HandshakeTime {
    /// The time to stamp a new handshake with: `wall` in microseconds, or one more than
    /// `previous` if the clock has not moved past it (two handshakes in the same millisecond, or
    /// a clock stepped back), so that the stamps of one initiator never repeat.
    #[must_use]
    pub fn after(previous: Self, wall: crate::time::UnixMillis) -> Self {
        Self(
            wall.0
                .saturating_mul(1000)
                .max(previous.0.saturating_add(1)),
        )
    }

    /// The wall-clock millisecond this time falls in.
    #[must_use]
    pub fn millis(self) -> crate::time::UnixMillis {
        crate::time::UnixMillis(self.0 / 1000)
    }
}

/// What answering a message 1 gives the responder.
pub struct Answered {
    /// The initiator's ed25519 key, checked against the static key Noise authenticated.
    pub initiator: PublicKey,
    /// The time the initiator stamped the handshake with (authenticated, not yet checked for
    /// freshness: that is the caller's, who knows the clock and the peer's last stamp).
    pub timestamp: HandshakeTime,
    /// Message 2, of [`HANDSHAKE_RESPONSE_LEN`] bytes.
    pub message: Vec<u8>,
    /// The session keys.
    pub keys: SessionKeys,
}

impl fmt::Debug for Answered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Answered")
            .field("initiator", &self.initiator)
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

/// Length of message 2: ephemeral key (32) and the tag of the empty payload (16).
pub const HANDSHAKE_RESPONSE_LEN: usize = 32 + 16;

/// The two transport keys a handshake produces, from this side's point of view.
///
/// They are wiped (best effort) when dropped.
pub struct SessionKeys {
    /// The key this side encrypts with.
    pub(super) send: [u8; 32],
    /// The key this side decrypts with.
    pub(super) receive: [u8; 32],
}

impl Drop for SessionKeys {
    fn drop(&mut self) {
        // Best effort without a zeroize dependency: `black_box` keeps the stores from being
        // optimised away as dead.
        self.send = [0; 32];
        self.receive = [0; 32];
        core::hint::black_box((&mut self.send, &mut self.receive));
    }
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKeys").finish_non_exhaustive()
    }
}

/// Snow's source of randomness: a generator forked from the node's.
struct NoiseRng(CoreRng);

impl Random for NoiseRng {
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), snow::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

/// Snow's default primitives, with the node's generator instead of the operating system's.
struct CoreResolver {
    /// Snow asks once per handshake; a second ask gets nothing rather than a repeated stream.
    rng: Cell<Option<CoreRng>>,
}

impl CryptoResolver for CoreResolver {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        let rng = self.rng.take()?;
        Some(Box::new(NoiseRng(rng)))
    }

    fn resolve_dh(&self, choice: &DHChoice) -> Option<Box<dyn Dh>> {
        DefaultResolver.resolve_dh(choice)
    }

    fn resolve_hash(&self, choice: &HashChoice) -> Option<Box<dyn Hash>> {
        DefaultResolver.resolve_hash(choice)
    }

    fn resolve_cipher(&self, choice: &CipherChoice) -> Option<Box<dyn Cipher>> {
        DefaultResolver.resolve_cipher(choice)
    }
}

fn failed(_: snow::Error) -> CryptoError {
    CryptoError::HandshakeFailed
}

fn builder<'a>(rng: &mut CoreRng, local_secret: &'a [u8; 32]) -> Result<Builder<'a>, CryptoError> {
    let params: NoiseParams = NOISE_PATTERN.parse().map_err(failed)?;
    let resolver = CoreResolver {
        rng: Cell::new(Some(rng.fork())),
    };
    Builder::with_resolver(params, Box::new(resolver))
        .local_private_key(local_secret)
        .and_then(|builder| builder.prologue(NOISE_PROLOGUE))
        .map_err(failed)
}

/// A handshake this node started, waiting for message 2.
pub struct InitiatorHandshake {
    state: HandshakeState,
    remote: PublicKey,
}

impl fmt::Debug for InitiatorHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InitiatorHandshake")
            .field("remote", &self.remote)
            .finish_non_exhaustive()
    }
}

impl InitiatorHandshake {
    /// Starts a handshake from `local` to `remote`, stamped with `timestamp`; returns it and
    /// message 1 (of [`HANDSHAKE_INIT_LEN`] bytes).
    ///
    /// # Errors
    /// [`CryptoError::HandshakeFailed`] if snow refuses the keys (not expected for valid ones).
    pub fn start(
        rng: &mut CoreRng,
        local: &Identity,
        remote: &PublicKey,
        timestamp: HandshakeTime,
    ) -> Result<(Self, Vec<u8>), CryptoError> {
        let local_secret = local.x25519_secret();
        let remote_static = remote.to_x25519();
        let mut state = builder(rng, &local_secret)?
            .remote_public_key(&remote_static)
            .and_then(Builder::build_initiator)
            .map_err(failed)?;
        let mut payload = [0u8; INIT_PAYLOAD_LEN];
        let (key, stamp) = payload.split_at_mut(32);
        key.copy_from_slice(local.public_key().as_bytes());
        stamp.copy_from_slice(&timestamp.0.to_be_bytes());
        let mut message = vec![0u8; HANDSHAKE_INIT_LEN];
        let len = state
            .write_message(&payload, &mut message)
            .map_err(failed)?;
        if len != HANDSHAKE_INIT_LEN {
            return Err(CryptoError::HandshakeFailed);
        }
        let handshake = Self {
            state,
            remote: *remote,
        };
        Ok((handshake, message))
    }

    /// The peer this handshake is with.
    #[must_use]
    pub fn remote(&self) -> &PublicKey {
        &self.remote
    }

    /// Completes the handshake with the responder's message 2.
    ///
    /// Consumes the handshake either way: a Noise state that has read a bad message cannot be
    /// reused, so on error the caller starts a new handshake (after its retry timeout).
    ///
    /// # Errors
    /// [`CryptoError::Malformed`] for a message of the wrong length,
    /// [`CryptoError::HandshakeFailed`] if it does not authenticate as the expected peer's.
    pub fn finish(mut self, message2: &[u8]) -> Result<SessionKeys, CryptoError> {
        if message2.len() != HANDSHAKE_RESPONSE_LEN {
            return Err(CryptoError::Malformed);
        }
        let mut payload = [0u8; HANDSHAKE_RESPONSE_LEN];
        let len = self
            .state
            .read_message(message2, &mut payload)
            .map_err(failed)?;
        if len != 0 || !self.state.is_handshake_finished() {
            return Err(CryptoError::HandshakeFailed);
        }
        let (initiator_to_responder, responder_to_initiator) =
            self.state.dangerously_get_raw_split();
        Ok(SessionKeys {
            send: initiator_to_responder,
            receive: responder_to_initiator,
        })
    }
}

/// Answers a handshake's message 1 addressed to `local`.
///
/// Returns the initiator's ed25519 key (checked against the static key Noise authenticated) and
/// timestamp, message 2 and the session keys.
///
/// # Errors
/// [`CryptoError::Malformed`] for a message of the wrong length, [`CryptoError::BadKey`] if the
/// payload is not a valid key, [`CryptoError::HandshakeFailed`] if the message does not
/// authenticate or the key does not match the initiator's static key.
pub fn respond(
    rng: &mut CoreRng,
    local: &Identity,
    message1: &[u8],
) -> Result<Answered, CryptoError> {
    if message1.len() != HANDSHAKE_INIT_LEN {
        return Err(CryptoError::Malformed);
    }
    let local_secret = local.x25519_secret();
    let mut state = builder(rng, &local_secret)?
        .build_responder()
        .map_err(failed)?;
    let mut payload = [0u8; HANDSHAKE_INIT_LEN];
    let len = state.read_message(message1, &mut payload).map_err(failed)?;
    if len != INIT_PAYLOAD_LEN {
        return Err(CryptoError::HandshakeFailed);
    }
    let (key, stamp) = payload.split_at(32);
    let key: &[u8; 32] = key.try_into().map_err(|_| CryptoError::HandshakeFailed)?;
    let stamp: [u8; 8] = stamp
        .get(..8)
        .and_then(|stamp| stamp.try_into().ok())
        .ok_or(CryptoError::HandshakeFailed)?;
    let initiator = PublicKey::from_bytes(key).map_err(|_| CryptoError::BadKey)?;
    if state.get_remote_static() != Some(initiator.to_x25519().as_slice()) {
        return Err(CryptoError::HandshakeFailed);
    }
    let mut message = vec![0u8; HANDSHAKE_RESPONSE_LEN];
    let len = state.write_message(&[], &mut message).map_err(failed)?;
    if len != HANDSHAKE_RESPONSE_LEN || !state.is_handshake_finished() {
        return Err(CryptoError::HandshakeFailed);
    }
    let (initiator_to_responder, responder_to_initiator) = state.dangerously_get_raw_split();
    let keys = SessionKeys {
        send: responder_to_initiator,
        receive: initiator_to_responder,
    };
    Ok(Answered {
        initiator,
        timestamp: HandshakeTime(u64::from_be_bytes(stamp)),
        message,
        keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    const STAMP: HandshakeTime = HandshakeTime(1_700_000_000_000_000);

    fn alice() -> Identity {
        Identity::from_secret_bytes(&[0xa1; 32])
    }

    fn bob() -> Identity {
        Identity::from_secret_bytes(&[0xb0; 32])
    }

    #[test]
    fn both_sides_derive_mirrored_keys() {
        let mut rng = CoreRng::from_seed([1; 32]);
        let (handshake, message1) =
            InitiatorHandshake::start(&mut rng, &alice(), &bob().public_key(), STAMP).unwrap();
        assert_eq!(message1.len(), HANDSHAKE_INIT_LEN);
        assert_eq!(handshake.remote(), &bob().public_key());
        let answered = respond(&mut rng, &bob(), &message1).unwrap();
        let (message2, bob_keys) = (answered.message, answered.keys);
        assert_eq!(answered.initiator, alice().public_key());
        assert_eq!(answered.timestamp, STAMP);
        assert_eq!(message2.len(), HANDSHAKE_RESPONSE_LEN);
        let alice_keys = handshake.finish(&message2).unwrap();
        assert_eq!(alice_keys.send, bob_keys.receive);
        assert_eq!(alice_keys.receive, bob_keys.send);
        assert_ne!(alice_keys.send, alice_keys.receive);
    }

    #[test]
    fn handshakes_are_a_function_of_the_seed() {
        let run = |seed| {
            let mut rng = CoreRng::from_seed(seed);
            let (handshake, message1) =
                InitiatorHandshake::start(&mut rng, &alice(), &bob().public_key(), STAMP).unwrap();
            let message2 = respond(&mut rng, &bob(), &message1).unwrap().message;
            let keys = handshake.finish(&message2).unwrap();
            (message1, message2, keys.send)
        };
        assert_eq!(run([7; 32]), run([7; 32]));
        assert_ne!(run([7; 32]).0, run([8; 32]).0);
    }

    #[test]
    fn message1_for_someone_else_is_refused() {
        let mut rng = CoreRng::from_seed([2; 32]);
        let (_, message1) =
            InitiatorHandshake::start(&mut rng, &alice(), &bob().public_key(), STAMP).unwrap();
        let eve = Identity::from_secret_bytes(&[0xee; 32]);
        assert_eq!(
            respond(&mut rng, &eve, &message1).unwrap_err(),
            CryptoError::HandshakeFailed
        );
    }

    #[test]
    fn tampered_or_truncated_messages_are_refused() {
        let mut rng = CoreRng::from_seed([3; 32]);
        let (_, message1) =
            InitiatorHandshake::start(&mut rng, &alice(), &bob().public_key(), STAMP).unwrap();
        for index in 0..message1.len() {
            let mut bad = message1.clone();
            bad[index] ^= 0x80;
            assert!(respond(&mut rng, &bob(), &bad).is_err(), "byte {index}");
        }
        assert_eq!(
            respond(&mut rng, &bob(), &message1[1..]).unwrap_err(),
            CryptoError::Malformed
        );

        let (handshake, message1) =
            InitiatorHandshake::start(&mut rng, &alice(), &bob().public_key(), STAMP).unwrap();
        let mut message2 = respond(&mut rng, &bob(), &message1).unwrap().message;
        message2[40] ^= 1;
        assert_eq!(
            handshake.finish(&message2).unwrap_err(),
            CryptoError::HandshakeFailed
        );
    }

    #[test]
    fn a_response_from_another_responder_is_refused() {
        let mut rng = CoreRng::from_seed([4; 32]);
        let eve = Identity::from_secret_bytes(&[0xee; 32]);
        let (handshake, _) =
            InitiatorHandshake::start(&mut rng, &alice(), &bob().public_key(), STAMP).unwrap();
        // Eve answers a handshake that was really meant for her, and replays her answer.
        let (_, to_eve) =
            InitiatorHandshake::start(&mut rng, &alice(), &eve.public_key(), STAMP).unwrap();
        let message2 = respond(&mut rng, &eve, &to_eve).unwrap().message;
        assert_eq!(
            handshake.finish(&message2).unwrap_err(),
            CryptoError::HandshakeFailed
        );
    }

    #[test]
    fn a_payload_key_not_matching_the_static_key_is_refused() {
        // A message 1 built by hand with Alice's static key but claiming Eve's ed25519 key.
        let mut rng = CoreRng::from_seed([5; 32]);
        let eve = Identity::from_secret_bytes(&[0xee; 32]);
        let alice_secret = alice().x25519_secret();
        let bob_static = bob().public_key().to_x25519();
        let mut state = builder(&mut rng, &alice_secret)
            .unwrap()
            .remote_public_key(&bob_static)
            .unwrap()
            .build_initiator()
            .unwrap();
        let mut message1 = vec![0u8; HANDSHAKE_INIT_LEN];
        let mut payload = eve.public_key().as_bytes().to_vec();
        payload.extend_from_slice(&STAMP.0.to_be_bytes());
        state.write_message(&payload, &mut message1).unwrap();
        assert_eq!(
            respond(&mut rng, &bob(), &message1).unwrap_err(),
            CryptoError::HandshakeFailed
        );
    }

    #[test]
    fn session_frames_are_noise_transport_messages() {
        // Run the same handshake through snow's own transport mode and check that our session
        // produces the bytes snow does (counter 0, empty associated data, as Noise sends).
        let mut rng = CoreRng::from_seed([8; 32]);
        let alice_secret = alice().x25519_secret();
        let bob_secret = bob().x25519_secret();
        let bob_static = bob().public_key().to_x25519();
        let mut initiator = builder(&mut rng, &alice_secret)
            .unwrap()
            .remote_public_key(&bob_static)
            .unwrap()
            .build_initiator()
            .unwrap();
        let mut responder = builder(&mut rng, &bob_secret)
            .unwrap()
            .build_responder()
            .unwrap();
        let mut message = vec![0u8; 256];
        let mut payload = vec![0u8; 256];
        let len = initiator
            .write_message(alice().public_key().as_bytes(), &mut message)
            .unwrap();
        responder
            .read_message(&message[..len], &mut payload)
            .unwrap();
        let len = responder.write_message(&[], &mut message).unwrap();
        initiator
            .read_message(&message[..len], &mut payload)
            .unwrap();
        let (i2r, r2i) = initiator.dangerously_get_raw_split();
        let mut ours = crate::crypto::session::Session::new(SessionKeys {
            send: i2r,
            receive: r2i,
        });
        let mut snow_initiator = initiator.into_transport_mode().unwrap();
        let mut snow_responder = responder.into_transport_mode().unwrap();

        let counter = ours
            .next_send_counter(crate::time::Instant::ZERO, 0)
            .unwrap();
        let mut frame = Vec::new();
        ours.seal(counter, &[], b"same bytes", &mut frame).unwrap();
        let len = snow_initiator
            .write_message(b"same bytes", &mut message)
            .unwrap();
        assert_eq!(frame, &message[..len]);

        let len = snow_responder
            .write_message(b"reply", &mut message)
            .unwrap();
        assert_eq!(
            ours.open(crate::time::Instant::ZERO, 0, &[], &message[..len])
                .unwrap(),
            b"reply"
        );
    }

    #[test]
    fn a_payload_without_the_timestamp_is_refused() {
        // A message 1 of the version 1 layout (the key alone) is 8 bytes shorter: refused by its
        // length, before any key work.
        let mut rng = CoreRng::from_seed([9; 32]);
        let alice_secret = alice().x25519_secret();
        let bob_static = bob().public_key().to_x25519();
        let mut state = builder(&mut rng, &alice_secret)
            .unwrap()
            .remote_public_key(&bob_static)
            .unwrap()
            .build_initiator()
            .unwrap();
        let mut message1 = vec![0u8; HANDSHAKE_INIT_LEN];
        let len = state
            .write_message(alice().public_key().as_bytes(), &mut message1)
            .unwrap();
        assert_eq!(
            respond(&mut rng, &bob(), &message1[..len]).unwrap_err(),
            CryptoError::Malformed
        );
    }

    #[test]
    fn stamps_of_one_initiator_always_increase() {
        let wall = crate::time::UnixMillis(5_000);
        let first = HandshakeTime::after(HandshakeTime::default(), wall);
        assert_eq!(first, HandshakeTime(5_000_000));
        let same_millisecond = HandshakeTime::after(first, wall);
        assert_eq!(same_millisecond, HandshakeTime(5_000_001));
        let clock_back = HandshakeTime::after(same_millisecond, crate::time::UnixMillis(1));
        assert_eq!(clock_back, HandshakeTime(5_000_002));
        assert_eq!(clock_back.millis(), wall);
        let later = HandshakeTime::after(clock_back, crate::time::UnixMillis(6_000));
        assert_eq!(later, HandshakeTime(6_000_000));
        assert_eq!(
            HandshakeTime::after(HandshakeTime(u64::MAX), wall),
            HandshakeTime(u64::MAX)
        );
    }

    #[test]
    fn the_resolver_hands_out_its_generator_once() {
        let resolver = CoreResolver {
            rng: Cell::new(Some(CoreRng::from_seed([0; 32]))),
        };
        assert!(resolver.resolve_rng().is_some());
        assert!(resolver.resolve_rng().is_none());
    }

    #[test]
    fn debug_hides_key_material() {
        let mut rng = CoreRng::from_seed([6; 32]);
        let (handshake, message1) =
            InitiatorHandshake::start(&mut rng, &alice(), &bob().public_key(), STAMP).unwrap();
        let keys = respond(&mut rng, &bob(), &message1).unwrap().keys;
        assert_eq!(alloc::format!("{keys:?}"), "SessionKeys { .. }");
        assert!(alloc::format!("{handshake:?}").contains(&bob().public_key().to_string()));
    }
}
