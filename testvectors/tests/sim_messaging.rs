//! Two nodes exchange signed, encrypted messages over simulated UDP and TCP links.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use ejtp_proto::TransportEvent;
use ejtp_proto::{Config, Event, Protection};
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};
use proptest::prelude::*;
use serde_json::json;
use support::{messages, send};

#[test]
fn messages_arrive_signed_then_on_a_session_and_replies_come_back() {
    let mut net = SimNetwork::new(1, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
    let bob = net.add_node("bob", 2, Config::default(), &["bob"]);
    let alice_id = net.identity(alice, "alice");
    let bob_id = net.identity(bob, "bob");

    send(&mut net, alice, "alice", &bob_id, json!({"n": 0}));
    net.run_for(Duration::from_secs(1));
    assert!(
        net.node(alice).has_session(&bob_id.key.node_id()),
        "the first send starts a handshake"
    );
    for n in 1..4 {
        send(&mut net, alice, "alice", &bob_id, json!({"n": n}));
    }
    net.run_for(Duration::from_secs(1));
    let events = net.take_events();
    let received = messages(&events);
    assert_eq!(received.len(), 4);
    for (n, (node, message)) in received.iter().enumerate() {
        assert_eq!(*node, bob);
        assert_eq!(message.to, "bob");
        assert_eq!(message.value, json!({"n": n}));
        assert_eq!(message.from.key, alice_id.key);
        assert_eq!(message.from.node_id, alice_id.key.node_id());
        assert_eq!(message.from.address, alice_id.location);
        let expected = if n == 0 {
            Protection::Sealed
        } else {
            Protection::Session
        };
        assert_eq!(message.protection, expected, "message {n}");
    }
    assert!(events.iter().any(|(node, event)| *node == alice
        && matches!(
            event,
            Event::Transport(TransportEvent::SessionEstablished { .. })
        )));

    // Bob answers to the address alice signed, with alice's key.
    let reply_to = ejtp_proto::PublicIdentity {
        location: received[0].1.from.address.clone(),
        ..alice_id
    };
    send(&mut net, bob, "bob", &reply_to, json!("pong"));
    net.run_for(Duration::from_secs(1));
    let replies = messages(&net.take_events());
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].0, alice);
    assert_eq!(replies[0].1.value, json!("pong"));
    assert_eq!(replies[0].1.from.key, bob_id.key);
    assert_eq!(
        replies[0].1.protection,
        Protection::Session,
        "bob answers on the session alice opened"
    );
}

