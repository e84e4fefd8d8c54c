//! Building vectors from their inputs: what the node does, step by step.

use super::*;

/// The complete vector (inputs as given, outputs as the code computes them) for `inputs`.
pub(crate) fn build(inputs: &Fields<'_>) -> Value {
    let mut vector = match inputs.text("kind") {
        "identity" => build_identity(inputs),
        "signed_frame" => build_signed_frame(inputs),
        "session_proof_frame" => build_session_proof_frame(inputs),
        "sealed_frame" => build_sealed_frame(inputs),
        "handshake_and_session" => build_handshake_and_session(inputs),
        "stream_frame" => build_stream_frame(inputs),
        other => panic!(
            "{}: unknown kind {other:?}: teach this test to check it",
            inputs.name
        ),
    };
    vector["kind"] = inputs.field("kind").clone();
    vector["description"] = inputs.field("description").clone();
    vector
}

pub(crate) fn build_identity(inputs: &Fields<'_>) -> Value {
    let secret: [u8; 32] = inputs.array("secret_hex");
    let name = inputs.text("name");
    let location = inputs.address("location");
    let identity = Identity::from_secret_bytes(&secret);
    let key = identity.public_key();
    let public = PublicIdentity {
        name: name.to_owned(),
        location: location.clone(),
        key,
    };
    let file = IdentityFile {
        name: name.to_owned(),
        location: location.clone(),
        identity,
    };
    json!({
        "secret_hex": hex::encode(&secret),
        "name": name,
        "location": location.to_value(),
        "public_key_hex": hex::encode(key.as_bytes()),
        "node_id_hex": hex::encode(key.node_id().as_bytes()),
        "x25519_public_hex": hex::encode(&key.to_x25519()),
        "public_identity_json": public.to_strict_json(),
        "identity_file_json": file.to_strict_json(),
    })
}

pub(crate) fn build_signed_frame(inputs: &Fields<'_>) -> Value {
    let signer: [u8; 32] = inputs.array("signer_secret_hex");
    let recipient = inputs.address("recipient");
    let sender = inputs.address("sender");
    let timestamp: u64 = inputs.integer("timestamp");
    let nonce: [u8; 16] = inputs.array("nonce_hex");
    let value = inputs.field("value");

    let inner = frame::encode_json(value)
        .unwrap_or_else(|err| panic!("{}: value has no j frame: {err}", inputs.name));
    let blob = SignatureBlob::sign(
        &Identity::from_secret_bytes(&signer),
        recipient.to_strict_json().as_bytes(),
        sender.to_strict_json().as_bytes(),
        UnixMillis(timestamp),
        nonce,
        &inner,
    )
    .unwrap_or_else(|err| panic!("{}: signing failed: {err}", inputs.name));
    let proof = blob.to_bytes();
    let frame = frame::encode_signed(&sender, &proof, &inner)
        .unwrap_or_else(|err| panic!("{}: encode_signed failed: {err}", inputs.name));
    json!({
        "signer_secret_hex": hex::encode(&signer),
        "recipient": recipient.to_value(),
        "sender": sender.to_value(),
        "timestamp": timestamp,
        "nonce_hex": hex::encode(&nonce),
        "value": value,
        "inner_hex": hex::encode(&inner),
        "proof_hex": hex::encode(&proof),
        "frame_hex": hex::encode(&frame),
    })
}

/// `S(sender)[J(value)]` with a session proof, as `seal_in_session` builds its plaintext.
pub(crate) fn session_proof_frame(
    name: &str,
    sender: &Address,
    nonce: [u8; 16],
    value: &Value,
) -> Value {
    let inner = frame::encode_json(value)
        .unwrap_or_else(|err| panic!("{name}: value has no j frame: {err}"));
    let proof = SenderProof::Session { nonce }.to_bytes();
    let frame = frame::encode_signed(sender, &proof, &inner)
        .unwrap_or_else(|err| panic!("{name}: encode_signed failed: {err}"));
    json!({
        "sender": sender.to_value(),
        "nonce_hex": hex::encode(&nonce),
        "value": value,
        "inner_hex": hex::encode(&inner),
        "proof_hex": hex::encode(&proof),
        "frame_hex": hex::encode(&frame),
    })
}

