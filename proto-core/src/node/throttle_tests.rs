//! Unit tests of throttling: a throttled send hands its value back and the peer is reported
//! writable once it has a token.

use alloc::vec::Vec;
use core::time::Duration;

use serde_json::json;

use super::test_support::*;
use super::*;
use crate::address::Address;
use crate::error::SendError;
use crate::io::TimerReason;

fn node(key: u8, config: Config) -> Node {
    udp_node_with_client(key, config, "c")
}

fn peer(key: u8) -> PublicIdentity {
    let port = 9000 + u16::from(key);
    PublicIdentity {
        name: "peer".into(),
        location: Address::udp(
            core::net::SocketAddr::from(([127, 0, 0, 1], port)),
            Some("c"),
        ),
        key: Identity::from_secret_bytes(&[key; 32]).public_key(),
    }
}

fn events(node: &mut Node) -> Vec<Event> {
    while node.poll_transmit().is_some() {}
    core::iter::from_fn(|| node.poll_event()).collect()
}

fn throttled(rate: u32, burst: u32) -> Config {
    Config {
        peer_rate: rate,
        peer_burst: burst,
        sessions: false,
        ..Config::default()
    }
}

#[test]
fn a_throttled_send_hands_its_value_back_and_the_peer_becomes_writable() {
    let mut alice = node(1, throttled(2, 2));
    let bob = peer(2);
    let bob_transport = bob.location.transport().unwrap();
    alice.send(Instant::ZERO, "c", &bob, json!(1)).unwrap();
    alice.send(Instant::ZERO, "c", &bob, json!(2)).unwrap();
    let refused = alice.send(Instant::ZERO, "c", &bob, json!(3));
    assert_eq!(
        refused,
        Err(SendError::Throttled {
            peer: bob_transport,
            value: json!(3)
        })
    );
    // Another peer has its own bucket.
    alice.send(Instant::ZERO, "c", &peer(3), json!(4)).unwrap();
    let timeout = alice.poll_timeout().unwrap();
    assert_eq!(timeout.reason, TimerReason::Throttle);
    assert_eq!(timeout.at, Instant::from_millis(500));
    alice.handle_timeout(Instant::from_millis(499));
    assert!(
        !events(&mut alice).contains(&Event::Transport(TransportEvent::PeerWritable {
            peer: bob_transport
        }))
    );
    alice.handle_timeout(Instant::from_millis(500));
    assert_eq!(
        events(&mut alice),
        [Event::Transport(TransportEvent::PeerWritable {
            peer: bob_transport
        })]
    );
    alice
        .send(Instant::from_millis(500), "c", &bob, json!(3))
        .unwrap();
    assert!(
        alice
            .poll_timeout()
            .is_none_or(|t| t.reason != TimerReason::Throttle)
    );
}

#[test]
fn the_overall_rate_limits_every_peer_together() {
    let mut alice = node(
        1,
        Config {
            total_rate: 1,
            total_burst: 3,
            sessions: false,
            ..Config::default()
        },
    );
    let sent = (2..10u8)
        .filter(|key| {
            alice
                .send(Instant::ZERO, "c", &peer(*key), json!(0))
                .is_ok()
        })
        .count();
    assert_eq!(sent, 3);
    alice.handle_timeout(Instant::from_millis(1_000));
    let writable = events(&mut alice)
        .iter()
        .filter(|event| matches!(event, Event::Transport(TransportEvent::PeerWritable { .. })))
        .count();
    assert_eq!(writable, 5, "every refused peer hears it may try again");
}

#[test]
fn sends_are_unlimited_by_default() {
    let mut alice = node(
        1,
        Config {
            sessions: false,
            ..Config::default()
        },
    );
    for n in 0..500 {
        alice.send(Instant::ZERO, "c", &peer(2), json!(n)).unwrap();
        while alice.poll_transmit().is_some() {}
    }
    assert!(alice.poll_timeout().is_none());
    let _ = Duration::ZERO;
}
