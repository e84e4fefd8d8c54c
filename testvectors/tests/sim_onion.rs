//! Onion relay through one and two relays, and the default route, with loops that die.

mod support;

use std::time::Duration;

use ejtp_proto::{Address, Command, Config, Protection, PublicIdentity};
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};
use proptest::prelude::*;
use serde_json::json;
use support::{messages, send, send_via};

#[test]
fn a_message_relayed_through_one_node_reaches_its_recipient_from_its_sender() {
    let mut net = SimNetwork::new(10, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
    let relay = net.add_node("relay", 2, Config::default(), &["relay"]);
    let bob = net.add_node("bob", 3, Config::default(), &["bob"]);
    let alice_key = net.identity(alice, "alice").key;
    let relay_id = net.identity(relay, "relay");
    let bob_id = net.identity(bob, "bob");

    send_via(
        &mut net,
        alice,
        "alice",
        &bob_id,
        &[relay_id],
        json!("through the onion"),
    );
    net.run_for(Duration::from_secs(1));
    let received = messages(&net.take_events());
    assert_eq!(received.len(), 1, "{received:?}");
    let (node, message) = &received[0];
    assert_eq!(*node, bob);
    assert_eq!(message.value, json!("through the onion"));
    assert_eq!(
        message.from.key, alice_key,
        "the sender is alice, not the relay"
    );
    assert_eq!(message.protection, Protection::Sealed);
    assert_eq!(net.node(relay).stats().transport.forwarded, 1);
    assert_eq!(net.node(relay).stats().queries.delivered, 0);
    assert!(
        !net.node(alice).has_session(&bob_id.key.node_id()),
        "onion sends start no session with the recipient"
    );
}

#[test]
fn two_relays_each_peel_one_layer() {
    let mut net = SimNetwork::new(11, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
    let first = net.add_node("first", 2, Config::default(), &[]);
    let second = net.add_node("second", 3, Config::default(), &[]);
    let bob = net.add_node("bob", 4, Config::default(), &["bob"]);
    let via = [net.identity(first, "relay"), net.identity(second, "relay")];
    let bob_id = net.identity(bob, "bob");

    send_via(&mut net, alice, "alice", &bob_id, &via, json!({"hops": 2}));
    net.run_for(Duration::from_secs(1));
    let received = messages(&net.take_events());
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].0, bob);
    assert_eq!(net.node(first).stats().transport.forwarded, 1);
    assert_eq!(net.node(second).stats().transport.forwarded, 1);
}

#[test]
fn the_default_route_carries_frames_for_addresses_we_cannot_reach() {
    let mut net = SimNetwork::new(12, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
    let gateway = net.add_node("gateway", 2, Config::default(), &["carol"]);
    let gateway_id = net.identity(gateway, "gateway");
    // carol is a client of the gateway with no network address of its own.
    let carol = PublicIdentity {
        name: "carol".into(),
        location: Address::local("carol"),
        key: gateway_id.key,
    };
    net.command(
        alice,
        Command::SetDefaultRoute {
            route: Some(gateway_id),
        },
    )
    .unwrap();

    send(
        &mut net,
        alice,
        "alice",
        &carol,
        json!("via the default route"),
    );
    net.run_for(Duration::from_secs(1));
    let received = messages(&net.take_events());
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].0, gateway);
    assert_eq!(received[0].1.to, "carol");
}

