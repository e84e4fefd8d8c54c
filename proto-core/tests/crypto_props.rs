//! Property tests of identities, signatures, sealed frames, sessions and replay protection.
//!
//! Two kinds of property: decoders and openers given arbitrary bytes return a value or an error
//! and never panic; and the cryptography does what it claims for arbitrary inputs (round trips
//! succeed, any single flipped bit is caught, nothing is accepted twice).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ejtp_proto::crypto::CryptoError;
use ejtp_proto::crypto::body::RBody;
use ejtp_proto::crypto::handshake::{
    HANDSHAKE_INIT_LEN, HandshakeTime, InitiatorHandshake, respond,
};
use ejtp_proto::crypto::proof::SenderProof;
use ejtp_proto::crypto::sealed;
use ejtp_proto::crypto::session::{RekeyPolicy, Session};
use ejtp_proto::crypto::signature::{SIGNATURE_BLOB_LEN, SignatureBlob};
use ejtp_proto::identity::{Identity, IdentityFile, PublicIdentity};
use ejtp_proto::replay::{NonceMemory, REPLAY_WINDOW_BITS, ReplayError, ReplayWindow};
use ejtp_proto::{Address, CoreRng, Instant, UnixMillis};
use proptest::prelude::*;

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=max)
}

/// A connected pair of sessions from a real handshake between two seeded identities.
fn session_pair(seed: [u8; 32]) -> (Session, Session) {
    let mut rng = CoreRng::from_seed(seed);
    let alice = Identity::generate(&mut rng);
    let bob = Identity::generate(&mut rng);
    let (handshake, message1) =
        InitiatorHandshake::start(&mut rng, &alice, &bob.public_key(), HandshakeTime(1)).unwrap();
    let answered = respond(&mut rng, &bob, &message1).unwrap();
    let (message2, bob_keys) = (answered.message, answered.keys);
    (
        Session::new(handshake.finish(&message2).unwrap()),
        Session::new(bob_keys),
    )
}

fn flip(bytes: &mut [u8], bit: usize) {
    let index = bit / 8 % bytes.len();
    bytes[index] ^= 1 << (bit % 8);
}

/// Text that looks enough like an identity document to get past the JSON parser often.
fn identity_like_json() -> impl Strategy<Value = Vec<u8>> {
    let identity = Identity::from_secret_bytes(&[7; 32]);
    let file = IdentityFile {
        name: "n".to_string(),
        location: Address::local("c"),
        identity,
    };
    let text = file.to_strict_json().into_bytes();
    (bytes(8), any::<usize>(), 0..4usize).prop_map(move |(noise, at, cut)| {
        // Splice noise into a valid document at an arbitrary place, dropping a few bytes.
        let mut out = text.clone();
        let at = at % (out.len() + 1);
        let end = (at + cut).min(out.len());
        out.splice(at..end, noise);
        out
    })
}

