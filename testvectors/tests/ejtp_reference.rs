//! Replays every vector in `vectors/ejtp_reference.json`, bytes the Python reference
//! implementation (EJTP-lib-python 0.9.7p1) produced, through proto-core's codecs.
//!
//! Each kind has its own test; `every_vector_has_a_known_kind` makes sure no vector is skipped
//! because nobody knows how to check it. The toy `rotate` encryptor lives here only: the
//! reference used it to make deterministic vectors, and it is not a cipher.

use ejtp_proto::frame::{self, Compression, Frame};
use ejtp_proto::stream::{StreamDecoder, encode_stream_frame};
use ejtp_proto::{Address, hex, json};
use serde_json::Value;
use sha2::{Digest, Sha256};

const VECTORS: &str = include_str!("../vectors/ejtp_reference.json");

/// Every kind this file checks; a vector of any other kind fails the run.
const KINDS: [&str; 7] = [
    "strict_json",
    "identity",
    "j_frame",
    "s_frame_rotate",
    "r_frame_rotate",
    "c_frame_zlib",
    "tcp_stream_wrap",
];

fn all_vectors() -> Vec<Value> {
    let file: Value = serde_json::from_str(VECTORS).expect("vector file is JSON");
    file["vectors"]
        .as_array()
        .expect("vector file has a vectors list")
        .clone()
}

/// The vectors of one kind; fails if there are none, so deleting them cannot pass silently.
fn vectors_of(kind: &str) -> Vec<Value> {
    let found: Vec<Value> = all_vectors()
        .into_iter()
        .filter(|vector| vector["kind"] == kind)
        .collect();
    assert!(!found.is_empty(), "no {kind} vectors in the file");
    found
}

fn hex_field(vector: &Value, field: &str) -> Vec<u8> {
    let text = vector[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {vector}"));
    hex::decode(text).unwrap_or_else(|err| panic!("{field} is not hex ({err}) in {vector}"))
}

fn address_field(vector: &Value, field: &str) -> Address {
    Address::from_value(&vector[field]).unwrap_or_else(|err| panic!("{field}: {err} in {vector}"))
}

/// The `n` of a `["rotate", n]` key prototype.
fn rotate_key(vector: &Value, field: &str) -> u8 {
    let prototype = &vector[field];
    assert_eq!(
        prototype[0], "rotate",
        "{field} is not a rotate key in {vector}"
    );
    let n = prototype[1]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} has no integer n in {vector}"));
    u8::try_from(n.rem_euclid(256)).expect("rem_euclid(256) fits a byte")
}

/// The toy encryptor: every byte plus `n` mod 256 (decrypt with `256 - n`).
fn rotate(data: &[u8], n: u8) -> Vec<u8> {
    data.iter().map(|byte| byte.wrapping_add(n)).collect()
}

/// The toy "signature": SHA-256 of the data, every byte rotated by `-n`.
fn rotate_sign(data: &[u8], n: u8) -> Vec<u8> {
    rotate(&Sha256::digest(data), n.wrapping_neg())
}

fn strict(value: &Value) -> String {
    json::to_strict_json(value).expect("vector values have strict JSON")
}

#[test]
fn every_vector_has_a_known_kind() {
    let vectors = all_vectors();
    assert!(!vectors.is_empty());
    for (index, vector) in vectors.iter().enumerate() {
        let kind = vector["kind"].as_str().unwrap_or_default();
        assert!(
            KINDS.contains(&kind),
            "vector {index} has unknown kind {kind:?}: teach this test to check it"
        );
    }
}

#[test]
fn strict_json_reproduces_the_reference_text_exactly() {
    for vector in vectors_of("strict_json") {
        let input = &vector["input"];
        let output = vector["output"].as_str().expect("output is text");
        assert_eq!(strict(input), output, "encoding {input}");
        assert_eq!(&json::parse_json(output.as_bytes()).unwrap(), input);
    }
}

#[test]
fn identity_objects_and_their_locations_re_encode_identically() {
    for vector in vectors_of("identity") {
        let object = &vector["json"];
        let text = strict(object);
        assert_eq!(&json::parse_json(text.as_bytes()).unwrap(), object);

        let location = &object["location"];
        let address = Address::from_value(location).expect("location is an address");
        assert_eq!(address.to_strict_json(), strict(location));
        let reparsed = Address::from_json_bytes(strict(location).as_bytes()).unwrap();
        assert_eq!(reparsed, address);
    }
}

