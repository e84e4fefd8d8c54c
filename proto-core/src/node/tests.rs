//! Unit tests of the node's API contract; whole-network behaviour is tested over simulated
//! networks in the `testvectors` crate.

use alloc::string::ToString;
use alloc::vec::Vec;
use core::time::Duration;

use serde_json::json;

use super::test_support::*;
use super::*;
use crate::address::Address;
use crate::error::SendError;
use crate::event::Protection;
use crate::io::TimerReason;
use crate::transport::Protocol;

fn node(key: u8, config: Config) -> Node {
    udp_node(key, config)
}

fn drain(node: &mut Node) -> Vec<Output> {
    core::iter::from_fn(|| node.poll_output()).collect()
}

#[test]
fn clients_are_validated() {
    let mut alice = node(
        1,
        Config {
            max_clients: 2,
            ..Config::default()
        },
    );
    assert_eq!(alice.add_client(""), Err(CommandError::InvalidCallsign));
    assert_eq!(
        alice.add_client(&"x".repeat(65)),
        Err(CommandError::InvalidCallsign)
    );
    alice.add_client("a").unwrap();
    assert_eq!(
        alice.add_client("a"),
        Err(CommandError::DuplicateClient("a".to_string()))
    );
    alice.add_client("b").unwrap();
    assert_eq!(alice.add_client("c"), Err(CommandError::TooManyClients));
    alice.remove_client("a");
    alice.add_client("c").unwrap();
}

#[test]
fn local_addresses_are_bounded() {
    let mut alice = node(1, Config::default());
    for port in 1..MAX_LOCAL_ADDRESSES as u16 {
        alice
            .add_local_address(Address::tcp(
                core::net::SocketAddr::from(([127, 0, 0, 1], port)),
                None,
            ))
            .unwrap();
    }
    let one_more = Address::tcp(core::net::SocketAddr::from(([127, 0, 0, 2], 1)), None);
    assert_eq!(
        alice.add_local_address(one_more),
        Err(CommandError::TooManyAddresses)
    );
}

#[test]
fn send_errors_are_typed() {
    let mut alice = node(1, Config::default());
    alice.add_client("alice").unwrap();
    let bob = node(2, Config::default()).public_identity("bob", "bob");
    assert_eq!(
        alice.send(Instant::ZERO, "nobody", &bob, json!(1)),
        Err(SendError::UnknownClient("nobody".to_string()))
    );
    assert_eq!(
        alice.send(Instant::ZERO, "alice", &bob, json!(1.5)),
        Err(SendError::InvalidValue(crate::json::JsonError::Float))
    );
    let too_big = json!("x".repeat(Config::default().max_message_len));
    assert!(matches!(
        alice.send(Instant::ZERO, "alice", &bob, too_big),
        Err(SendError::TooLarge { .. })
    ));
    assert!(drain(&mut alice).is_empty(), "failed sends emit nothing");
    // Larger than a datagram but within `max_message_len`: held for the session, whose
    // handshake starts; it then goes in fragments.
    let big = json!("x".repeat(70_000));
    assert!(alice.send(Instant::ZERO, "alice", &bob, big).is_ok());
    assert_eq!(alice.stats().transport.held_for_session, 1);
    let sent = drain(&mut alice)
        .into_iter()
        .filter(|output| matches!(output, Output::Transmit(_)))
        .count();
    assert_eq!(sent, 1, "only the handshake goes out");
}

#[test]
fn a_full_transmit_queue_hands_the_value_back_then_says_writable() {
    let config = Config {
        max_queued_transmits: 4,
        sessions: false,
        ..Config::default()
    };
    let mut alice = node(1, config);
    alice.add_client("alice").unwrap();
    let bob = node(2, Config::default()).public_identity("bob", "bob");
    for n in 0..4 {
        alice.send(Instant::ZERO, "alice", &bob, json!(n)).unwrap();
    }
    assert_eq!(
        alice.send(Instant::ZERO, "alice", &bob, json!("fifth")),
        Err(SendError::Blocked(json!("fifth")))
    );
    let outputs = drain(&mut alice);
    let transmits = outputs
        .iter()
        .filter(|output| matches!(output, Output::Transmit(_)))
        .count();
    assert_eq!(transmits, 4);
    assert_eq!(
        outputs.last(),
        Some(&Output::Event(Event::Transport(TransportEvent::Writable)))
    );
    alice
        .send(Instant::ZERO, "alice", &bob, json!("fifth"))
        .unwrap();
}

#[test]
fn clients_of_one_node_talk_without_the_network() {
    let mut alice = node(1, Config::default());
    alice.add_client("a").unwrap();
    alice.add_client("b").unwrap();
    let b = alice.public_identity("node", "b");
    let id = alice
        .send(Instant::ZERO, "a", &b, json!("next door"))
        .unwrap();
    let outputs = drain(&mut alice);
    let [Output::Event(Event::Message(message))] = outputs.as_slice() else {
        panic!("{outputs:?}")
    };
    assert_eq!(message.id, id);
    assert_eq!(message.to, "b");
    assert_eq!(message.from.address.callsign(), Some("a"));
    assert_eq!(message.protection, Protection::Local);
}

