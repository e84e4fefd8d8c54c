//! Our own frame vectors: `vectors/frames.json` pins the bytes this implementation puts on the
//! wire (`docs/PROTOCOL.md`) for fixed test keys and fixed generator seeds: identities, `s`
//! frames with both sender proofs, HPKE-sealed `r` frames, a Noise IK handshake with the session
//! frames that follow it, and TCP stream wrapping.
//!
//! Each vector holds its inputs and the bytes our code made from them, and is checked both ways:
//! the vector rebuilt from its stored inputs must equal the stored vector field for field (so the
//! byte layouts, the constructions and their determinism are what they were), and the stored
//! bytes must decode, verify or open back to the stored inputs. A vector whose `kind` this file
//! does not know fails the run, and so does a kind with no vectors.
//!
//! The file is written by this test: after an intended change of the wire format, run
//! `EJTP_UPDATE_VECTORS=1 cargo test -p ejtp-testvectors --test frame_vectors` and review the diff.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use ejtp_proto::crypto::CryptoError;
use ejtp_proto::crypto::body::{self, RBody};
use ejtp_proto::crypto::handshake::{self, HandshakeTime, InitiatorHandshake};
use ejtp_proto::crypto::proof::SenderProof;
use ejtp_proto::crypto::sealed;
use ejtp_proto::crypto::session::Session;
use ejtp_proto::crypto::signature::SignatureBlob;
use ejtp_proto::frame::{self, Frame};
use ejtp_proto::stream::{StreamDecoder, encode_stream_frame};
use ejtp_proto::{
    Address, CoreRng, Identity, IdentityFile, Instant, PublicIdentity, PublicKey, UnixMillis, hex,
    json,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The `format` the file declares.
pub(crate) const FORMAT: &str = "ejtp-rs frame vectors v1";

/// Every kind this file checks; a vector of any other kind fails the run.
pub(crate) const KINDS: [&str; 6] = [
    "identity",
    "signed_frame",
    "session_proof_frame",
    "sealed_frame",
    "handshake_and_session",
    "stream_frame",
];

pub(crate) const UPDATE_VARIABLE: &str = "EJTP_UPDATE_VECTORS";

pub(crate) fn vector_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/frames.json")
}

/// The stored file. With `EJTP_UPDATE_VECTORS` set, it is first (once per run) rewritten from
/// what the code computes today.
pub(crate) fn stored_file() -> &'static Value {
    static STORED: OnceLock<Value> = OnceLock::new();
    STORED.get_or_init(|| {
        let path = vector_path();
        if std::env::var_os(UPDATE_VARIABLE).is_some() {
            let mut text = serde_json::to_string_pretty(&generated_file())
                .expect("the vectors serialise to JSON");
            text.push('\n');
            std::fs::write(&path, text)
                .unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|err| {
            panic!(
                "cannot read {} ({err}); write it with {UPDATE_VARIABLE}=1",
                path.display()
            )
        });
        serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("{} is not JSON: {err}", path.display()))
    })
}

pub(crate) fn stored_vectors() -> &'static [Value] {
    let file = stored_file();
    assert_eq!(
        file["format"], FORMAT,
        "vectors/frames.json declares another format"
    );
    file["vectors"]
        .as_array()
        .expect("vectors/frames.json has a vectors list")
}

/// The stored vectors of one kind; fails if there are none, so deleting them cannot pass
/// silently.
pub(crate) fn vectors_of(kind: &str) -> Vec<Fields<'static>> {
    let found: Vec<Fields<'static>> = stored_vectors()
        .iter()
        .enumerate()
        .filter(|(_, vector)| vector["kind"] == kind)
        .map(|(index, vector)| Fields::of_vector(index, vector))
        .collect();
    assert!(
        !found.is_empty(),
        "no {kind} vectors in vectors/frames.json"
    );
    found
}

mod build;
mod fields;
mod generate;

use build::*;
use fields::*;
use generate::*;

#[test]
fn every_vector_has_a_known_kind_and_a_description() {
    let vectors = stored_vectors();
    assert!(!vectors.is_empty(), "vectors/frames.json holds no vectors");
    for (index, vector) in vectors.iter().enumerate() {
        let kind = vector["kind"].as_str().unwrap_or_default();
        assert!(
            KINDS.contains(&kind),
            "vector {index} has unknown kind {kind:?}: teach this test to check it"
        );
        assert!(
            vector["description"]
                .as_str()
                .is_some_and(|text| !text.is_empty()),
            "vector {index} ({kind}) has no description"
        );
    }
}