#[test]
fn json_frames_match_the_reference_bytes() {
    for vector in vectors_of("j_frame") {
        let payload = &vector["payload"];
        let expected = hex_field(&vector, "frame_hex");
        assert_eq!(frame::encode_json(payload).unwrap(), expected);

        let decoded = frame::decode(&expected).unwrap();
        assert!(matches!(decoded, Frame::Json { .. }), "{decoded:?}");
        assert_eq!(decoded.json_value(), Some(Ok(payload.clone())));
    }
}

#[test]
fn signed_frames_match_the_reference_bytes_with_the_rotate_signature() {
    for vector in vectors_of("s_frame_rotate") {
        let signer = address_field(&vector, "signer");
        let n = rotate_key(&vector, "signer_encryptor");
        let inner = hex_field(&vector, "inner_hex");
        let expected = hex_field(&vector, "frame_hex");

        assert_eq!(
            Sha256::digest(&inner).to_vec(),
            hex_field(&vector, "sha256_inner_hex")
        );
        let signature = rotate_sign(&inner, n);
        assert_eq!(signature, hex_field(&vector, "signature_hex"));

        assert_eq!(
            frame::encode_signed(&signer, &signature, &inner).unwrap(),
            expected
        );
        let header = signer.to_strict_json();
        assert_eq!(
            frame::decode(&expected).unwrap(),
            Frame::Signed {
                sender: signer.clone(),
                header: header.as_bytes(),
                signature: &signature,
                inner: &inner,
            }
        );
    }
}

#[test]
fn sealed_frames_match_the_reference_bytes_with_the_rotate_encryptor() {
    for vector in vectors_of("r_frame_rotate") {
        let recipient = address_field(&vector, "recipient");
        let n = rotate_key(&vector, "recipient_encryptor");
        let inner = hex_field(&vector, "inner_hex");
        let expected = hex_field(&vector, "frame_hex");

        let ciphertext = rotate(&inner, n);
        assert_eq!(frame::encode_sealed(&recipient, &ciphertext), expected);
        assert!(expected.starts_with(&frame::sealed_prefix(&recipient)));

        let Frame::Sealed {
            recipient: decoded_recipient,
            header,
            body,
        } = frame::decode(&expected).unwrap()
        else {
            panic!("not a sealed frame: {vector}");
        };
        assert_eq!(decoded_recipient, recipient);
        assert_eq!(header, recipient.to_strict_json().as_bytes());
        assert_eq!(rotate(body, n.wrapping_neg()), inner);
    }
}

#[test]
fn compressed_reference_frames_decompress_and_ours_round_trip() {
    for vector in vectors_of("c_frame_zlib") {
        let inner = hex_field(&vector, "inner_hex");
        let reference = hex_field(&vector, "frame_hex");
        // zlib implementations may pick different matches: compare what comes out, not bytes.
        for encoded in [reference, frame::encode_compressed(&inner)] {
            let Frame::Compressed { method, body } = frame::decode(&encoded).unwrap() else {
                panic!("not a compressed frame: {vector}");
            };
            assert_eq!(method, Compression::Zlib);
            assert_eq!(frame::decompress(method, body, inner.len()).unwrap(), inner);
        }
    }
}

#[test]
fn tcp_stream_wrapping_matches_the_reference_and_decodes_back() {
    for vector in vectors_of("tcp_stream_wrap") {
        let frame_bytes = hex_field(&vector, "frame_hex");
        let wire = hex_field(&vector, "wire_hex");
        assert_eq!(encode_stream_frame(&frame_bytes), wire);

        // All at once, and one byte at a time.
        let mut whole = StreamDecoder::new(frame_bytes.len());
        assert_eq!(whole.push(&wire), wire.len());
        assert_eq!(whole.next_frame(), Ok(Some(frame_bytes.clone())));
        assert_eq!(whole.next_frame(), Ok(None));

        let mut bytewise = StreamDecoder::new(4096);
        let mut frames = Vec::new();
        for byte in &wire {
            bytewise
                .feed(std::slice::from_ref(byte), |frame| frames.push(frame))
                .unwrap();
        }
        assert_eq!(frames, std::slice::from_ref(&frame_bytes));

        // The wrapped frame is itself a reference frame our decoder reads.
        assert!(frame::decode(&frame_bytes).is_ok(), "{vector}");
    }
}
