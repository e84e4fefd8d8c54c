//! The same behaviour on every runtime: each scenario runs against every adapter and across
//! adapters, on real loopback sockets.

use std::time::Duration;

use ejtp_adapter_core::NodeOptions;
use ejtp_adapter_tests::{SmolNode, StdNode, TestNode, TokioNode};
use ejtp_proto::{Identity, Protection};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(5);

fn options(key: u8, callsign: &str) -> NodeOptions {
    NodeOptions::new(Identity::from_secret_bytes(&[key; 32]))
        .udp("127.0.0.1:0".parse().unwrap())
        .tcp("127.0.0.1:0".parse().unwrap())
        .client(callsign)
}

/// Alice (on adapter A) and bob (on adapter B) exchange signed, encrypted messages over UDP:
/// the first sealed, the next on the Noise session, and a reply.
fn udp_exchange<A: TestNode, B: TestNode>() {
    let context = format!("{} -> {}", A::ADAPTER, B::ADAPTER);
    let alice = A::bind(options(1, "alice"));
    let mut bob = B::bind(options(2, "bob"));
    let bob_id = bob.identity("bob");
    let alice_id = alice.identity("alice");
    let mut alice = alice;

    let first = alice.send("alice", &bob_id, json!({"n": 1}));
    let message = bob
        .next_message(WAIT)
        .unwrap_or_else(|| panic!("{context}: first message lost"));
    assert_eq!(message.id, first, "{context}");
    assert_eq!(message.value, json!({"n": 1}), "{context}");
    assert_eq!(
        message.from.key, alice_id.key,
        "{context}: the sender is authenticated"
    );
    assert_eq!(message.protection, Protection::Sealed, "{context}");

    // Give the handshake its round trip, then the next message rides the session.
    std::thread::sleep(Duration::from_millis(200));
    alice.send("alice", &bob_id, json!({"n": 2}));
    let message = bob
        .next_message(WAIT)
        .unwrap_or_else(|| panic!("{context}: second message lost"));
    assert_eq!(message.value, json!({"n": 2}), "{context}");
    assert_eq!(
        message.protection,
        Protection::Session,
        "{context}: steady traffic uses the session"
    );

    let reply_to = ejtp_proto::PublicIdentity {
        location: message.from.address,
        ..alice_id
    };
    bob.send("bob", &reply_to, json!("pong"));
    let reply = alice
        .next_message(WAIT)
        .unwrap_or_else(|| panic!("{context}: reply lost"));
    assert_eq!(reply.value, json!("pong"), "{context}");
    assert_eq!(reply.from.key, bob_id.key, "{context}");
    alice.shutdown();
    bob.shutdown();
}

/// The same over TCP: several messages on one connection.
fn tcp_exchange<A: TestNode, B: TestNode>() {
    let context = format!("{} -> {} over TCP", A::ADAPTER, B::ADAPTER);
    let alice = A::bind(options(3, "alice"));
    let mut bob = B::bind(options(4, "bob"));
    let bob_tcp = bob.tcp_identity("bob");
    for n in 0..3 {
        alice.send("alice", &bob_tcp, json!([n, "tcp"]));
        let message = bob
            .next_message(WAIT)
            .unwrap_or_else(|| panic!("{context}: message {n} lost"));
        assert_eq!(message.value, json!([n, "tcp"]), "{context}");
    }
    assert!(
        bob.stats().transport.stream_frames_received >= 3,
        "{context}: the frames came over TCP"
    );
    alice.shutdown();
    bob.shutdown();
}

/// Alice sends to bob through a relay; bob learns it came from alice, the relay only forwards.
fn onion_relay<A: TestNode, R: TestNode, B: TestNode>() {
    let context = format!("{} -> {} -> {}", A::ADAPTER, R::ADAPTER, B::ADAPTER);
    let alice = A::bind(options(5, "alice"));
    let mut relay = R::bind(options(6, "relay"));
    let mut bob = B::bind(options(7, "bob"));
    let relay_id = relay.identity("relay");
    let bob_id = bob.identity("bob");
    let alice_key = alice.identity("alice").key;

    alice.send_via("alice", &bob_id, &[relay_id], json!("through the onion"));
    let message = bob
        .next_message(WAIT)
        .unwrap_or_else(|| panic!("{context}: relayed message lost"));
    assert_eq!(message.value, json!("through the onion"), "{context}");
    assert_eq!(
        message.from.key, alice_key,
        "{context}: bob sees alice, not the relay"
    );
    assert!(
        relay.next_message(Duration::from_millis(100)).is_none(),
        "{context}: the relay reads nothing"
    );
    assert_eq!(relay.stats().transport.forwarded, 1, "{context}");
    alice.shutdown();
    relay.shutdown();
    bob.shutdown();
}

macro_rules! same_behaviour {
    ($($name:ident: $test:ident::<$($adapter:ty),+>;)*) => {
        $(
            #[test]
            fn $name() {
                $test::<$($adapter),+>();
            }
        )*
    };
}

same_behaviour! {
    udp_std: udp_exchange::<StdNode, StdNode>;
    udp_tokio: udp_exchange::<TokioNode, TokioNode>;
    udp_smol: udp_exchange::<SmolNode, SmolNode>;
    udp_std_with_tokio: udp_exchange::<StdNode, TokioNode>;
    udp_tokio_with_std: udp_exchange::<TokioNode, StdNode>;
    udp_tokio_with_smol: udp_exchange::<TokioNode, SmolNode>;
    udp_smol_with_tokio: udp_exchange::<SmolNode, TokioNode>;
    udp_smol_with_std: udp_exchange::<SmolNode, StdNode>;
    tcp_std: tcp_exchange::<StdNode, StdNode>;
    tcp_tokio: tcp_exchange::<TokioNode, TokioNode>;
    tcp_smol: tcp_exchange::<SmolNode, SmolNode>;
    tcp_std_with_tokio: tcp_exchange::<StdNode, TokioNode>;
    tcp_tokio_with_smol: tcp_exchange::<TokioNode, SmolNode>;
    onion_std: onion_relay::<StdNode, StdNode, StdNode>;
    onion_tokio: onion_relay::<TokioNode, TokioNode, TokioNode>;
    onion_smol: onion_relay::<SmolNode, SmolNode, SmolNode>;
    onion_across_runtimes: onion_relay::<StdNode, TokioNode, SmolNode>;
}
