//! Session frames against the raw AEAD they are built on, side by side in one run.
//!
//! `cargo bench -p ejtp-proto --bench session` prints, for 1 KiB payloads on one core:
//! - raw: ChaCha20-Poly1305 seal + open of the payload (the machine's ceiling);
//! - session: `Session::seal` + `Session::open` (nonce, associated data, replay window);
//! - node: a JSON message sent on an established session by one `Node` and delivered as an
//!   event by another (strict JSON, `s` frame, `r` frame, routing, events);
//!
//! and each rate as a ratio of the raw one. Rounds alternate between the three so that a busy
//! machine slows them alike.

// The bench times the core from outside: the clock ban that keeps the core pure does not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::{Duration, Instant as Clock};

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use ejtp_proto::crypto::handshake::{self, HandshakeTime, InitiatorHandshake};
use ejtp_proto::crypto::session::Session;
use ejtp_proto::{
    Address, Config, CoreRng, Event, Identity, Instant, Node, TransportAddr, UnixMillis,
};
use serde_json::json;

const PAYLOAD: usize = 1024;
const ROUNDS: usize = 5;
const ROUND_TIME: Duration = Duration::from_millis(400);

/// Runs `step` repeatedly for about `ROUND_TIME`; returns payload bytes per second.
fn rate(mut step: impl FnMut()) -> f64 {
    let start = Clock::now();
    let mut count = 0u64;
    while start.elapsed() < ROUND_TIME {
        for _ in 0..64 {
            step();
        }
        count += 64;
    }
    (count as f64 * PAYLOAD as f64) / start.elapsed().as_secs_f64()
}

fn raw_aead() -> impl FnMut() {
    let cipher = ChaCha20Poly1305::new(&Key::from([7u8; 32]));
    let aad = [0u8; 48];
    let mut buffer = vec![0x42u8; PAYLOAD];
    let mut counter = 0u64;
    move || {
        counter += 1;
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&counter.to_le_bytes());
        let nonce = Nonce::from(nonce);
        let tag = cipher
            .encrypt_inout_detached(&nonce, &aad, buffer.as_mut_slice().into())
            .unwrap();
        cipher
            .decrypt_inout_detached(&nonce, &aad, buffer.as_mut_slice().into(), &tag)
            .unwrap();
        black_box(&buffer);
    }
}

fn sessions() -> (Session, Session) {
    let alice = Identity::from_secret_bytes(&[1; 32]);
    let bob = Identity::from_secret_bytes(&[2; 32]);
    let mut rng = CoreRng::from_seed([3; 32]);
    let (initiator, message1) =
        InitiatorHandshake::start(&mut rng, &alice, &bob.public_key(), HandshakeTime(1)).unwrap();
    let answered = handshake::respond(&mut rng, &bob, &message1).unwrap();
    let (message2, bob_keys) = (answered.message, answered.keys);
    let alice_keys = initiator.finish(&message2).unwrap();
    (Session::new(alice_keys), Session::new(bob_keys))
}

fn session_frames() -> impl FnMut() {
    let (mut sender, mut receiver) = sessions();
    let aad = [0u8; 48];
    let payload = vec![0x42u8; PAYLOAD];
    let mut frame = Vec::with_capacity(PAYLOAD + 64);
    move || {
        let counter = sender.next_send_counter(Instant::ZERO, 0).unwrap();
        frame.clear();
        sender.seal(counter, &aad, &payload, &mut frame).unwrap();
        black_box(receiver.open(Instant::ZERO, counter, &aad, &frame).unwrap());
    }
}

fn nodes() -> impl FnMut() {
    let wall = UnixMillis(1_700_000_000_000);
    let now = Instant::ZERO;
    let mut alice = Node::new(
        Config::default(),
        Identity::from_secret_bytes(&[1; 32]),
        [1; 32],
        now,
        wall,
    );
    let mut bob = Node::new(
        Config::default(),
        Identity::from_secret_bytes(&[2; 32]),
        [2; 32],
        now,
        wall,
    );
    let alice_addr = "127.0.0.1:9001".parse().unwrap();
    let bob_addr = "127.0.0.1:9002".parse().unwrap();
    alice
        .add_local_address(Address::udp(alice_addr, None))
        .unwrap();
    bob.add_local_address(Address::udp(bob_addr, None)).unwrap();
    alice.add_client("alice").unwrap();
    bob.add_client("bob").unwrap();
    let to_bob = bob.public_identity("bob", "bob");
    let (from_alice, from_bob) = (TransportAddr::udp(alice_addr), TransportAddr::udp(bob_addr));
    // A payload that encodes to about 1 KiB of JSON.
    let value = json!("x".repeat(PAYLOAD - 2));
    let exchange = move |alice: &mut Node, bob: &mut Node| {
        alice.send(now, "alice", &to_bob, value.clone()).unwrap();
        while let Some(transmit) = alice.poll_transmit() {
            bob.handle_datagram(now, from_alice, &transmit.payload);
        }
        while let Some(transmit) = bob.poll_transmit() {
            alice.handle_datagram(now, from_bob, &transmit.payload);
        }
        let mut delivered = false;
        while let Some(event) = bob.poll_event() {
            delivered |= matches!(event, Event::Message(_));
        }
        while alice.poll_event().is_some() {}
        assert!(delivered);
    };
    // The first exchange sets up the session; the bench measures the ones after it.
    exchange(&mut alice, &mut bob);
    move || exchange(&mut alice, &mut bob)
}

fn main() {
    let mut raw = raw_aead();
    let mut session = session_frames();
    let mut node = nodes();
    let (mut raw_total, mut session_total, mut node_total) = (0.0, 0.0, 0.0);
    for _ in 0..ROUNDS {
        raw_total += rate(&mut raw);
        session_total += rate(&mut session);
        node_total += rate(&mut node);
    }
    let mb = |total: f64| total / ROUNDS as f64 / 1e6;
    println!(
        "1 KiB payloads, one core, {ROUNDS} alternating rounds of {} ms each:",
        ROUND_TIME.as_millis()
    );
    println!(
        "  raw ChaCha20-Poly1305 seal+open   {:8.1} MB/s   1.00x",
        mb(raw_total)
    );
    println!(
        "  Session::seal + Session::open      {:8.1} MB/s   {:.2}x raw",
        mb(session_total),
        session_total / raw_total
    );
    println!(
        "  Node send -> Node delivery         {:8.1} MB/s   {:.2}x raw",
        mb(node_total),
        node_total / raw_total
    );
}
