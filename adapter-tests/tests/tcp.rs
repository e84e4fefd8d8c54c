//! TCP on every adapter: frames between nodes over one reused connection each way, idle
//! connections closed and opened again, connections that break the framing closed, failed
//! connects survived, and the least recently used connection closed to make room.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::{
    WAIT, accept_within, ipv4, ipv6, next_matching, next_message, options, sender_of, session_with,
};
use ejtp_adapter_core::Clock;
use ejtp_adapter_tests::{TestNode, for_each_adapter};
use ejtp_proto::TransportEvent;
use ejtp_proto::{Address, Config, Event, Identity, Protection, PublicIdentity, TransportAddr};
use serde_json::{Value, json};

/// Alice reaches bob's listener; bob's handshake answer comes back on the connection alice
/// opened; alice's session frames reuse it; bob's reply opens a connection to alice's
/// listener.
fn exchange<N: TestNode>(localhost: SocketAddr) {
    let mut alice = N::bind(options(1).tcp(localhost).client("alice"));
    let mut bob = N::bind(options(2).tcp(localhost).client("bob"));
    assert!(alice.udp_addrs().is_empty());
    let bob_id = bob.tcp_identity("bob");
    assert_eq!(
        bob_id.location,
        Address::tcp(bob.tcp_addrs()[0], Some("bob"))
    );
    assert_eq!(
        bob.identity("bob"),
        bob_id,
        "no UDP: located at the listener"
    );

    for n in 0..3 {
        alice.send("alice", &bob_id, json!(n));
    }
    for n in 0..3 {
        let message = next_message(&mut bob);
        assert_eq!(message.value, json!(n), "in order, on one connection");
        assert_eq!(message.from.key, alice.public_key());
        assert_eq!(
            message.from.address,
            Address::tcp(alice.tcp_addrs()[0], Some("alice")),
            "alice signs her TCP address"
        );
        if n == 0 {
            assert_eq!(message.protection, Protection::Sealed);
        }
    }
    // Bob answers the handshake to the address the connection came from: alice's side of the
    // connection she opened, which only that accepted connection reaches.
    session_with(&mut alice, bob.node_id());

    alice.send("alice", &bob_id, json!("in session"));
    let message = next_message(&mut bob);
    assert_eq!(message.value, json!("in session"));
    assert_eq!(message.protection, Protection::Session);

    // Bob answers at alice's listener, over a connection of his own.
    bob.send("bob", &sender_of(&message), json!("hello alice"));
    let reply = next_message(&mut alice);
    assert_eq!(reply.value, json!("hello alice"));
    assert_eq!(reply.from.key, bob.public_key());

    let stats = bob.stats();
    assert_eq!(stats.queries.delivered, 4, "{stats:?}");
    assert_eq!(stats.transport.datagrams_received, 0, "{stats:?}");
    assert!(stats.transport.stream_frames_received >= 5, "{stats:?}");
    assert_eq!(stats.transport.dropped_malformed, 0, "{stats:?}");
    alice.shutdown();
    bob.shutdown();
}

fn messages_cross_tcp_over_ipv4<N: TestNode>() {
    exchange::<N>(ipv4());
}

fn messages_cross_tcp_over_ipv6<N: TestNode>() {
    exchange::<N>(ipv6());
}

/// Reads `stream` into the hand-driven `peer` until `done` says so or the stream ends; returns
/// the values delivered and whether the stream ended.
fn read_messages(
    stream: &mut TcpStream,
    peer: &mut ejtp_proto::Node,
    clock: &Clock,
    done: impl Fn(&[Value]) -> bool,
) -> (Vec<Value>, bool) {
    let from = stream.peer_addr().unwrap();
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    while !done(&received) {
        let len = stream
            .read(&mut buffer)
            .expect("tcp bytes (or the close) in time");
        if len == 0 {
            return (received, true);
        }
        peer.handle_stream_data(clock.now(), TransportAddr::tcp(from), &buffer[..len]);
        while let Some(event) = peer.poll_event() {
            if let Event::Message(message) = event {
                received.push(message.value);
            }
        }
    }
    (received, false)
}

/// A bare listener stands in for the peer, so the test sees every connection: three frames
/// share one connection, the node closes it once idle, and the next frame opens another.
fn one_connection_carries_every_frame_and_closes_when_idle<N: TestNode>() {
    let idle = Duration::from_millis(300);
    let listener = TcpListener::bind(ipv4()).unwrap();
    // The peer's protocol side, driven by hand.
    let clock = Clock::start();
    let mut peer = ejtp_proto::Node::new(
        Config::default(),
        Identity::from_secret_bytes(&[2; 32]),
        [7; 32],
        clock.now(),
        clock.wall_start(),
    );
    peer.add_local_address(Address::tcp(listener.local_addr().unwrap(), None))
        .unwrap();
    peer.add_client("bob").unwrap();
    let bob = peer.public_identity("bob", "bob");

    // No handshakes: exactly one frame per message, and no retries later.
    let sessions_off = Config::default().with_sessions(false);
    let alice = options(1)
        .tcp(ipv4())
        .client("alice")
        .config(sessions_off)
        .tcp_idle_timeout(idle);
    let alice = N::bind(alice);
    for n in 0..3 {
        alice.send("alice", &bob, json!(n));
    }
    let last_send = Instant::now();

    let mut stream = accept_within(&listener, WAIT, true).unwrap();
    let (received, ended) = read_messages(&mut stream, &mut peer, &clock, |_| false);
    let closed_after = last_send.elapsed();
    assert!(ended);
    assert_eq!(received, [json!(0), json!(1), json!(2)]);
    assert!(
        closed_after >= idle - Duration::from_millis(50) && closed_after < WAIT,
        "{}: closed after {closed_after:?}",
        N::ADAPTER
    );
    assert!(
        accept_within(&listener, Duration::from_millis(200), false).is_none(),
        "no second connection for those frames"
    );
    assert_eq!(alice.stats().transport.transmits, 3);

    // The next frame opens a new connection.
    alice.send("alice", &bob, json!(3));
    let mut stream = accept_within(&listener, WAIT, true).unwrap();
    let (received, _) = read_messages(&mut stream, &mut peer, &clock, |got| !got.is_empty());
    assert_eq!(received, [json!(3)]);
    alice.shutdown();
}

