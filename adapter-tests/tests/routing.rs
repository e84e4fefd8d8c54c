//! The routing table on every adapter: a peer's TCP address that refuses connections is
//! reported to the node, which sends the message again on the peer's UDP address; a peer known
//! by key only is found by a lookup through another peer. Loopback only; every wait is bounded.

mod common;

use std::net::TcpListener;

use common::{WAIT, ipv4, next_matching, options};
use ejtp_adapter_tests::{TestHandle, TestNode, for_each_adapter};
use ejtp_proto::RoutingEvent;
use ejtp_proto::{Address, Event};
use serde_json::json;

fn a_refused_tcp_address_falls_back_to_udp<N: TestNode>() {
    let alice = N::bind(options(1).udp(ipv4()).client("alice"));
    let mut bob = N::bind(options(2).udp(ipv4()).client("bob"));
    // A loopback port nobody listens on: connecting to it is refused at once.
    let closed = {
        let listener = TcpListener::bind(ipv4()).unwrap();
        listener.local_addr().unwrap()
    };
    let handle = alice.handle();
    let bob_key = bob.public_key();
    assert!(
        handle
            .add_route(&bob_key, &Address::tcp(closed, None), Some(200))
            .unwrap()
    );
    let udp = bob.identity("bob").location.without_callsign();
    assert!(handle.add_route(&bob_key, &udp, Some(100)).unwrap());
    let value = json!({"over": "whatever works"});
    handle
        .send_to_peer("alice", &bob_key, "bob", value.clone())
        .unwrap();
    let message = bob
        .next_message(WAIT)
        .unwrap_or_else(|| panic!("{}: bob got nothing", N::ADAPTER));
    assert_eq!(message.value, value, "{}", N::ADAPTER);
    assert!(
        alice.stats().routing.transmits_failed >= 1,
        "{}",
        N::ADAPTER
    );
    alice.shutdown();
    bob.shutdown();
}

fn a_peer_known_by_key_only_is_found_through_another<N: TestNode>() {
    let mut alice = N::bind(options(3).udp(ipv4()).client("alice"));
    let relay = N::bind(options(4).udp(ipv4()).client("relay"));
    let mut bob = N::bind(options(5).udp(ipv4()).client("bob"));
    let mut relay = relay;
    let bob_key = bob.public_key();
    let bob_udp = bob.identity("bob").location.without_callsign();
    assert!(relay.handle().add_route(&bob_key, &bob_udp, None).unwrap());
    next_matching(&mut relay, "the relay fetches bob's record", |event| {
        matches!(event, Event::Routing(RoutingEvent::PeerFound { peer, .. }) if peer == bob_key.node_id()).then_some(())
    });
    let relay_udp = relay.identity("relay").location.without_callsign();
    let handle = alice.handle();
    assert!(
        handle
            .add_route(&relay.public_key(), &relay_udp, None)
            .unwrap()
    );
    let value = json!({"found": "by lookup"});
    handle
        .send_to_peer("alice", &bob_key, "bob", value.clone())
        .unwrap();
    next_matching(&mut alice, "alice finds bob", |event| {
        matches!(event, Event::Routing(RoutingEvent::PeerFound { peer, .. }) if peer == bob_key.node_id()).then_some(())
    });
    let message = bob
        .next_message(WAIT)
        .unwrap_or_else(|| panic!("{}: bob got nothing", N::ADAPTER));
    assert_eq!(message.value, value, "{}", N::ADAPTER);
    assert_eq!(message.from.key, alice.public_key(), "{}", N::ADAPTER);
    alice.shutdown();
    relay.shutdown();
    bob.shutdown();
}

for_each_adapter!(
    a_refused_tcp_address_falls_back_to_udp,
    a_peer_known_by_key_only_is_found_through_another,
);