pub(crate) fn build_session_proof_frame(inputs: &Fields<'_>) -> Value {
    session_proof_frame(
        &inputs.name,
        &inputs.address("sender"),
        inputs.array("nonce_hex"),
        inputs.field("value"),
    )
}

pub(crate) fn build_sealed_frame(inputs: &Fields<'_>) -> Value {
    let recipient_secret: [u8; 32] = inputs.array("recipient_secret_hex");
    let recipient = inputs.address("recipient");
    let seed: [u8; 32] = inputs.array("rng_seed_hex");
    let hops: u8 = inputs.integer("hops");
    let timestamp: u64 = inputs.integer("timestamp");
    let inner = inputs.bytes("inner_hex");

    // As the node's `seal_layer`: prefix, the associated part of the body, then HPKE.
    let key = Identity::from_secret_bytes(&recipient_secret).public_key();
    let mut frame = frame::sealed_prefix(&recipient);
    let aad_len = body::write_sealed_aad_part(&mut frame, hops, UnixMillis(timestamp));
    let mut rng = CoreRng::from_seed(seed);
    let (enc, ciphertext) = sealed::seal(&mut rng, &key, &frame[..aad_len], &inner)
        .unwrap_or_else(|err| panic!("{}: sealing failed: {err}", inputs.name));
    frame.extend_from_slice(&enc);
    frame.extend_from_slice(&ciphertext);
    json!({
        "recipient_secret_hex": hex::encode(&recipient_secret),
        "recipient": recipient.to_value(),
        "rng_seed_hex": hex::encode(&seed),
        "hops": hops,
        "timestamp": timestamp,
        "inner_hex": hex::encode(&inner),
        "frame_hex": hex::encode(&frame),
    })
}

/// A session index as the node draws one: the next non-zero `u32` from its generator.
pub(crate) fn draw_index(rng: &mut CoreRng) -> u32 {
    std::iter::repeat_with(|| rng.next_u32())
        .find(|&index| index != 0)
        .expect("the generator yields a non-zero u32")
}

/// One side of a handshake as the node runs it, from the side's fixed secret and seed.
pub(crate) struct Side {
    pub(crate) identity: Identity,
    pub(crate) rng: CoreRng,
}

impl Side {
    pub(crate) fn new(inputs: &Fields<'_>, role: &str) -> Self {
        Self {
            identity: inputs.identity(&format!("{role}_secret_hex")),
            rng: CoreRng::from_seed(inputs.array(&format!("{role}_rng_seed_hex"))),
        }
    }
}

/// The initiator draws its index and starts the handshake (the node's `start_handshake`).
pub(crate) fn initiate(
    name: &str,
    initiator: &mut Side,
    responder: &PublicKey,
    timestamp: HandshakeTime,
) -> (u32, InitiatorHandshake, Vec<u8>) {
    let index = draw_index(&mut initiator.rng);
    let (handshake, message1) = InitiatorHandshake::start(
        &mut initiator.rng,
        &initiator.identity,
        responder,
        timestamp,
    )
    .unwrap_or_else(|err| panic!("{name}: the handshake does not start: {err}"));
    (index, handshake, message1)
}

/// The responder answers, then draws its index (the node's `on_handshake_init`).
pub(crate) fn respond(name: &str, responder: &mut Side, message1: &[u8]) -> Responded {
    let handshake::Answered {
        initiator,
        timestamp,
        message,
        keys,
    } = handshake::respond(&mut responder.rng, &responder.identity, message1)
        .unwrap_or_else(|err| panic!("{name}: the responder refuses message 1: {err}"));
    let index = draw_index(&mut responder.rng);
    Responded {
        initiator,
        timestamp,
        message2: message,
        session: Session::new(keys),
        index,
    }
}