#[test]
fn the_stored_file_is_exactly_what_the_code_generates() {
    let stored = stored_vectors();
    let generated = generated_vectors();
    for (index, (stored, generated)) in stored.iter().zip(&generated).enumerate() {
        assert_same(&Fields::of_vector(index, stored).name, stored, generated);
    }
    assert_eq!(
        stored.len(),
        generated.len(),
        "vectors/frames.json holds {} vectors, the code generates {}; re-record with \
         {UPDATE_VARIABLE}=1 if intended",
        stored.len(),
        generated.len()
    );
}

#[test]
fn identities_derive_the_stored_keys_and_documents_and_parse_back() {
    for vector in vectors_of("identity") {
        assert_rebuilds(&vector);
        let name = &vector.name;
        let secret: [u8; 32] = vector.array("secret_hex");
        let key = PublicKey::from_bytes(&vector.array("public_key_hex"))
            .unwrap_or_else(|err| panic!("{name}: the stored public key is invalid: {err}"));
        assert_eq!(
            Sha256::digest(key.as_bytes()).as_slice(),
            vector.bytes("node_id_hex"),
            "{name}: the node id is not the SHA-256 of the public key"
        );
        assert_eq!(
            key.to_x25519(),
            vector.array("x25519_public_hex"),
            "{name}: the X25519 key is not the public key's Montgomery form"
        );

        let public_text = vector.text("public_identity_json");
        let expected_document = json!({
            "encryptor": ["ed25519", vector.text("public_key_hex")],
            "location": vector.field("location"),
            "name": vector.text("name"),
        });
        assert_eq!(
            json::parse_json(public_text.as_bytes()).ok(),
            Some(expected_document.clone()),
            "{name}: the public identity is not the documented object"
        );
        let public = PublicIdentity::from_json_bytes(public_text.as_bytes())
            .unwrap_or_else(|err| panic!("{name}: the public identity does not parse: {err}"));
        assert_eq!(public.name, vector.text("name"), "{name}: name");
        assert_eq!(
            public.location,
            vector.address("location"),
            "{name}: location"
        );
        assert_eq!(public.key, key, "{name}: key");

        let file_text = vector.text("identity_file_json");
        let mut expected_file = expected_document;
        expected_file["secret"] = json!(vector.text("secret_hex"));
        assert_eq!(
            json::parse_json(file_text.as_bytes()).ok(),
            Some(expected_file),
            "{name}: the identity file is not the documented object"
        );
        let file = IdentityFile::from_json_bytes(file_text.as_bytes())
            .unwrap_or_else(|err| panic!("{name}: the identity file does not parse: {err}"));
        assert_eq!(file.identity.secret_bytes(), secret, "{name}: secret");
        assert_eq!(file.public(), public, "{name}: the file's public part");
    }
}

#[test]
fn signed_frames_reproduce_the_stored_bytes_and_verify() {
    for vector in vectors_of("signed_frame") {
        assert_rebuilds(&vector);
        let name = &vector.name;
        let bytes = vector.bytes("frame_hex");
        let recipient = vector.address("recipient");
        let sender = vector.address("sender");

        let Ok(Frame::Signed {
            sender: decoded_sender,
            header,
            signature,
            inner,
        }) = frame::decode(&bytes)
        else {
            panic!("{name}: the stored frame does not decode as an s frame");
        };
        assert_eq!(decoded_sender, sender, "{name}: sender");
        assert_eq!(header, sender.to_strict_json().as_bytes(), "{name}: header");
        assert_eq!(inner, vector.bytes("inner_hex"), "{name}: inner frame");
        assert_eq!(
            frame::decode(inner)
                .ok()
                .and_then(|inner| inner.json_value()),
            Some(Ok(vector.field("value").clone())),
            "{name}: the inner j frame does not give back the value"
        );

        let Ok(SenderProof::Signed(blob)) = SenderProof::from_bytes(signature) else {
            panic!("{name}: the proof does not decode as a signed proof");
        };
        assert_eq!(
            blob.key,
            vector.identity("signer_secret_hex").public_key(),
            "{name}: signer key"
        );
        assert_eq!(
            blob.timestamp,
            UnixMillis(vector.integer("timestamp")),
            "{name}: timestamp"
        );
        assert_eq!(blob.nonce, vector.array::<16>("nonce_hex"), "{name}: nonce");
        assert_eq!(
            blob.verify(recipient.to_strict_json().as_bytes(), header, inner),
            Ok(()),
            "{name}: the signature does not verify"
        );
        assert_eq!(
            blob.verify(header, header, inner),
            Err(CryptoError::BadSignature),
            "{name}: the signature verifies for another recipient"
        );
    }
}