#[test]
fn without_a_default_route_unreachable_recipients_are_a_send_error() {
    let mut net = SimNetwork::new(13, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
    let key = net.identity(alice, "alice").key;
    let pigeon = PublicIdentity {
        name: "p".into(),
        location: Address::other("pigeon", None, Some("p")).unwrap(),
        key,
    };
    let err = net
        .command(
            alice,
            Command::Send {
                from: "alice".into(),
                to: pigeon,
                via: vec![],
                value: json!(1),
            },
        )
        .unwrap_err();
    assert!(err.contains("no route"), "{err}");
}

#[test]
fn a_default_route_loop_dies_at_the_hop_limit() {
    let config = Config::default().with_max_hops(4);
    let mut net = SimNetwork::new(14, LinkConditions::PERFECT);
    let a = net.add_node("a", 1, config.clone(), &["a"]);
    let b = net.add_node("b", 2, config, &["b"]);
    let a_id = net.identity(a, "a");
    let b_id = net.identity(b, "b");
    net.command(a, Command::SetDefaultRoute { route: Some(b_id) })
        .unwrap();
    net.command(
        b,
        Command::SetDefaultRoute {
            route: Some(a_id.clone()),
        },
    )
    .unwrap();
    // Nobody can reach a pigeon address: each node hands the frame to the other.
    let pigeon = PublicIdentity {
        name: "p".into(),
        location: Address::other("pigeon", None, Some("p")).unwrap(),
        key: a_id.key,
    };

    send(&mut net, a, "a", &pigeon, json!("round and round"));
    net.run_for(Duration::from_secs(5));
    let dropped = net.node(a).stats().transport.dropped_hop_limit
        + net.node(b).stats().transport.dropped_hop_limit;
    let forwarded =
        net.node(a).stats().transport.forwarded + net.node(b).stats().transport.forwarded;
    assert_eq!(dropped, 1, "the loop ends in exactly one drop");
    // max_hops wraps in all: the sender's own, then one per forward, then the drop.
    assert_eq!(
        forwarded, 3,
        "max_hops - 1 forwards after the sender's wrap"
    );
    assert!(messages(&net.take_events()).is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Onion-relayed messages over bad links arrive at most once, from their true sender, and
    /// only at their recipient.
    #[test]
    fn relayed_messages_arrive_at_most_once_over_lossy_links(
        seed in any::<u64>(),
        loss in 0.0f64..0.3,
        duplicate in 0.0f64..0.3,
        count in 1usize..8,
    ) {
        let conditions = LinkConditions {
            loss,
            duplicate,
            min_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(40),
        };
        let mut net = SimNetwork::new(seed, conditions);
        let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
        let relay = net.add_node("relay", 2, Config::default(), &["relay"]);
        let bob = net.add_node("bob", 3, Config::default(), &["bob"]);
        let alice_key = net.identity(alice, "alice").key;
        let relay_id = net.identity(relay, "relay");
        let bob_id = net.identity(bob, "bob");
        for n in 0..count {
            send_via(&mut net, alice, "alice", &bob_id, std::slice::from_ref(&relay_id), json!(n));
        }
        net.run_for(Duration::from_secs(5));
        let received = messages(&net.take_events());
        let mut seen = std::collections::BTreeSet::new();
        for (node, message) in &received {
            prop_assert_eq!(*node, bob);
            prop_assert_eq!(message.from.key, alice_key);
            prop_assert!(seen.insert(message.id));
        }
        if loss == 0.0 {
            prop_assert_eq!(received.len(), count);
        }
    }
}

#[test]
fn a_query_through_a_relay_is_answered_through_a_relay() {
    let mut net = SimNetwork::new(15, LinkConditions::PERFECT);
    let alice = net.add_node("alice", 1, Config::default(), &["alice"]);
    let relay = net.add_node("relay", 2, Config::default(), &[]);
    let bob = net.add_node("bob", 3, Config::default(), &["bob"]);
    let relay_id = net.identity(relay, "relay");
    let bob_id = net.identity(bob, "bob");
    let query = net
        .command_with_id(
            alice,
            Command::Query {
                from: "alice".into(),
                to: bob_id,
                via: vec![relay_id.clone()],
                value: json!("who is there?"),
                options: ejtp_proto::QueryOptions::default(),
            },
        )
        .unwrap()
        .unwrap();
    net.run_for(Duration::from_millis(100));
    let asked = messages(&net.take_events()).remove(0).1;
    assert_eq!(asked.value, json!("who is there?"));
    net.command(
        bob,
        Command::Reply {
            from: "bob".into(),
            to: Box::new(asked),
            via: vec![relay_id],
            value: json!("bob"),
        },
    )
    .unwrap();
    net.run_for(Duration::from_millis(100));
    let replies: Vec<_> = net
        .take_events()
        .into_iter()
        .filter_map(|(node, event)| match event {
            ejtp_proto::Event::Query(ejtp_proto::QueryEvent::Reply {
                query: id,
                message,
                late,
            }) => Some((node, id, message, late)),
            _ => None,
        })
        .collect();
    assert_eq!(replies.len(), 1);
    let (node, id, message, late) = &replies[0];
    assert_eq!((*node, *id, *late), (alice, query, false));
    assert_eq!(message.value, json!("bob"));
    assert_eq!(
        net.node(relay).stats().transport.forwarded,
        2,
        "both ways through the relay"
    );
}
