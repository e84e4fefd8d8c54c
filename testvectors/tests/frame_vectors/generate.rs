//! The vectors written to the file: fixed test keys and seeds, nothing else.

use super::*;

pub(crate) const ALICE_SECRET: [u8; 32] = [0x11; 32];
pub(crate) const BOB_SECRET: [u8; 32] = [0x22; 32];
pub(crate) const CAROL_SECRET: [u8; 32] = [0x33; 32];
pub(crate) const RELAY_SECRET: [u8; 32] = [0x44; 32];
pub(crate) const WALL: u64 = 1_700_000_000_000;

pub(crate) fn generated_file() -> Value {
    json!({ "format": FORMAT, "vectors": generated_vectors() })
}

pub(crate) fn generated_vectors() -> Vec<Value> {
    let alice_node = json!(["udp4", ["127.0.0.1", 9001]]);
    let alice = json!(["udp4", ["127.0.0.1", 9001], "alice"]);
    let bob_node = json!(["udp4", ["127.0.0.1", 9002]]);
    let bob = json!(["udp4", ["127.0.0.1", 9002], "bob"]);
    let bob_tcp6 = json!(["tcp", ["::1", 9002], "bob"]);
    let alice_tcp6 = json!(["tcp", ["::1", 9001], "alice"]);
    let relay_node = json!(["udp4", ["127.0.0.1", 9004]]);

    let mut vectors: Vec<Value> = Vec::new();
    let mut add = |spec: Value| -> Value {
        let vector = build(&Fields::of_vector(vectors.len(), &spec));
        vectors.push(vector.clone());
        vector
    };

    add(json!({
        "kind": "identity",
        "description": "alice: a UDP client address",
        "secret_hex": hex::encode(&ALICE_SECRET),
        "name": "alice@example.org",
        "location": alice,
    }));
    add(json!({
        "kind": "identity",
        "description": "bob: a TCP over IPv6 client address",
        "secret_hex": hex::encode(&BOB_SECRET),
        "name": "bob@example.org",
        "location": bob_tcp6,
    }));
    add(json!({
        "kind": "identity",
        "description": "carol: a local address and a name that needs \\u escapes",
        "secret_hex": hex::encode(&CAROL_SECRET),
        "name": "Carol Ünïcode ☃ 𝄞",
        "location": ["local", null, "carol"],
    }));

    let signed = add(json!({
        "kind": "signed_frame",
        "description": "alice to bob over UDP",
        "signer_secret_hex": hex::encode(&ALICE_SECRET),
        "recipient": bob,
        "sender": alice,
        "timestamp": WALL,
        "nonce_hex": hex::encode(&[0x5e; 16]),
        "value": {"text": "hello bob", "n": 1},
    }));
    add(json!({
        "kind": "signed_frame",
        "description": "bob to alice over TCP/IPv6, a nested value with non-ASCII text",
        "signer_secret_hex": hex::encode(&BOB_SECRET),
        "recipient": alice_tcp6,
        "sender": bob_tcp6,
        "timestamp": WALL + 123_456,
        "nonce_hex": hex::encode(&core::array::from_fn::<u8, 16, _>(|i| i as u8)),
        "value": {"reply": ["héllo", -7, u64::MAX, true, null, {}], "to": "alice"},
    }));

    add(json!({
        "kind": "session_proof_frame",
        "description": "alice to bob, as sent inside a session",
        "sender": alice,
        "nonce_hex": hex::encode(&[0x61; 16]),
        "value": {"text": "on the session now", "n": 2},
    }));
    add(json!({
        "kind": "session_proof_frame",
        "description": "an empty object from a local client",
        "sender": ["local", null, "carol"],
        "nonce_hex": hex::encode(&[0xff; 16]),
        "value": {},
    }));

    let sealed = add(json!({
        "kind": "sealed_frame",
        "description": "R(bob)[S(alice)[J]]: the signed frame above sealed to bob",
        "recipient_secret_hex": hex::encode(&BOB_SECRET),
        "recipient": bob,
        "rng_seed_hex": hex::encode(&[0x5a; 32]),
        "hops": 0,
        "timestamp": WALL,
        "inner_hex": signed["frame_hex"],
    }));
    add(json!({
        "kind": "sealed_frame",
        "description": "the sealed frame above wrapped once more for a relay, one hop on",
        "recipient_secret_hex": hex::encode(&RELAY_SECRET),
        "recipient": relay_node,
        "rng_seed_hex": hex::encode(&[0x5b; 32]),
        "hops": 1,
        "timestamp": WALL + 1,
        "inner_hex": sealed["frame_hex"],
    }));

    let session_plaintext = |sender: &Value, nonce: u8, value: Value| {
        let sender = Address::from_value(sender).expect("fixed addresses are valid");
        session_proof_frame("session plaintext", &sender, [nonce; 16], &value)["frame_hex"].clone()
    };
    let session_frame = |from: &str, recipient: &Value, counter: u64, plaintext: Value| {
        json!({
            "from": from,
            "recipient": recipient,
            "hops": 0,
            "counter": counter,
            "plaintext_hex": plaintext,
        })
    };
    let handshake = add(json!({
        "kind": "handshake_and_session",
        "description": "alice starts a Noise IK handshake with bob; then both send on the session",
        "initiator_secret_hex": hex::encode(&ALICE_SECRET),
        "initiator_rng_seed_hex": hex::encode(&[0xa1; 32]),
        "initiator_address": alice_node,
        "responder_secret_hex": hex::encode(&BOB_SECRET),
        "responder_rng_seed_hex": hex::encode(&[0xb2; 32]),
        "responder_address": bob_node,
        "handshake_time_us": 1_700_000_000_000_000_u64,
        "session_frames": [
            session_frame("initiator", &bob, 0,
                session_plaintext(&alice, 0x71, json!({"n": 1, "text": "first on the session"}))),
            session_frame("initiator", &bob, 1,
                session_plaintext(&alice, 0x72, json!({"n": 2}))),
            session_frame("responder", &alice, 0,
                session_plaintext(&bob, 0x81, json!({"text": "hello alice"}))),
            session_frame("initiator", &bob, 2,
                session_plaintext(&alice, 0x73, json!([1, 2, 3]))),
            session_frame("responder", &alice, 1,
                session_plaintext(&bob, 0x82, json!(null))),
        ],
    }));

    add(json!({
        "kind": "stream_frame",
        "description": "the sealed frame R(bob)[S(alice)[J]] on a TCP stream",
        "frame_hex": sealed["frame_hex"],
    }));
    add(json!({
        "kind": "stream_frame",
        "description": "the handshake init frame on a TCP stream",
        "frame_hex": handshake["init_frame_hex"],
    }));

    vectors
}
