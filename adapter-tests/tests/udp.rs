//! Two nodes exchanging signed, encrypted messages over UDP on IPv4 and IPv6 loopback, on
//! every adapter.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{ipv4, ipv6, next_message, options, sender_of};
use ejtp_adapter_tests::{TestNode, for_each_adapter};
use ejtp_proto::{Address, Protection};
use serde_json::json;

/// Alice writes to bob, bob answers at the address alice signed, and alice goes on writing
/// until her messages travel in the Noise session the first message started.
fn exchange<N: TestNode>(localhost: SocketAddr) {
    let mut alice = N::bind(options(1).udp(localhost).client("alice"));
    let mut bob = N::bind(options(2).udp(localhost).client("bob"));
    let alice_addr = alice.udp_addrs()[0];
    assert_eq!(alice.udp_addrs().len(), 1);
    assert_eq!(alice_addr.ip(), localhost.ip());
    assert_ne!(
        alice_addr.port(),
        0,
        "the actual port, not the one asked for"
    );
    assert!(alice.tcp_addrs().is_empty());
    assert_eq!(alice.node_id(), alice.public_key().node_id());

    let sent = alice.send("alice", &bob.identity("bob"), json!({"hello": "bob"}));
    let message = next_message(&mut bob);
    assert_eq!(message.id, sent);
    assert_eq!(message.to, "bob");
    assert_eq!(message.value, json!({"hello": "bob"}));
    assert_eq!(message.from.key, alice.public_key());
    assert_eq!(message.from.node_id, alice.node_id());
    assert_eq!(
        message.from.address,
        Address::udp(alice_addr, Some("alice"))
    );
    assert_eq!(message.protection, Protection::Sealed);

    bob.send("bob", &sender_of(&message), json!("hello alice"));
    let reply = next_message(&mut alice);
    assert_eq!(reply.value, json!("hello alice"));
    assert_eq!(reply.from.key, bob.public_key());
    assert_ne!(reply.protection, Protection::Local);

    let mut protections = Vec::new();
    for n in 0..50 {
        let id = alice.send("alice", &bob.identity("bob"), json!(n));
        let message = next_message(&mut bob);
        assert_eq!(message.value, json!(n));
        assert_eq!(message.id, id, "the receiver sees the id the sender got");
        protections.push(message.protection);
        if message.protection == Protection::Session {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        protections.last(),
        Some(&Protection::Session),
        "{}: a session came up: {protections:?}",
        N::ADAPTER
    );
    let stats = bob.stats();
    assert_eq!(
        stats.queries.delivered,
        1 + protections.len() as u64,
        "{stats:?}"
    );
    assert!(stats.transport.datagrams_received >= 3, "{stats:?}");
    assert_eq!(stats.transport.stream_frames_received, 0);

    alice.shutdown();
    bob.shutdown();
}

fn messages_cross_udp_over_ipv4<N: TestNode>() {
    exchange::<N>(ipv4());
}

fn messages_cross_udp_over_ipv6<N: TestNode>() {
    exchange::<N>(ipv6());
}

fn a_node_on_both_families_answers_each_on_its_own<N: TestNode>() {
    let mut both = N::bind(options(3).udp(ipv4()).udp(ipv6()).client("both"));
    let mut v4 = N::bind(options(4).udp(ipv4()).client("v4"));
    let mut v6 = N::bind(options(5).udp(ipv6()).client("v6"));
    assert!(both.udp_addrs()[0].is_ipv4() && both.udp_addrs()[1].is_ipv6());

    v4.send("v4", &both.identity("both"), json!(4));
    let from_v4 = next_message(&mut both);
    let mut at_v6 = both.identity("both");
    at_v6.location = Address::udp(both.udp_addrs()[1], Some("both"));
    v6.send("v6", &at_v6, json!(6));
    let from_v6 = next_message(&mut both);
    assert_eq!((from_v4.value, from_v6.value.clone()), (json!(4), json!(6)));

    // Each answer leaves from the socket of the peer's family.
    both.send("both", &sender_of(&from_v6), json!("to v6"));
    assert_eq!(next_message(&mut v6).value, json!("to v6"));
    both.send("both", &v4.identity("v4"), json!("to v4"));
    assert_eq!(next_message(&mut v4).value, json!("to v4"));

    both.shutdown();
    v4.shutdown();
    v6.shutdown();
}

fn a_datagram_to_a_family_without_a_socket_is_dropped_not_fatal<N: TestNode>() {
    let alice = N::bind(options(5).udp(ipv4()).client("alice"));
    let mut bob = N::bind(options(6).udp(ipv6()).client("bob"));
    // Alice has no IPv6 socket: the send is accepted, the datagram cannot go out.
    alice.send("alice", &bob.identity("bob"), json!(1));
    assert!(bob.next_message(Duration::from_millis(200)).is_none());
    // The node goes on working.
    let mut carol = N::bind(options(7).udp(ipv4()).client("carol"));
    alice.send("alice", &carol.identity("carol"), json!(2));
    assert_eq!(next_message(&mut carol).value, json!(2));
    for node in [alice, bob, carol] {
        node.shutdown();
    }
}

/// Path MTU probes leave through the adapter's don't-fragment send (on Linux, the socket in
/// probe mode for that one datagram). On loopback the 65 507-byte probe fits the interface and
/// crosses: alice then sends a 40 000-byte message in one datagram, with no fragment of the
/// protocol's own, and her socket is back to normal for everything else.
fn a_probe_with_the_dont_fragment_bit_crosses_loopback<N: TestNode>() {
    let alice = N::bind(options(8).udp(ipv4()).client("alice"));
    let mut bob = N::bind(options(9).udp(ipv4()).client("bob"));
    let to_bob = bob.identity("bob");
    for n in 0..50 {
        alice.send("alice", &to_bob, json!(n));
        if next_message(&mut bob).protection == Protection::Session {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The probe follows the handshake at once; its acknowledgement takes a loopback round
    // trip.
    std::thread::sleep(Duration::from_millis(300));
    let padding = "p".repeat(40_000);
    alice.send("alice", &to_bob, json!({ "padding": padding }));
    assert_eq!(next_message(&mut bob).value["padding"], json!(padding));
    let stats = alice.stats();
    assert!(
        stats.transport.path_probes_sent >= 1,
        "{}: {stats:?}",
        N::ADAPTER
    );
    assert_eq!(
        stats.transport.fragments_sent,
        0,
        "{}: {stats:?}",
        N::ADAPTER
    );
    alice.shutdown();
    bob.shutdown();
}

for_each_adapter! {
    messages_cross_udp_over_ipv4,
    messages_cross_udp_over_ipv6,
    a_node_on_both_families_answers_each_on_its_own,
    a_datagram_to_a_family_without_a_socket_is_dropped_not_fatal,
    a_probe_with_the_dont_fragment_bit_crosses_loopback,
}
