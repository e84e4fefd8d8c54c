//! A peer that restarts (same key, no state) is reached again: stale sessions are reset.

mod support;

use std::time::Duration;

use ejtp_proto::TransportEvent;
use ejtp_proto::crypto::body::{self, RBody};
use ejtp_proto::crypto::reset;
use ejtp_proto::{Address, Config, Event, Identity, Protection, PublicKey, TransportAddr, frame};
use ejtp_testvectors::sim::{LinkConditions, SIM_WALL_START, SimNetwork};
use serde_json::json;
use support::{messages, send};

/// Alice and bob with sessions both ways, as after some traffic.
fn with_sessions(seed: u64) -> (SimNetwork, usize, usize) {
    let mut net = SimNetwork::new(seed, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
    let bob = net.add_node("bob", 2, Config::default(), &["bob"]);
    let alice_id = net.identity(alice, "alice");
    let bob_id = net.identity(bob, "bob");
    send(&mut net, alice, "alice", &bob_id, json!("hello"));
    net.run_for(Duration::from_millis(100));
    send(&mut net, alice, "alice", &bob_id, json!("on the session"));
    net.run_for(Duration::from_millis(100));
    send(
        &mut net,
        bob,
        "bob",
        &alice_id,
        json!("back on the session"),
    );
    net.run_for(Duration::from_millis(100));
    let received = messages(&net.take_events());
    assert_eq!(received.len(), 3);
    assert!(
        received[1..]
            .iter()
            .all(|(_, message)| message.protection == Protection::Session)
    );
    (net, alice, bob)
}

#[test]
fn a_stale_session_is_reset_and_the_next_message_gets_through() {
    let (mut net, alice, bob) = with_sessions(50);
    let bob_id = net.identity(bob, "bob");
    net.restart(bob, "bob restarted", &["bob"]);
    assert!(
        net.node(alice).has_session(&bob_id.key.node_id()),
        "alice does not know yet"
    );

    send(
        &mut net,
        alice,
        "alice",
        &bob_id,
        json!("lost: sent on the old session"),
    );
    net.run_for(Duration::from_millis(100));
    let events = net.take_events();
    assert!(
        messages(&events).is_empty(),
        "the restarted bob cannot read the old session"
    );
    assert!(events.iter().any(|(node, event)| *node == alice
        && matches!(
            event,
            Event::Transport(TransportEvent::SessionClosed { .. })
        )));
    assert!(
        !net.node(alice).has_session(&bob_id.key.node_id()),
        "bob's signed reset ended it"
    );

    send(&mut net, alice, "alice", &bob_id, json!("after the reset"));
    net.run_for(Duration::from_millis(200));
    let received = messages(&net.take_events());
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].1.value, json!("after the reset"));
    send(&mut net, alice, "alice", &bob_id, json!("on a new session"));
    net.run_for(Duration::from_millis(100));
    let received = messages(&net.take_events());
    assert_eq!(received[0].1.protection, Protection::Session);
}

#[test]
fn a_restarted_node_that_speaks_first_is_answered() {
    let (mut net, alice, bob) = with_sessions(51);
    let alice_id = net.identity(alice, "alice");
    net.restart(bob, "bob restarted", &["bob"]);
    let bob_id = net.identity(bob, "bob");

    // Bob's first message comes with a handshake; alice stops using her old session at once,
    // so her immediate answer reaches the new bob.
    send(&mut net, bob, "bob", &alice_id, json!("I'm back"));
    net.run_for(Duration::from_millis(100));
    let received = messages(&net.take_events());
    assert_eq!(received.len(), 1);
    send(&mut net, alice, "alice", &bob_id, json!("welcome back"));
    net.run_for(Duration::from_millis(100));
    let received = messages(&net.take_events());
    assert_eq!(received.len(), 1, "the answer reached the restarted bob");
    assert_eq!(received[0].0, bob);
}

/// The index bob chose for his session with alice: what alice's session frames to bob carry.
fn bobs_index(net: &SimNetwork, bob: usize) -> u32 {
    net.captured()
        .iter()
        .filter(|captured| captured.to == bob)
        .find_map(|captured| match frame::decode(&captured.payload) {
            Ok(frame::Frame::Sealed { body: sealed, .. }) => match RBody::decode(sealed) {
                Ok(RBody::Session { receiver_index, .. }) => Some(receiver_index),
                _ => None,
            },
            _ => None,
        })
        .expect("alice sent bob a session frame")
}

/// A reset for `index`, claiming `key`, signed by `signer`, as bob would send it to alice.
fn reset_frame(
    net: &SimNetwork,
    alice: usize,
    signer: &Identity,
    key: &PublicKey,
    index: u32,
) -> Vec<u8> {
    let alice_address = Address::from_transport(TransportAddr::udp(
        net.identity(alice, "alice")
            .location
            .transport()
            .unwrap()
            .addr,
    ));
    let mut out = frame::sealed_prefix(&alice_address);
    let header = out[1..out.len() - 1].to_vec();
    let signature = reset::sign(signer, &header, index, SIM_WALL_START).unwrap();
    body::write_session_reset(&mut out, index, SIM_WALL_START, key.as_bytes(), &signature);
    out
}