proptest! {
    #[test]
    fn rbody_decode_never_panics(body in bytes(128)) {
        let _ = RBody::decode(&body);
    }

    #[test]
    fn rbody_decode_of_known_kinds_never_panics(kind in 1u8..=5, rest in bytes(120)) {
        let mut body = vec![kind];
        body.extend_from_slice(&rest);
        if let Ok(decoded) = RBody::decode(&body) {
            // Whatever decodes borrows from the body and does not read past it.
            let tail = match decoded {
                RBody::Sealed { ciphertext, .. } | RBody::Session { ciphertext, .. } => ciphertext,
                RBody::HandshakeInit { message, .. } | RBody::HandshakeResponse { message, .. } => message,
                RBody::SessionReset { signature, .. } => &signature[..],
                _ => &[][..],
            };
            prop_assert!(body.ends_with(tail));
        }
    }

    #[test]
    fn signature_blob_from_bytes_never_panics(blob in bytes(200)) {
        let _ = SignatureBlob::from_bytes(&blob);
    }

    #[test]
    fn signature_blob_with_the_right_version_and_length_never_panics(rest in prop::collection::vec(any::<u8>(), SIGNATURE_BLOB_LEN - 1)) {
        let mut blob = vec![1u8];
        blob.extend_from_slice(&rest);
        if let Ok(parsed) = SignatureBlob::from_bytes(&blob) {
            prop_assert_eq!(parsed.to_bytes().to_vec(), blob);
            prop_assert!(parsed.verify(b"r", b"s", b"inner").is_err());
        }
    }

    #[test]
    fn sender_proof_from_bytes_never_panics(kind in 0u8..4, rest in bytes(130)) {
        let mut proof = vec![kind];
        proof.extend_from_slice(&rest);
        if let Ok(parsed) = SenderProof::from_bytes(&proof) {
            prop_assert_eq!(parsed.to_bytes(), proof);
        }
    }

    #[test]
    fn public_identity_from_json_bytes_never_panics(text in bytes(256)) {
        let _ = PublicIdentity::from_json_bytes(&text);
    }

    #[test]
    fn identity_file_from_json_bytes_never_panics(text in bytes(256)) {
        let _ = IdentityFile::from_json_bytes(&text);
    }

    #[test]
    fn mutated_identity_documents_never_panic(text in identity_like_json()) {
        let _ = PublicIdentity::from_json_bytes(&text);
        let _ = IdentityFile::from_json_bytes(&text);
    }

    #[test]
    fn sealed_open_never_panics(enc in any::<[u8; 32]>(), aad in bytes(32), ciphertext in bytes(96)) {
        let identity = Identity::from_secret_bytes(&[1; 32]);
        prop_assert!(sealed::open(&identity, &enc, &aad, &ciphertext).is_err());
    }

    #[test]
    fn session_open_never_panics(counter in any::<u64>(), aad in bytes(32), ciphertext in bytes(96)) {
        let (_, mut bob) = session_pair([3; 32]);
        prop_assert!(bob.open(Instant::ZERO, counter, &aad, &ciphertext).is_err());
        prop_assert_eq!(bob.received(), 0);
    }

    #[test]
    fn handshake_messages_from_nowhere_never_panic(message in bytes(160), exact_len in any::<bool>()) {
        let mut message = message;
        if exact_len {
            message.resize(HANDSHAKE_INIT_LEN, 0);
        }
        let mut rng = CoreRng::from_seed([4; 32]);
        let bob = Identity::from_secret_bytes(&[0xb0; 32]);
        prop_assert!(respond(&mut rng, &bob, &message).is_err());
        let (handshake, _) = InitiatorHandshake::start(&mut rng, &bob, &Identity::from_secret_bytes(&[1; 32]).public_key(), HandshakeTime(1)).unwrap();
        prop_assert!(handshake.finish(&message).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn signatures_verify_for_exactly_what_was_signed(
        secret in any::<[u8; 32]>(),
        recipient in bytes(48),
        sender in bytes(48),
        timestamp in any::<u64>(),
        nonce in any::<[u8; 16]>(),
        inner in bytes(256),
        bit in any::<usize>(),
        part in 0..6usize,
    ) {
        let identity = Identity::from_secret_bytes(&secret);
        let blob = SignatureBlob::sign(&identity, &recipient, &sender, UnixMillis(timestamp), nonce, &inner).unwrap();
        prop_assert_eq!(blob.key, identity.public_key());
        prop_assert_eq!(SignatureBlob::from_bytes(&blob.to_bytes()), Ok(blob));
        prop_assert!(blob.verify(&recipient, &sender, &inner).is_ok());

        // Flip one bit of one signed part (or of the blob) and verification must fail.
        let (mut recipient, mut sender, mut inner, mut blob_bytes) = (recipient, sender, inner, blob.to_bytes());
        match part {
            0 if !recipient.is_empty() => flip(&mut recipient, bit),
            1 if !sender.is_empty() => flip(&mut sender, bit),
            2 if !inner.is_empty() => flip(&mut inner, bit),
            3 => flip(&mut blob_bytes[33..41], bit),
            4 => flip(&mut blob_bytes[41..57], bit),
            5 => flip(&mut blob_bytes[57..], bit),
            _ => inner.push(0),
        }
        let verified = SignatureBlob::from_bytes(&blob_bytes)
            .and_then(|blob| blob.verify(&recipient, &sender, &inner));
        prop_assert!(verified.is_err());
    }

    #[test]
    fn any_flipped_bit_of_the_blob_is_caught(secret in any::<[u8; 32]>(), bit in 0..SIGNATURE_BLOB_LEN * 8) {
        let identity = Identity::from_secret_bytes(&secret);
        let blob = SignatureBlob::sign(&identity, b"to", b"from", UnixMillis(1), [2; 16], b"inner").unwrap();
        let mut bytes = blob.to_bytes();
        flip(&mut bytes, bit);
        let verified = SignatureBlob::from_bytes(&bytes).and_then(|blob| blob.verify(b"to", b"from", b"inner"));
        prop_assert!(verified.is_err());
    }

    #[test]
    fn sealed_frames_round_trip_and_catch_any_flipped_bit(
        seed in any::<[u8; 32]>(),
        secret in any::<[u8; 32]>(),
        aad in bytes(64),
        plaintext in bytes(512),
        bit in any::<usize>(),
        part in 0..3usize,
    ) {
        let mut rng = CoreRng::from_seed(seed);
        let recipient = Identity::from_secret_bytes(&secret);
        let (enc, ciphertext) = sealed::seal(&mut rng, &recipient.public_key(), &aad, &plaintext).unwrap();
        prop_assert_eq!(sealed::open(&recipient, &enc, &aad, &ciphertext).unwrap(), plaintext);

        let (mut enc, mut aad, mut ciphertext) = (enc, aad, ciphertext);
        match part {
            0 => flip(&mut enc, bit),
            1 if !aad.is_empty() => flip(&mut aad, bit),
            _ => flip(&mut ciphertext, bit),
        }
        prop_assert!(sealed::open(&recipient, &enc, &aad, &ciphertext).is_err());
    }

    #[test]
    fn session_frames_round_trip_and_catch_any_flipped_bit(
        seed in any::<[u8; 32]>(),
        messages in prop::collection::vec((bytes(32), bytes(256)), 1..8),
        bit in any::<usize>(),
        flip_aad in any::<bool>(),
    ) {
        let (mut alice, mut bob) = session_pair(seed);
        let mut frames = Vec::new();
        for (aad, plaintext) in &messages {
            let counter = alice.next_send_counter(Instant::ZERO, 0).unwrap();
            let mut out = Vec::new();
            alice.seal(counter, aad, plaintext, &mut out).unwrap();
            frames.push((counter, aad.clone(), out));
        }
        // Deliver the last frame tampered first: it must fail and not burn its counter.
        let (counter, mut aad, mut ciphertext) = frames.last().cloned().unwrap();
        if flip_aad && !aad.is_empty() {
            flip(&mut aad, bit);
        } else {
            flip(&mut ciphertext, bit);
        }
        prop_assert!(bob.open(Instant::ZERO, counter, &aad, &ciphertext).is_err());
        // Then everything, newest first, exactly once.
        for ((counter, aad, ciphertext), (_, plaintext)) in frames.iter().zip(&messages).rev() {
            prop_assert_eq!(&bob.open(Instant::ZERO, *counter, aad, ciphertext).unwrap(), plaintext);
            prop_assert!(bob.open(Instant::ZERO, *counter, aad, ciphertext).is_err());
        }
        prop_assert_eq!(bob.received(), messages.len() as u64);
    }
}

/// Counters as a session might see them: a frontier that advances by small steps and now and
/// then a big jump, with arrivals from a little or far behind it (exactly at the window's edge
/// included) and duplicates.
fn counters() -> impl Strategy<Value = Vec<u64>> {
    let advance = prop_oneof![
        4 => 0u64..64,
        2 => 0u64..300,
        1 => 0u64..3_000,
        1 => Just(u64::MAX / 2),
    ];
    let behind = prop_oneof![
        3 => Just(0u64),
        3 => 0u64..70,
        2 => 0u64..1_100,
        1 => Just(REPLAY_WINDOW_BITS - 1),
        1 => Just(REPLAY_WINDOW_BITS),
    ];
    prop::collection::vec((advance, behind), 0..400).prop_map(|steps| {
        let mut frontier = 0u64;
        steps
            .into_iter()
            .map(|(advance, behind)| {
                frontier = frontier.saturating_add(advance);
                frontier.saturating_sub(behind)
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn replay_window_accepts_each_counter_at_most_once_and_exactly_when_it_should(counters in counters()) {
        let mut window = ReplayWindow::new();
        let mut seen = BTreeSet::new();
        let mut highest: Option<u64> = None;
        for counter in counters {
            let fresh = !seen.contains(&counter);
            let in_range = highest.is_none_or(|highest| counter > highest || highest - counter < REPLAY_WINDOW_BITS);
            let accepted = window.check(counter);
            prop_assert_eq!(accepted, fresh && in_range, "counter {}", counter);
            if accepted {
                window.mark(counter);
                seen.insert(counter);
                highest = highest.max(Some(counter));
                prop_assert!(!window.check(counter));
            }
        }
    }

    #[test]
    fn nonce_memory_stays_bounded_and_never_accepts_a_frame_twice(
        capacity in 1usize..12,
        window_ms in 1u64..5_000,
        frame_times in prop::collection::vec(0u64..20_000, 24),
        ops in prop::collection::vec((0usize..24, 0u64..20_000, any::<bool>()), 0..200),
    ) {
        // A replayed frame carries the same signed timestamp as the original, so each nonce is
        // tied to one timestamp; the clock moves arbitrarily, backwards included.
        let frames: BTreeMap<usize, ([u8; 16], UnixMillis)> = frame_times
            .iter()
            .enumerate()
            .map(|(index, time)| {
                let mut nonce = [0u8; 16];
                nonce[..8].copy_from_slice(&(index as u64).to_le_bytes());
                (index, (nonce, UnixMillis(*time)))
            })
            .collect();
        let mut memory = NonceMemory::new(capacity, Duration::from_millis(window_ms));
        let mut accepted = BTreeSet::new();
        for (frame, now, prune) in ops {
            let now = UnixMillis(now);
            if prune {
                memory.prune(now);
                if let Some(expiry) = memory.next_expiry() {
                    prop_assert!(expiry > now);
                }
            }
            let (nonce, timestamp) = frames[&frame];
            match memory.check_and_insert(nonce, timestamp, now) {
                Ok(()) => {
                    prop_assert!(accepted.insert(nonce), "frame {} accepted twice", frame);
                    prop_assert!(timestamp.abs_diff(now) <= Duration::from_millis(window_ms));
                }
                Err(ReplayError::Replay) => prop_assert!(accepted.contains(&nonce)),
                Err(_) => {}
            }
            prop_assert!(memory.len() <= capacity);
        }
    }
}

/// [`session_pair`] whose sides rotate their send keys as `policy` says.
fn rekeying_pair(seed: [u8; 32], policy: RekeyPolicy) -> (Session, Session) {
    let mut rng = CoreRng::from_seed(seed);
    let alice = Identity::generate(&mut rng);
    let bob = Identity::generate(&mut rng);
    let (handshake, message1) =
        InitiatorHandshake::start(&mut rng, &alice, &bob.public_key(), HandshakeTime(1)).unwrap();
    let answered = respond(&mut rng, &bob, &message1).unwrap();
    let alice_keys = handshake.finish(&answered.message).unwrap();
    (
        Session::with_rekeying(alice_keys, policy, Instant::ZERO),
        Session::with_rekeying(answered.keys, policy, Instant::ZERO),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A sender that rotates its key every `per_epoch` frames, over a path that loses frames
    /// (never more than three in a row), duplicates them and delays each by up to `per_epoch`
    /// places: every frame that arrives opens exactly once, across every rotation, and every
    /// duplicate is refused. Rotation loses nothing in flight.
    #[test]
    fn rekeying_loses_nothing_under_loss_duplication_and_reordering(
        seed in any::<[u8; 32]>(),
        per_epoch in 1u64..6,
        count in 1usize..60,
        lost in prop::collection::vec(any::<bool>(), 60),
        duplicated in prop::collection::vec(any::<bool>(), 60),
        delays in prop::collection::vec(0u64..6, 60),
        millis in prop::collection::vec(0u64..50, 60),
    ) {
        let policy = RekeyPolicy { max_frames: per_epoch, ..RekeyPolicy::NEVER };
        let (mut alice, mut bob) = rekeying_pair(seed, policy);
        let mut arrivals = Vec::new();
        let mut clock = 0;
        for n in 0..count {
            clock += millis[n];
            let plaintext = (n as u32).to_be_bytes();
            let now = Instant::from_millis(clock);
            let counter = alice.next_send_counter(now, plaintext.len()).unwrap();
            let mut frame = Vec::new();
            alice.seal(counter, b"ad", &plaintext, &mut frame).unwrap();
            // Every fourth frame arrives, so no more than three are lost in a row.
            if lost[n] && n % 4 != 3 {
                continue;
            }
            // Sorting by index + delay moves a frame at most `per_epoch` places.
            let key = n as u64 + delays[n] % (per_epoch + 1);
            arrivals.push((key, n, counter, frame.clone()));
            if duplicated[n] {
                arrivals.push((key + 1, n, counter, frame));
            }
        }
        prop_assert!(alice.send_epoch() >= (count as u64 - 1) / per_epoch);
        arrivals.sort_by_key(|(key, n, _, _)| (*key, *n));
        let mut opened = BTreeSet::new();
        for (_, n, counter, frame) in &arrivals {
            let now = Instant::from_millis(clock);
            match bob.open(now, *counter, b"ad", frame) {
                Ok(plaintext) => {
                    prop_assert_eq!(plaintext, (*n as u32).to_be_bytes());
                    prop_assert!(opened.insert(*n), "frame {} opened twice", n);
                }
                Err(err) => {
                    prop_assert!(opened.contains(n), "frame {} lost: {:?}", n, err);
                    prop_assert_eq!(err, CryptoError::Replay);
                }
            }
        }
        let sent: BTreeSet<usize> = arrivals.iter().map(|(_, n, _, _)| *n).collect();
        prop_assert_eq!(opened, sent);
    }
}