/// The responder's side after answering message 1.
pub(crate) struct Responded {
    pub(crate) initiator: PublicKey,
    pub(crate) timestamp: HandshakeTime,
    pub(crate) message2: Vec<u8>,
    pub(crate) session: Session,
    pub(crate) index: u32,
}

pub(crate) fn build_handshake_and_session(inputs: &Fields<'_>) -> Value {
    let name = &inputs.name;
    let initiator_address = inputs.address("initiator_address");
    let responder_address = inputs.address("responder_address");
    let mut initiator = Side::new(inputs, "initiator");
    let mut responder = Side::new(inputs, "responder");

    let timestamp = HandshakeTime(inputs.integer("handshake_time_us"));
    let (initiator_index, handshake, message1) = initiate(
        name,
        &mut initiator,
        &responder.identity.public_key(),
        timestamp,
    );
    let mut init_frame = frame::sealed_prefix(&responder_address);
    body::write_handshake_init(&mut init_frame, initiator_index, &message1);

    let Responded {
        message2,
        session: responder_session,
        index: responder_index,
        ..
    } = respond(name, &mut responder, &message1);
    let mut response_frame = frame::sealed_prefix(&initiator_address);
    body::write_handshake_response(
        &mut response_frame,
        responder_index,
        initiator_index,
        &message2,
    );

    let initiator_session = Session::new(
        handshake
            .finish(&message2)
            .unwrap_or_else(|err| panic!("{name}: the initiator refuses message 2: {err}")),
    );

    // As the node's `seal_in_session`: prefix, session header, then the AEAD with all of it as
    // associated data.
    let session_frames: Vec<Value> = inputs
        .list("session_frames")
        .iter()
        .map(|entry| {
            let from = entry.text("from");
            let (session, receiver_index) = match from {
                "initiator" => (&initiator_session, responder_index),
                "responder" => (&responder_session, initiator_index),
                other => panic!(
                    "{}: `from` is {other:?}, not initiator or responder",
                    entry.name
                ),
            };
            let recipient = entry.address("recipient");
            let hops: u8 = entry.integer("hops");
            let counter: u64 = entry.integer("counter");
            let plaintext = entry.bytes("plaintext_hex");
            let mut frame = frame::sealed_prefix(&recipient);
            body::write_session_header(&mut frame, hops, receiver_index, counter);
            let aad = frame.clone();
            session
                .seal(counter, &aad, &plaintext, &mut frame)
                .unwrap_or_else(|err| panic!("{}: session seal failed: {err}", entry.name));
            json!({
                "from": from,
                "recipient": recipient.to_value(),
                "hops": hops,
                "counter": counter,
                "plaintext_hex": hex::encode(&plaintext),
                "frame_hex": hex::encode(&frame),
            })
        })
        .collect();

    json!({
        "initiator_secret_hex": hex::encode(&initiator.identity.secret_bytes()),
        "initiator_rng_seed_hex": hex::encode(&inputs.array::<32>("initiator_rng_seed_hex")),
        "initiator_address": initiator_address.to_value(),
        "responder_secret_hex": hex::encode(&responder.identity.secret_bytes()),
        "responder_rng_seed_hex": hex::encode(&inputs.array::<32>("responder_rng_seed_hex")),
        "responder_address": responder_address.to_value(),
        "handshake_time_us": timestamp.0,
        "initiator_index": initiator_index,
        "responder_index": responder_index,
        "message1_hex": hex::encode(&message1),
        "message2_hex": hex::encode(&message2),
        "init_frame_hex": hex::encode(&init_frame),
        "response_frame_hex": hex::encode(&response_frame),
        "session_frames": session_frames,
    })
}

pub(crate) fn build_stream_frame(inputs: &Fields<'_>) -> Value {
    let frame = inputs.bytes("frame_hex");
    json!({
        "frame_hex": hex::encode(&frame),
        "wire_hex": hex::encode(&encode_stream_frame(&frame)),
    })
}
