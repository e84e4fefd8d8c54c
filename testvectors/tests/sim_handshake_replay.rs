//! A captured Noise handshake message 1, replayed later from anywhere, never disturbs the
//! session that is up: its stamp is not newer than the last one the responder took from that
//! peer, or it has left the clock-skew window.

mod support;

use std::time::Duration;

use ejtp_proto::crypto::body::RBody;
use ejtp_proto::frame::{self, Frame};
use ejtp_proto::{Config, Protection, TransportAddr};
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};
use serde_json::json;
use support::{messages, send};

/// Sessions that end after 5 s of silence, with no keepalives, so that a test can make a
/// session end and another begin.
fn short_sessions() -> Config {
    Config::default()
        .with_session_idle_timeout(Duration::from_secs(5))
        .with_keepalive_interval(Duration::ZERO)
}

/// The handshake inits `to` has received so far, in order.
fn handshake_inits(net: &SimNetwork, to: usize) -> Vec<(TransportAddr, Vec<u8>)> {
    net.captured()
        .iter()
        .filter(|captured| captured.to == to)
        .filter(|captured| {
            matches!(
                frame::decode(&captured.payload),
                Ok(Frame::Sealed { body, .. })
                    if matches!(RBody::decode(body), Ok(RBody::HandshakeInit { .. }))
            )
        })
        .map(|captured| (captured.from, captured.payload.clone()))
        .collect()
}

/// Datagrams `from` sent after the first `skip` captured ones.
fn sent_by_since(net: &SimNetwork, from: TransportAddr, skip: usize) -> usize {
    net.captured()
        .iter()
        .skip(skip)
        .filter(|captured| captured.from == from)
        .count()
}

#[test]
fn an_old_message_1_replayed_while_a_newer_session_is_up_is_refused() {
    let mut net = SimNetwork::new(70, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 1, short_sessions(), &["alice"]);
    let bob = net.add_node("bob", 2, short_sessions(), &["bob"]);
    let alice_id = net.identity(alice, "alice");
    let bob_id = net.identity(bob, "bob");
    let attacker = TransportAddr::udp("127.0.0.1:6666".parse().unwrap());

    // Session 1, started by alice: the attacker captures its message 1.
    send(&mut net, alice, "alice", &bob_id, json!("first"));
    net.run_for(Duration::from_millis(100));
    let inits = handshake_inits(&net, bob);
    assert_eq!(inits.len(), 1);
    let (alice_addr, first_init) = inits[0].clone();

    // It ends in silence; alice starts session 2 with a newer message 1.
    net.run_for(Duration::from_secs(10));
    assert!(!net.node(bob).has_session(&alice_id.key.node_id()));
    send(&mut net, alice, "alice", &bob_id, json!("second"));
    net.run_for(Duration::from_millis(100));
    send(&mut net, alice, "alice", &bob_id, json!("on session 2"));
    net.run_for(Duration::from_millis(100));
    assert_eq!(handshake_inits(&net, bob).len(), 2);
    let received = messages(&net.take_events());
    assert_eq!(received.len(), 3);
    assert_eq!(received[2].1.protection, Protection::Session);

    // The old message 1, from the attacker and from alice's own address.
    let before = net.node(bob).stats();
    let captured_before = net.captured().len();
    net.inject(bob, attacker, first_init.clone());
    net.inject(bob, alice_addr, first_init);
    net.run_for(Duration::from_millis(100));
    let after = net.node(bob).stats();
    assert_eq!(
        after.transport.dropped_replay,
        before.transport.dropped_replay + 2
    );
    assert_eq!(
        sent_by_since(&net, net.udp_addr(bob), captured_before),
        0,
        "bob answered nothing"
    );

    // Bob still sends on session 2, and alice reads it.
    send(&mut net, bob, "bob", &alice_id, json!("still on session 2"));
    net.run_for(Duration::from_millis(100));
    let received = messages(&net.take_events());
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].1.protection, Protection::Session);
    assert_eq!(
        net.node(bob).stats().transport.dropped_crypto,
        before.transport.dropped_crypto
    );
}

#[test]
fn a_message_1_older_than_the_clock_window_is_stale_even_when_forgotten() {
    let mut net = SimNetwork::new(71, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
    let bob = net.add_node("bob", 2, Config::default(), &["bob"]);
    let bob_id = net.identity(bob, "bob");
    let alice_id = net.identity(alice, "alice");
    send(&mut net, alice, "alice", &bob_id, json!("hello"));
    net.run_for(Duration::from_millis(100));
    let (_, init) = handshake_inits(&net, bob).remove(0);

    // Past twice the window, bob has forgotten alice's stamp, and the session it made has
    // ended (kept alive while in use, then idle): the window alone refuses it.
    net.run_for(Duration::from_secs(400));
    assert!(!net.node(bob).has_session(&alice_id.key.node_id()));
    let before = net.node(bob).stats();
    let captured_before = net.captured().len();
    net.inject(
        bob,
        TransportAddr::udp("127.0.0.1:6666".parse().unwrap()),
        init,
    );
    net.run_for(Duration::from_millis(100));
    let after = net.node(bob).stats();
    assert_eq!(
        after.transport.dropped_stale,
        before.transport.dropped_stale + 1
    );
    assert_eq!(sent_by_since(&net, net.udp_addr(bob), captured_before), 0);
}