#[test]
fn messages_cross_tcp_streams() {
    let mut net = SimNetwork::new(2, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
    let bob = net.add_node("bob", 2, Config::default(), &["bob"]);
    let bob_tcp = net.tcp_identity(bob, "bob");
    for n in 0..3 {
        send(&mut net, alice, "alice", &bob_tcp, json!([n, "over tcp"]));
        net.run_for(Duration::from_millis(200));
    }
    let received = messages(&net.take_events());
    let values: Vec<_> = received
        .iter()
        .map(|(_, message)| message.value.clone())
        .collect();
    assert_eq!(
        values,
        vec![
            json!([0, "over tcp"]),
            json!([1, "over tcp"]),
            json!([2, "over tcp"])
        ]
    );
    assert!(net.node(bob).stats().transport.stream_frames_received >= 3);
}

#[test]
fn sessions_can_be_turned_off() {
    let config = Config::default().with_sessions(false);
    let mut net = SimNetwork::new(3, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 1, config.clone(), &["alice"]);
    let bob = net.add_node("bob", 2, config, &["bob"]);
    let bob_id = net.identity(bob, "bob");
    for n in 0..3 {
        send(&mut net, alice, "alice", &bob_id, json!(n));
    }
    net.run_for(Duration::from_secs(1));
    let received = messages(&net.take_events());
    assert_eq!(received.len(), 3);
    assert!(
        received
            .iter()
            .all(|(_, message)| message.protection == Protection::Sealed)
    );
    assert!(!net.node(alice).has_session(&bob_id.key.node_id()));
}

#[test]
fn unknown_callsigns_are_dropped_not_delivered() {
    let mut net = SimNetwork::new(4, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
    let bob = net.add_node("bob", 2, Config::default(), &["bob"]);
    let nobody = net.identity(bob, "nobody");
    send(&mut net, alice, "alice", &nobody, json!("hello?"));
    net.run_for(Duration::from_secs(1));
    let events = net.take_events();
    assert!(messages(&events).is_empty());
    assert_eq!(net.node(bob).stats().queries.dropped_unknown_client, 1);
    // The receiving node says so (its adapter logs it), naming the sender and the callsign.
    let alice_node = net.node(alice).node_id();
    let told: Vec<_> = events
        .iter()
        .filter_map(|(node, event)| match event {
            Event::Transport(TransportEvent::UnknownClient { from, callsign, .. })
                if *node == bob =>
            {
                Some((*from, callsign.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(told, [(alice_node, Some("nobody".to_string()))]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Over lossy, duplicating, reordering links every message is delivered at most once, only
    /// to its recipient, with the true sender; without loss every message arrives.
    #[test]
    fn lossy_links_deliver_each_message_at_most_once(
        seed in any::<u64>(),
        loss in 0.0f64..0.4,
        duplicate in 0.0f64..0.4,
        jitter_ms in 0u64..80,
        count in 1usize..12,
    ) {
        let conditions = LinkConditions {
            loss,
            duplicate,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(5 + jitter_ms),
        };
        let mut net = SimNetwork::new(seed, conditions);
        let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
        let bob = net.add_node("bob", 2, Config::default(), &["bob"]);
        let alice_key = net.identity(alice, "alice").key;
        let bob_id = net.identity(bob, "bob");
        for n in 0..count {
            send(&mut net, alice, "alice", &bob_id, json!({"n": n}));
            net.run_for(Duration::from_millis(30));
        }
        net.run_for(Duration::from_secs(10));
        let received = messages(&net.take_events());
        let mut ids = BTreeSet::new();
        let mut values = BTreeSet::new();
        for (node, message) in &received {
            prop_assert_eq!(*node, bob);
            prop_assert_eq!(message.from.key, alice_key);
            prop_assert!(ids.insert(message.id), "message {} delivered twice", message.id);
            let n = message.value["n"].as_u64().unwrap();
            prop_assert!(n < count as u64);
            prop_assert!(values.insert(n));
        }
        if loss == 0.0 {
            prop_assert_eq!(received.len(), count);
        }
    }
}

#[test]
fn a_conversation_settles_on_sessions_without_handshaking_again() {
    let mut net = SimNetwork::new(5, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
    let bob = net.add_node("bob", 2, Config::default(), &["bob"]);
    let alice_id = net.identity(alice, "alice");
    let bob_id = net.identity(bob, "bob");
    let mut protections = Vec::new();
    // Each answers the other at once, round after round.
    for round in 0..8 {
        send(&mut net, alice, "alice", &bob_id, json!({"round": round}));
        net.run_for(Duration::from_millis(50));
        send(&mut net, bob, "bob", &alice_id, json!({"answer": round}));
        net.run_for(Duration::from_millis(50));
    }
    let events = net.take_events();
    for (_, message) in messages(&events) {
        protections.push(message.protection);
    }
    assert_eq!(protections.len(), 16);
    assert!(
        protections[2..]
            .iter()
            .all(|protection| *protection == Protection::Session),
        "after the first exchange everything rides the session: {protections:?}"
    );
    let established = events
        .iter()
        .filter(|(_, event)| {
            matches!(
                event,
                Event::Transport(TransportEvent::SessionEstablished { .. })
            )
        })
        .count();
    assert_eq!(
        established, 2,
        "one handshake, established once on each side"
    );
}
