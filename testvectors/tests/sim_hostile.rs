//! Replays, tampering and garbage: nothing unauthenticated or repeated reaches a client.

mod support;

use std::time::Duration;

use ejtp_proto::{Config, TransportAddr};
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};
use proptest::prelude::*;
use serde_json::json;
use support::{messages, send, send_via};

/// Alice sends `count` messages to bob (directly, then one through a relay), all delivered.
fn exchanged(seed: u64, count: usize) -> (SimNetwork, usize, usize) {
    let mut net = SimNetwork::new(seed, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
    let bob = net.add_node("bob", 2, Config::default(), &["bob"]);
    let relay = net.add_node("relay", 3, Config::default(), &[]);
    let bob_id = net.identity(bob, "bob");
    let relay_id = net.identity(relay, "relay");
    for n in 0..count {
        send(&mut net, alice, "alice", &bob_id, json!(n));
        net.run_for(Duration::from_millis(100));
    }
    send_via(
        &mut net,
        alice,
        "alice",
        &bob_id,
        &[relay_id],
        json!("onion"),
    );
    net.run_for(Duration::from_secs(1));
    assert_eq!(messages(&net.take_events()).len(), count + 1);
    (net, alice, bob)
}

#[test]
fn replayed_datagrams_deliver_nothing_within_the_skew_window() {
    let (mut net, _, bob) = exchanged(20, 4);
    let to_bob: Vec<_> = net
        .captured()
        .iter()
        .filter(|c| c.to == bob)
        .cloned()
        .collect();
    assert!(to_bob.len() >= 5);
    for captured in &to_bob {
        net.inject(bob, captured.from, captured.payload.clone());
    }
    net.run_for(Duration::from_secs(1));
    assert!(
        messages(&net.take_events()).is_empty(),
        "a replay was delivered"
    );
    let stats = net.node(bob).stats();
    assert!(stats.transport.dropped_replay >= 5, "{stats:?}");
}

#[test]
fn replayed_datagrams_deliver_nothing_after_the_skew_window() {
    let (mut net, _, bob) = exchanged(21, 3);
    let to_bob: Vec<_> = net
        .captured()
        .iter()
        .filter(|c| c.to == bob)
        .cloned()
        .collect();
    // Long enough for the sessions to go idle and the nonces to age out.
    net.run_for(Config::default().session_idle_timeout + Duration::from_secs(300));
    for captured in &to_bob {
        net.inject(bob, captured.from, captured.payload.clone());
    }
    net.run_for(Duration::from_secs(1));
    assert!(
        messages(&net.take_events()).is_empty(),
        "a stale replay was delivered"
    );
    let stats = net.node(bob).stats();
    assert!(
        stats.transport.dropped_stale >= 1,
        "old sealed frames are refused by their timestamp: {stats:?}"
    );
}

#[test]
fn nodes_keep_working_after_hostile_input() {
    let (mut net, alice, bob) = exchanged(22, 2);
    let from = TransportAddr::udp("192.0.2.1:4000".parse().unwrap());
    for garbage in [
        &b""[..],
        b"r",
        b"r\0",
        b"r[]\0\x01",
        b"s[\"udp4\"]\0\xff\xff",
        b"j\0{}",
        b"[{\"x\":1}]",
        b"c z\0",
    ] {
        net.inject(bob, from, garbage.to_vec());
    }
    net.run_for(Duration::from_secs(1));
    assert!(messages(&net.take_events()).is_empty());
    let bob_id = net.identity(bob, "bob");
    send(&mut net, alice, "alice", &bob_id, json!("still here"));
    net.run_for(Duration::from_secs(1));
    assert_eq!(messages(&net.take_events()).len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A captured frame with any one byte changed, truncated, or extended never delivers
    /// anything.
    #[test]
    fn tampered_frames_deliver_nothing(
        seed in 0u64..4,
        pick in any::<prop::sample::Index>(),
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
        how in 0u8..3,
    ) {
        let (mut net, _, bob) = exchanged(seed, 2);
        let to_bob: Vec<_> = net.captured().iter().filter(|c| c.to == bob).cloned().collect();
        let captured = pick.get(&to_bob).clone();
        let mut payload = captured.payload.clone();
        match how {
            0 => { let i = position.index(payload.len()); payload[i] ^= flip; }
            1 => payload.truncate(position.index(payload.len())),
            _ => payload.push(flip),
        }
        net.inject(bob, captured.from, payload);
        net.run_for(Duration::from_secs(1));
        prop_assert!(messages(&net.take_events()).is_empty());
    }

    /// Arbitrary bytes never deliver anything (and never panic).
    #[test]
    fn random_bytes_deliver_nothing(data in proptest::collection::vec(any::<u8>(), 0..512), prefix in 0u8..5) {
        let (mut net, _, bob) = exchanged(30, 1);
        let mut payload = vec![[b'r', b's', b'j', b'c', b'['][usize::from(prefix)]];
        payload.extend(data);
        net.inject(bob, TransportAddr::udp("192.0.2.1:4000".parse().unwrap()), payload);
        net.run_for(Duration::from_secs(1));
        prop_assert!(messages(&net.take_events()).is_empty());
    }
}

#[test]
fn replayed_handshakes_cannot_push_out_established_sessions() {
    let config = Config::default().with_max_sessions(4);
    let mut net = SimNetwork::new(23, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 1, config.clone(), &["alice"]);
    let bob = net.add_node("bob", 2, config, &["bob"]);
    let alice_key = net.identity(alice, "alice").key;
    let bob_id = net.identity(bob, "bob");
    send(&mut net, alice, "alice", &bob_id, json!("open a session"));
    net.run_for(Duration::from_millis(100));
    send(&mut net, alice, "alice", &bob_id, json!("confirm it"));
    net.run_for(Duration::from_millis(100));
    assert!(net.node(bob).has_session(&alice_key.node_id()));
    // The handshake init is the second datagram alice sent bob.
    let init = net
        .captured()
        .iter()
        .filter(|c| c.to == bob)
        .nth(1)
        .unwrap()
        .clone();
    for _ in 0..100 {
        net.inject(bob, init.from, init.payload.clone());
    }
    net.run_for(Duration::from_secs(1));
    assert!(
        net.node(bob).has_session(&alice_key.node_id()),
        "the confirmed session survives"
    );
    net.take_events();
    send(
        &mut net,
        alice,
        "alice",
        &bob_id,
        json!("still on the session"),
    );
    net.run_for(Duration::from_secs(1));
    let received = messages(&net.take_events());
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].1.protection, ejtp_proto::Protection::Session);
}
