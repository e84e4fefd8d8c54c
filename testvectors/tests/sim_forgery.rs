//! Forged senders: frames correctly sealed to the recipient whose sender proof lies.
//!
//! Anyone can seal a frame to a public key, so the `s` frame inside is what must authenticate
//! the sender. Mallory builds frames by hand that claim to come from alice.

mod support;

use std::time::Duration;

use ejtp_proto::crypto::body;
use ejtp_proto::crypto::proof::SenderProof;
use ejtp_proto::crypto::sealed;
use ejtp_proto::crypto::signature::SignatureBlob;
use ejtp_proto::{
    Address, Config, CoreRng, Identity, PublicIdentity, TransportAddr, UnixMillis, frame,
};
use ejtp_testvectors::sim::{LinkConditions, SIM_WALL_START, SimNetwork};
use serde_json::json;
use support::messages;

/// `R(to)[S(sender)[J]]` sealed to `to` with HPKE, with whatever proof Mallory chose.
fn sealed_message(
    rng: &mut CoreRng,
    to: &PublicIdentity,
    sender: &Address,
    proof: &[u8],
    value: serde_json::Value,
) -> Vec<u8> {
    let json = frame::encode_json(&value).unwrap();
    let signed = frame::encode_signed(sender, proof, &json).unwrap();
    let mut out = frame::sealed_prefix(&to.location);
    let aad_len = body::write_sealed_aad_part(&mut out, 0, SIM_WALL_START);
    let (enc, ciphertext) = sealed::seal(rng, &to.key, &out[..aad_len], &signed).unwrap();
    out.extend_from_slice(&enc);
    out.extend_from_slice(&ciphertext);
    out
}

struct Setup {
    net: SimNetwork,
    bob: usize,
    alice: PublicIdentity,
    bob_id: PublicIdentity,
    mallory: Identity,
    rng: CoreRng,
    from: TransportAddr,
}

fn setup() -> Setup {
    let mut net = SimNetwork::new(40, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
    let bob = net.add_node("bob", 2, Config::default(), &["bob"]);
    let alice = net.identity(alice, "alice");
    let bob_id = net.identity(bob, "bob");
    Setup {
        net,
        bob,
        alice,
        bob_id,
        mallory: Identity::from_secret_bytes(&[0x66; 32]),
        rng: CoreRng::from_seed([0x77; 32]),
        from: TransportAddr::udp("127.0.0.1:9000".parse().unwrap()),
    }
}

fn sign(
    signer: &Identity,
    to: &PublicIdentity,
    sender: &Address,
    timestamp: UnixMillis,
    value: &serde_json::Value,
) -> SignatureBlob {
    sign_with_nonce(signer, to, sender, timestamp, [9; 16], value)
}

fn sign_with_nonce(
    signer: &Identity,
    to: &PublicIdentity,
    sender: &Address,
    timestamp: UnixMillis,
    nonce: [u8; 16],
    value: &serde_json::Value,
) -> SignatureBlob {
    let json = frame::encode_json(value).unwrap();
    SignatureBlob::sign(
        signer,
        to.location.to_strict_json().as_bytes(),
        sender.to_strict_json().as_bytes(),
        timestamp,
        nonce,
        &json,
    )
    .unwrap()
}

#[test]
fn a_signature_by_another_key_claiming_alices_key_is_refused() {
    let mut s = setup();
    let value = json!("I am alice");
    let mut blob = sign(
        &s.mallory,
        &s.bob_id,
        &s.alice.location,
        SIM_WALL_START,
        &value,
    );
    blob.key = s.alice.key;
    let frame = sealed_message(
        &mut s.rng,
        &s.bob_id,
        &s.alice.location,
        &blob.to_bytes(),
        value,
    );
    s.net.inject(s.bob, s.from, frame);
    s.net.run_for(Duration::from_secs(1));
    assert!(messages(&s.net.take_events()).is_empty());
    assert_eq!(s.net.node(s.bob).stats().transport.dropped_crypto, 1);
}

#[test]
fn a_session_proof_outside_a_session_is_refused() {
    let mut s = setup();
    let proof = SenderProof::Session { nonce: [1; 16] }.to_bytes();
    let frame = sealed_message(
        &mut s.rng,
        &s.bob_id,
        &s.alice.location,
        &proof,
        json!("trust me"),
    );
    s.net.inject(s.bob, s.from, frame);
    s.net.run_for(Duration::from_secs(1));
    assert!(messages(&s.net.take_events()).is_empty());
    assert_eq!(
        s.net.node(s.bob).stats().transport.dropped_unauthenticated,
        1
    );
}

#[test]
fn a_signature_made_for_another_recipient_cannot_be_rewrapped() {
    let mut s = setup();
    let value = json!("meant for carol");
    let carol = PublicIdentity {
        location: Address::udp("127.0.0.1:9100".parse().unwrap(), Some("carol")),
        ..s.bob_id.clone()
    };
    // Mallory holds a frame alice signed for carol and seals it to bob instead.
    let alice = Identity::from_secret_bytes(&[1; 32]);
    let blob = sign(&alice, &carol, &s.alice.location, SIM_WALL_START, &value);
    let frame = sealed_message(
        &mut s.rng,
        &s.bob_id,
        &s.alice.location,
        &blob.to_bytes(),
        value,
    );
    s.net.inject(s.bob, s.from, frame);
    s.net.run_for(Duration::from_secs(1));
    assert!(messages(&s.net.take_events()).is_empty());
    assert_eq!(s.net.node(s.bob).stats().transport.dropped_crypto, 1);
}

#[test]
fn a_correctly_signed_frame_is_delivered_once_and_a_stale_one_never() {
    let mut s = setup();
    let alice = Identity::from_secret_bytes(&[1; 32]);
    let value = json!("genuinely alice");
    // The control: a frame alice really signed is delivered, so the refusals above are real.
    let blob = sign(&alice, &s.bob_id, &s.alice.location, SIM_WALL_START, &value);
    let frame = sealed_message(
        &mut s.rng,
        &s.bob_id,
        &s.alice.location,
        &blob.to_bytes(),
        value.clone(),
    );
    s.net.inject(s.bob, s.from, frame.clone());
    s.net.inject(s.bob, s.from, frame);
    // The same, signed ten minutes ago.
    let old = UnixMillis(SIM_WALL_START.0 - 600_000);
    let blob = sign_with_nonce(&alice, &s.bob_id, &s.alice.location, old, [8; 16], &value);
    let stale = sealed_message(
        &mut s.rng,
        &s.bob_id,
        &s.alice.location,
        &blob.to_bytes(),
        value,
    );
    s.net.inject(s.bob, s.from, stale);
    s.net.run_for(Duration::from_secs(1));
    let received = messages(&s.net.take_events());
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].1.from.key, s.alice.key);
    let stats = s.net.node(s.bob).stats();
    assert_eq!(stats.transport.dropped_replay, 1, "{stats:?}");
    assert_eq!(stats.transport.dropped_stale, 1, "{stats:?}");
}