/// A node whose connection to its peer went idle opens a new one for the next frame.
fn a_connection_closed_for_idleness_is_opened_again_on_demand<N: TestNode>() {
    let alice = N::bind(
        options(3)
            .tcp(ipv4())
            .client("alice")
            .tcp_idle_timeout(Duration::from_millis(100)),
    );
    let mut bob = N::bind(options(4).tcp(ipv4()).client("bob"));
    let to_bob = bob.tcp_identity("bob");
    alice.send("alice", &to_bob, json!(1));
    assert_eq!(next_message(&mut bob).value, json!(1));
    std::thread::sleep(Duration::from_millis(400));
    alice.send("alice", &to_bob, json!(2));
    assert_eq!(next_message(&mut bob).value, json!(2));
    alice.shutdown();
    bob.shutdown();
}

fn a_connection_that_breaks_the_framing_is_closed<N: TestNode>() {
    let mut bob = N::bind(options(2).tcp(ipv4()).client("bob"));
    let mut stream = TcpStream::connect(bob.tcp_addrs()[0]).unwrap();
    let local = stream.local_addr().unwrap();
    stream.write_all(b"not EJTP framing").unwrap();
    let failed = next_matching(&mut bob, "stream failure", |event| match event {
        Event::Transport(TransportEvent::StreamFailed { from }) => Some(from),
        _ => None,
    });
    assert_eq!(failed, TransportAddr::tcp(local));
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut buffer = [0; 64];
    let read = stream.read(&mut buffer);
    assert!(
        matches!(read, Ok(0))
            || read
                .as_ref()
                .is_err_and(|err| err.kind() == ErrorKind::ConnectionReset),
        "{}: the node closed the connection: {read:?}",
        N::ADAPTER
    );
    bob.shutdown();
}

fn frames_to_a_closed_port_are_dropped_and_the_node_goes_on<N: TestNode>() {
    // A port nobody listens on: bind one, note it, close it.
    let nowhere = TcpListener::bind(ipv4()).unwrap().local_addr().unwrap();
    let alice = N::bind(options(1).udp(ipv4()).tcp(ipv4()).client("alice"));
    let mut bob = N::bind(options(2).udp(ipv4()).tcp(ipv4()).client("bob"));
    let mut lost = bob.identity("bob");
    lost.location = Address::tcp(nowhere, Some("bob"));
    // Another key: a peer with no other address, so the frame is really lost (to bob's key, the
    // routing table would send it again on bob's UDP address; see tests/routing.rs).
    lost.key = Identity::from_secret_bytes(&[9; 32]).public_key();
    alice.send("alice", &lost, json!("lost"));
    alice.send("alice", &bob.identity("bob"), json!("kept over udp"));
    assert_eq!(next_message(&mut bob).value, json!("kept over udp"));
    alice.send("alice", &bob.tcp_identity("bob"), json!("kept over tcp"));
    assert_eq!(next_message(&mut bob).value, json!("kept over tcp"));
    alice.shutdown();
    bob.shutdown();
}

fn the_least_recently_used_connection_makes_room<N: TestNode>() {
    let first = TcpListener::bind(ipv4()).unwrap();
    let second = TcpListener::bind(ipv4()).unwrap();
    let key = Identity::from_secret_bytes(&[2; 32]).public_key();
    let at = |listener: &TcpListener| PublicIdentity {
        name: "bob".to_string(),
        location: Address::tcp(listener.local_addr().unwrap(), Some("bob")),
        key,
    };
    let mut alice = options(1).tcp(ipv4()).client("alice");
    alice.max_tcp_connections = 1;
    let alice = N::bind(alice);

    alice.send("alice", &at(&first), json!(1));
    let mut one = accept_within(&first, WAIT, true).unwrap();
    alice.send("alice", &at(&second), json!(2));
    let _two = accept_within(&second, WAIT, true).unwrap();
    // The first connection carried its frames, then closed to make room for the second.
    let mut carried = Vec::new();
    one.read_to_end(&mut carried)
        .expect("the first connection closes in time");
    assert!(!carried.is_empty());
    alice.shutdown();
}

for_each_adapter! {
    messages_cross_tcp_over_ipv4,
    messages_cross_tcp_over_ipv6,
    one_connection_carries_every_frame_and_closes_when_idle,
    a_connection_closed_for_idleness_is_opened_again_on_demand,
    a_connection_that_breaks_the_framing_is_closed,
    frames_to_a_closed_port_are_dropped_and_the_node_goes_on,
    the_least_recently_used_connection_makes_room,
}