#[test]
fn session_proof_frames_reproduce_the_stored_bytes_and_decode_back() {
    for vector in vectors_of("session_proof_frame") {
        assert_rebuilds(&vector);
        let name = &vector.name;
        let bytes = vector.bytes("frame_hex");
        let sender = vector.address("sender");

        let Ok(Frame::Signed {
            sender: decoded_sender,
            header,
            signature,
            inner,
        }) = frame::decode(&bytes)
        else {
            panic!("{name}: the stored frame does not decode as an s frame");
        };
        assert_eq!(decoded_sender, sender, "{name}: sender");
        assert_eq!(header, sender.to_strict_json().as_bytes(), "{name}: header");
        assert_eq!(
            SenderProof::from_bytes(signature),
            Ok(SenderProof::Session {
                nonce: vector.array("nonce_hex")
            }),
            "{name}: the proof is not the session proof of the nonce"
        );
        assert_eq!(
            frame::decode(inner)
                .ok()
                .and_then(|inner| inner.json_value()),
            Some(Ok(vector.field("value").clone())),
            "{name}: the inner j frame does not give back the value"
        );
    }
}

#[test]
fn sealed_frames_reproduce_the_stored_bytes_and_open_for_the_recipient() {
    for vector in vectors_of("sealed_frame") {
        assert_rebuilds(&vector);
        let name = &vector.name;
        let bytes = vector.bytes("frame_hex");
        let recipient = vector.address("recipient");

        let Ok(Frame::Sealed {
            recipient: decoded_recipient,
            header,
            body,
        }) = frame::decode(&bytes)
        else {
            panic!("{name}: the stored frame does not decode as an r frame");
        };
        assert_eq!(decoded_recipient, recipient, "{name}: recipient");
        assert_eq!(
            header,
            recipient.to_strict_json().as_bytes(),
            "{name}: header"
        );
        let Ok(RBody::Sealed {
            hops,
            timestamp,
            enc,
            ciphertext,
        }) = RBody::decode(body)
        else {
            panic!("{name}: the body does not decode as a sealed body");
        };
        assert_eq!(hops, vector.integer::<u8>("hops"), "{name}: hops");
        assert_eq!(
            timestamp,
            UnixMillis(vector.integer("timestamp")),
            "{name}: timestamp"
        );

        // Associated data: everything before `enc`.
        let aad_len = bytes.len() - ciphertext.len() - enc.len();
        let opened = sealed::open(
            &vector.identity("recipient_secret_hex"),
            enc,
            &bytes[..aad_len],
            ciphertext,
        );
        assert_eq!(
            opened,
            Ok(vector.bytes("inner_hex")),
            "{name}: the recipient does not open the inner frame"
        );
    }
}