#[test]
fn the_first_send_is_sealed_and_starts_a_handshake() {
    let mut alice = node(1, Config::default());
    alice.add_client("alice").unwrap();
    let bob = node(2, Config::default()).public_identity("bob", "bob");
    alice
        .send(Instant::ZERO, "alice", &bob, json!("hi"))
        .unwrap();
    let outputs = drain(&mut alice);
    assert_eq!(outputs.len(), 2, "{outputs:?}");
    for output in &outputs {
        let Output::Transmit(transmit) = output else {
            panic!("{output:?}")
        };
        assert_eq!(transmit.to, bob.location.transport().unwrap());
        assert_eq!(transmit.payload.first(), Some(&b'r'));
    }
    let timeout = alice.poll_timeout().unwrap();
    assert_eq!(timeout.reason, TimerReason::HandshakeRetry);
    assert_eq!(
        timeout.at,
        Instant::ZERO + Config::default().handshake_timeout
    );
}

#[test]
fn handshakes_are_resent_then_abandoned_and_early_timeouts_do_nothing() {
    let config = Config {
        handshake_attempts: 2,
        ..Config::default()
    };
    let mut alice = node(1, config.clone());
    alice.add_client("alice").unwrap();
    let bob = node(2, Config::default()).public_identity("bob", "bob");
    alice
        .send(Instant::ZERO, "alice", &bob, json!("hi"))
        .unwrap();
    let first = drain(&mut alice);
    let early = Instant::ZERO + (config.handshake_timeout - Duration::from_millis(1));
    alice.handle_timeout(early);
    assert!(
        drain(&mut alice).is_empty(),
        "an early timeout does nothing"
    );
    let due = alice.poll_timeout().unwrap().at;
    alice.handle_timeout(due);
    let resent = drain(&mut alice);
    assert_eq!(
        resent,
        first[..1].to_vec(),
        "the same handshake bytes go out again (the handshake is sent before the message)"
    );
    let due = alice.poll_timeout().unwrap().at;
    alice.handle_timeout(due);
    assert_eq!(
        drain(&mut alice),
        [Output::Event(Event::Transport(
            TransportEvent::HandshakeFailed {
                peer: bob.key.node_id()
            }
        ))]
    );
}

#[test]
fn poll_timeout_is_never_in_the_past_and_time_never_goes_back() {
    let mut alice = node(1, Config::default());
    alice.add_client("alice").unwrap();
    let bob = node(2, Config::default()).public_identity("bob", "bob");
    alice
        .send(Instant::ZERO, "alice", &bob, json!("hi"))
        .unwrap();
    let later = Instant::from_millis(60_000);
    alice.handle_wall_clock(later, WALL.saturating_add(Duration::from_secs(60)));
    let timeout = alice.poll_timeout().unwrap();
    assert!(timeout.at >= later, "{timeout:?}");
    // An earlier `now` counts as the latest seen: the retry still happens, at `later`.
    alice.handle_timeout(Instant::ZERO);
    assert!(
        drain(&mut alice)
            .iter()
            .any(|output| matches!(output, Output::Transmit(_)))
    );
}

#[test]
fn same_inputs_give_the_same_bytes() {
    let run = || {
        let mut alice = node(1, Config::default());
        alice.add_client("alice").unwrap();
        let bob = node(2, Config::default()).public_identity("bob", "bob");
        alice
            .send(Instant::ZERO, "alice", &bob, json!({"deterministic": true}))
            .unwrap();
        drain(&mut alice)
    };
    assert_eq!(run(), run());
}

#[test]
fn broken_stream_framing_asks_for_the_stream_to_close() {
    let mut bob = node(
        2,
        Config {
            max_streams: 1,
            ..Config::default()
        },
    );
    let first = TransportAddr::tcp(core::net::SocketAddr::from(([127, 0, 0, 1], 5000)));
    let second = TransportAddr::tcp(core::net::SocketAddr::from(([127, 0, 0, 1], 5001)));
    bob.handle_stream_data(Instant::ZERO, first, b"1f");
    bob.handle_stream_data(Instant::ZERO, second, b"10");
    assert_eq!(
        drain(&mut bob),
        [Output::Event(Event::Transport(
            TransportEvent::StreamFailed { from: second }
        ))],
        "one partial stream at most"
    );
    bob.handle_stream_data(Instant::ZERO, first, b"zz.");
    assert_eq!(
        drain(&mut bob),
        [Output::Event(Event::Transport(
            TransportEvent::StreamFailed { from: first }
        ))]
    );
    assert_eq!(bob.stats().transport.dropped_malformed, 1);
    assert_eq!(first.protocol, Protocol::Tcp);
}

#[test]
fn cjp2p_datagrams_are_dropped_when_cjp2p_is_off() {
    let config = Config {
        cjp2p: crate::cjp2p::Cjp2pConfig {
            enabled: false,
            ..crate::cjp2p::Cjp2pConfig::default()
        },
        ..Config::default()
    };
    let mut bob = node(2, config);
    let from = TransportAddr::udp(core::net::SocketAddr::from(([127, 0, 0, 1], 24254)));
    bob.handle_datagram(
        Instant::ZERO,
        from,
        br#"[{"PleaseSendPeers":{}},{"FooBar":{}}]"#,
    );
    assert!(drain(&mut bob).is_empty());
    assert_eq!(bob.stats().transport.dropped_unsupported, 1);
    assert_eq!(bob.stats().cjp2p.cjp2p_datagrams, 0);
}