#[test]
fn resets_must_be_signed_by_the_session_peer() {
    let (mut net, alice, bob) = with_sessions(52);
    let bob_id = net.identity(bob, "bob");
    let index = bobs_index(&net, bob);
    let from = net.identity(bob, "bob").location.transport().unwrap();
    let mallory = Identity::from_secret_bytes(&[0x66; 32]);

    // Signed by mallory while claiming bob's key; then signed by mallory as mallory.
    let forged = reset_frame(&net, alice, &mallory, &bob_id.key, index);
    net.inject(alice, from, forged);
    let own_key = reset_frame(&net, alice, &mallory, &mallory.public_key(), index);
    net.inject(alice, from, own_key);
    net.run_for(Duration::from_millis(100));
    assert!(
        net.node(alice).has_session(&bob_id.key.node_id()),
        "a reset not signed by bob ends nothing"
    );
    assert_eq!(net.node(alice).stats().transport.dropped_crypto, 1);

    // The control: the same reset really signed by bob ends the session.
    let bob_identity = Identity::from_secret_bytes(&[2; 32]);
    let genuine = reset_frame(&net, alice, &bob_identity, &bob_id.key, index);
    net.inject(alice, from, genuine);
    net.run_for(Duration::from_millis(100));
    assert!(!net.node(alice).has_session(&bob_id.key.node_id()));
}

/// The first frames `to` received from `from` so far (a sealed first message and a handshake
/// init, for a first send).
fn received_by(net: &SimNetwork, to: usize) -> Vec<(TransportAddr, Vec<u8>)> {
    net.captured()
        .iter()
        .filter(|captured| captured.to == to)
        .map(|captured| (captured.from, captured.payload.clone()))
        .collect()
}

#[test]
fn a_first_message_replayed_after_a_restart_is_not_delivered_again() {
    for keeps_journal in [true, false] {
        let mut net = SimNetwork::new(52, LinkConditions::PERFECT);
        let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
        let bob = net.add_node("bob", 2, Config::default(), &["bob"]);
        let bob_id = net.identity(bob, "bob");
        send(&mut net, alice, "alice", &bob_id, json!("pay once"));
        net.run_for(Duration::from_millis(100));
        assert_eq!(messages(&net.take_events()).len(), 1);
        let captured = received_by(&net, bob);

        net.run_for(Duration::from_secs(1));
        if keeps_journal {
            net.restart(bob, "bob restarted", &["bob"]);
        } else {
            net.restart_without_journal(bob, "bob restarted", &["bob"]);
        }
        let attacker = TransportAddr::udp("127.0.0.1:6666".parse().unwrap());
        for (_, payload) in &captured {
            net.inject(bob, attacker, payload.clone());
        }
        net.run_for(Duration::from_millis(100));
        assert!(
            messages(&net.take_events()).is_empty(),
            "delivered again (journal: {keeps_journal})"
        );
        let stats = net.node(bob).stats();
        assert_eq!(
            stats.transport.dropped_replay + stats.transport.dropped_stale,
            1,
            "journal: {keeps_journal}: {stats:?}"
        );
    }
}

#[test]
fn a_message_held_while_the_node_was_down_is_refused_only_without_a_journal() {
    for keeps_journal in [true, false] {
        let mut net = SimNetwork::new(53, LinkConditions::PERFECT);
        let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
        let bob = net.add_node("bob", 2, Config::default(), &["bob"]);
        let bob_id = net.identity(bob, "bob");
        net.take_down(bob);
        send(
            &mut net,
            alice,
            "alice",
            &bob_id,
            json!("sent while bob was down"),
        );
        net.run_for(Duration::from_millis(100));
        // What a mailbox (or a proxy on the path) would hand over later.
        let held: Vec<Vec<u8>> = net
            .captured()
            .iter()
            .filter(|captured| captured.to == bob)
            .map(|captured| captured.payload.clone())
            .collect();
        assert!(!held.is_empty());
        net.run_for(Duration::from_secs(2));
        if keeps_journal {
            net.restart(bob, "bob back", &["bob"]);
        } else {
            net.restart_without_journal(bob, "bob back", &["bob"]);
        }
        let relay = TransportAddr::udp("127.0.0.1:7777".parse().unwrap());
        for payload in &held {
            net.inject(bob, relay, payload.clone());
        }
        net.run_for(Duration::from_millis(100));
        let delivered = messages(&net.take_events()).len();
        assert_eq!(
            delivered,
            usize::from(keeps_journal),
            "journal: {keeps_journal}"
        );
    }
}
