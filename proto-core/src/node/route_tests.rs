//! Unit tests of routing through the node's API: fallback on a failed transmit, fast fail,
//! bounds. Lookups across several nodes are tested over simulated networks in `testvectors`.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;
use core::time::Duration;

use serde_json::json;

use super::test_support::*;
use super::*;
use crate::address::Address;
use crate::error::SendError;
use crate::query::QueryOptions;
use crate::{QueryEvent, RoutingEvent};

fn udp(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn node(key: u8, config: Config) -> Node {
    udp_node_with_client(key, config, "c")
}

fn transmits(node: &mut Node) -> Vec<Transmit> {
    core::iter::from_fn(|| node.poll_transmit()).collect()
}

fn events(node: &mut Node) -> Vec<Event> {
    core::iter::from_fn(|| node.poll_event()).collect()
}

/// Sessions off: every message is one sealed frame, so each transmit is the message itself.
fn sealed_only() -> Config {
    Config {
        sessions: false,
        ..Config::default()
    }
}

#[test]
fn a_failed_transmit_is_sent_again_on_the_next_address_with_the_same_id() {
    let now = Instant::ZERO;
    let mut alice = node(1, sealed_only());
    let mut bob = node(2, sealed_only());
    let (first, second) = (
        Address::udp(udp(9002), None),
        Address::tcp(udp(10_002), None),
    );
    assert!(alice.routes().add(now, bob.public_key(), &first, Some(200)));
    assert!(
        alice
            .routes()
            .add(now, bob.public_key(), &second, Some(100))
    );
    transmits(&mut alice); // the request for bob's record
    let id = alice
        .send_to_peer(now, "c", &bob.public_key(), "c", json!({"n": 1}))
        .unwrap();
    let [sent] = transmits(&mut alice).try_into().unwrap();
    assert_eq!(
        sent.to,
        TransportAddr::udp(udp(9002)),
        "the preferred address first"
    );
    alice.handle_transmit_failed(now, sent.to, &sent.payload);
    let [again] = transmits(&mut alice).try_into().unwrap();
    assert_eq!(
        again.to,
        TransportAddr::tcp(udp(10_002)),
        "then the next one"
    );
    assert!(
        events(&mut alice).is_empty(),
        "nothing to report: the message went on"
    );
    bob.handle_stream_data(now, TransportAddr::tcp(udp(40_000)), &again.payload);
    let Some(Event::Message(message)) = bob.poll_event() else {
        panic!("bob got nothing");
    };
    assert_eq!(message.id, id, "the same message, not a new one");
    // The failed address is skipped from now on.
    assert_eq!(alice.routes().addresses_of(&bob.node_id()), [second, first]);
    alice
        .send_to_peer(now, "c", &bob.public_key(), "c", json!({"n": 2}))
        .unwrap();
    assert_eq!(transmits(&mut alice)[0].to, TransportAddr::tcp(udp(10_002)));
    // Until `route_retry_after` has passed.
    let later = now + Config::default().route_retry_after;
    alice
        .send_to_peer(later, "c", &bob.public_key(), "c", json!({"n": 3}))
        .unwrap();
    assert_eq!(transmits(&mut alice)[0].to, TransportAddr::udp(udp(9002)));
}

#[test]
fn a_query_to_a_peer_with_no_address_left_ends_once_as_unreachable() {
    let now = Instant::ZERO;
    let mut alice = node(1, sealed_only());
    let bob = node(2, sealed_only());
    let to = PublicIdentity {
        name: String::new(),
        location: Address::udp(udp(9002), Some("c")),
        key: bob.public_key(),
    };
    let query = alice
        .query(now, "c", &to, json!({"q": 1}), QueryOptions::default())
        .unwrap();
    let [sent] = transmits(&mut alice).try_into().unwrap();
    alice.handle_transmit_failed(now, sent.to, &sent.payload);
    assert_eq!(
        events(&mut alice),
        [Event::Query(QueryEvent::Unreachable { query })]
    );
    alice.handle_timeout(now + Duration::from_secs(60));
    let later = events(&mut alice);
    assert!(
        later.iter().all(|event| !matches!(
            event,
            Event::Query(QueryEvent::TimedOut { .. })
                | Event::Query(QueryEvent::Unreachable { .. })
        )),
        "a query ends once: {later:?}"
    );
    assert_eq!(alice.stats().routing.transmits_failed, 1);
}

#[test]
fn a_failed_plain_message_is_reported_with_its_id() {
    let now = Instant::ZERO;
    let mut alice = node(1, sealed_only());
    let bob = node(2, sealed_only());
    let to = PublicIdentity {
        name: String::new(),
        location: Address::udp(udp(9002), Some("c")),
        key: bob.public_key(),
    };
    let id = alice.send(now, "c", &to, json!({"n": 1})).unwrap();
    let [sent] = transmits(&mut alice).try_into().unwrap();
    alice.handle_transmit_failed(now, sent.to, &sent.payload);
    assert_eq!(
        events(&mut alice),
        [Event::Routing(RoutingEvent::Unreachable {
            peer: bob.node_id(),
            message: Some(id)
        })]
    );
    // With the only address failed and nobody to ask, the next send is refused at once.
    assert_eq!(
        alice.send(now, "c", &to, json!({"n": 2})),
        Err(SendError::Unreachable)
    );
}

#[test]
fn sending_by_key_to_an_unknown_peer_with_nobody_to_ask_is_refused() {
    let mut alice = node(1, Config::default());
    let stranger = Identity::from_secret_bytes(&[9; 32]).public_key();
    assert_eq!(
        alice.send_to_peer(Instant::ZERO, "c", &stranger, "c", json!({})),
        Err(SendError::Unreachable)
    );
    assert!(transmits(&mut alice).is_empty());
}

#[test]
fn messages_waiting_for_a_lookup_are_bounded() {
    let now = Instant::ZERO;
    let mut alice = node(
        1,
        Config {
            max_waiting_messages: 1,
            ..Config::default()
        },
    );
    let relay = Identity::from_secret_bytes(&[3; 32]).public_key();
    alice
        .routes()
        .add(now, relay, &Address::udp(udp(9003), None), None);
    let stranger = Identity::from_secret_bytes(&[9; 32]).public_key();
    assert!(
        alice
            .send_to_peer(now, "c", &stranger, "c", json!({"n": 1}))
            .is_ok()
    );
    assert_eq!(
        alice.send_to_peer(now, "c", &stranger, "c", json!({"n": 2})),
        Err(SendError::Unreachable)
    );
    // Nobody answers: after every round the lookup fails and the waiting message is reported.
    for second in 1..=4 {
        alice.handle_timeout(now + Duration::from_secs(second));
    }
    let ended = events(&mut alice);
    assert!(ended.contains(&Event::Routing(RoutingEvent::LookupFailed {
        peer: stranger.node_id()
    })));
    assert!(ended.iter().any(|event| matches!(
        event,
        Event::Routing(RoutingEvent::Unreachable { peer, message: Some(_) }) if *peer == stranger.node_id()
    )));
}

#[test]
fn the_routing_table_keeps_at_most_max_routes_peers() {
    let now = Instant::ZERO;
    let mut alice = node(
        1,
        Config {
            max_routes: 2,
            ..Config::default()
        },
    );
    let keys: Vec<PublicKey> = (10..13)
        .map(|byte| Identity::from_secret_bytes(&[byte; 32]).public_key())
        .collect();
    for (index, key) in keys.iter().enumerate() {
        let later = now + Duration::from_millis(index as u64);
        alice.routes().add(
            later,
            *key,
            &Address::udp(udp(9100 + index as u16), None),
            None,
        );
    }
    assert!(
        alice.routes().addresses_of(&keys[0].node_id()).is_empty(),
        "the oldest went"
    );
    assert_eq!(alice.routes().addresses_of(&keys[2].node_id()).len(), 1);
}