#[test]
fn handshakes_and_session_frames_reproduce_the_stored_bytes_and_open_once() {
    for vector in vectors_of("handshake_and_session") {
        assert_rebuilds(&vector);
        let name = &vector.name;
        let initiator_index: u32 = vector.integer("initiator_index");
        let responder_index: u32 = vector.integer("responder_index");
        let message1 = vector.bytes("message1_hex");
        let message2 = vector.bytes("message2_hex");

        // The init frame, addressed to the responder's node address.
        let init = vector.bytes("init_frame_hex");
        let Ok(Frame::Sealed {
            recipient, body, ..
        }) = frame::decode(&init)
        else {
            panic!("{name}: the init frame does not decode as an r frame");
        };
        assert_eq!(
            recipient,
            vector.address("responder_address"),
            "{name}: init recipient"
        );
        assert_eq!(
            RBody::decode(body),
            Ok(RBody::HandshakeInit {
                sender_index: initiator_index,
                message: &message1,
            }),
            "{name}: the init body"
        );

        // The responder answers the stored message 1 with the stored message 2.
        let mut responder = Side::new(&vector, "responder");
        let timestamp = HandshakeTime(vector.integer("handshake_time_us"));
        let Responded {
            initiator: initiator_key,
            timestamp: stamped,
            message2: answer,
            session: mut responder_session,
            index,
        } = respond(name, &mut responder, &message1);
        assert_eq!(
            initiator_key,
            vector.identity("initiator_secret_hex").public_key(),
            "{name}: message 1 does not authenticate the initiator"
        );
        assert_eq!(stamped, timestamp, "{name}: message 1's timestamp");
        assert_eq!(answer, message2, "{name}: message 2");
        assert_eq!(index, responder_index, "{name}: responder index");

        // The response frame, addressed to the transport address the init came from.
        let response = vector.bytes("response_frame_hex");
        let Ok(Frame::Sealed {
            recipient, body, ..
        }) = frame::decode(&response)
        else {
            panic!("{name}: the response frame does not decode as an r frame");
        };
        assert_eq!(
            recipient,
            vector.address("initiator_address"),
            "{name}: response recipient"
        );
        assert_eq!(
            RBody::decode(body),
            Ok(RBody::HandshakeResponse {
                sender_index: responder_index,
                receiver_index: initiator_index,
                message: &message2,
            }),
            "{name}: the response body"
        );

        // The initiator finishes on the stored message 2.
        let mut initiator = Side::new(&vector, "initiator");
        let (index, handshake, first) = initiate(
            name,
            &mut initiator,
            &responder.identity.public_key(),
            timestamp,
        );
        assert_eq!(
            (index, first),
            (initiator_index, message1),
            "{name}: message 1"
        );
        let mut initiator_session = Session::new(
            handshake
                .finish(&message2)
                .unwrap_or_else(|err| panic!("{name}: the initiator refuses message 2: {err}")),
        );

        // Every session frame opens once, on the other side.
        for entry in vector.list("session_frames") {
            let name = &entry.name;
            let bytes = entry.bytes("frame_hex");
            let Ok(Frame::Sealed {
                recipient, body, ..
            }) = frame::decode(&bytes)
            else {
                panic!("{name}: the session frame does not decode as an r frame");
            };
            assert_eq!(recipient, entry.address("recipient"), "{name}: recipient");
            let Ok(RBody::Session {
                hops,
                receiver_index,
                counter,
                ciphertext,
            }) = RBody::decode(body)
            else {
                panic!("{name}: the body does not decode as a session body");
            };
            let (receiver, expected_index) = match entry.text("from") {
                "initiator" => (&mut responder_session, responder_index),
                "responder" => (&mut initiator_session, initiator_index),
                other => panic!("{name}: `from` is {other:?}, not initiator or responder"),
            };
            assert_eq!(hops, entry.integer::<u8>("hops"), "{name}: hops");
            assert_eq!(receiver_index, expected_index, "{name}: receiver index");
            assert_eq!(counter, entry.integer::<u64>("counter"), "{name}: counter");

            // Associated data: everything before the ciphertext.
            let aad = &bytes[..bytes.len() - ciphertext.len()];
            assert_eq!(
                receiver.open(Instant::ZERO, counter, aad, ciphertext),
                Ok(entry.bytes("plaintext_hex")),
                "{name}: the other side does not open the frame"
            );
            assert_eq!(
                receiver.open(Instant::ZERO, counter, aad, ciphertext),
                Err(CryptoError::Replay),
                "{name}: the same frame opens a second time"
            );
        }
    }
}

#[test]
fn stream_wrapping_reproduces_the_stored_bytes_and_decodes_back() {
    for vector in vectors_of("stream_frame") {
        assert_rebuilds(&vector);
        let name = &vector.name;
        let frame_bytes = vector.bytes("frame_hex");
        let wire = vector.bytes("wire_hex");

        let mut whole = StreamDecoder::new(frame_bytes.len());
        assert_eq!(
            whole.push(&wire),
            wire.len(),
            "{name}: the decoder takes the whole wire"
        );
        assert_eq!(
            whole.next_frame(),
            Ok(Some(frame_bytes.clone())),
            "{name}: whole"
        );
        assert_eq!(
            whole.next_frame(),
            Ok(None),
            "{name}: nothing after the frame"
        );

        let mut bytewise = StreamDecoder::new(frame_bytes.len());
        let mut frames = Vec::new();
        for byte in &wire {
            bytewise
                .feed(std::slice::from_ref(byte), |frame| frames.push(frame))
                .unwrap_or_else(|err| panic!("{name}: the stream decoder fails: {err}"));
        }
        assert_eq!(
            frames,
            std::slice::from_ref(&frame_bytes),
            "{name}: byte by byte"
        );

        assert!(
            matches!(frame::decode(&frame_bytes), Ok(Frame::Sealed { .. })),
            "{name}: the wrapped frame is not one of our r frames"
        );
    }
}
