//! Binding, commands, events and shutdown on every adapter: the node's life apart from its
//! traffic.

mod common;

use std::net::{TcpListener, UdpSocket};
use std::time::{Duration, Instant};

use common::{WAIT, ipv4, ipv6, next_message, options};
use ejtp_adapter_core::Error;
use ejtp_adapter_tests::{TestEvents, TestHandle, TestNode, for_each_adapter};
use ejtp_proto::SendError;
use serde_json::json;

fn binding_a_udp_port_in_use_is_an_io_error<N: TestNode>() {
    let taken = UdpSocket::bind(ipv4()).unwrap();
    let result = N::bind_result(options(1).udp(taken.local_addr().unwrap()));
    assert!(matches!(result, Err(Error::Io(_))), "{}", N::ADAPTER);
}

fn binding_a_tcp_port_in_use_is_an_io_error_and_leaves_nothing_bound<N: TestNode>() {
    let taken = TcpListener::bind(ipv6()).unwrap();
    // The UDP socket binds first; the failure on TCP must release it.
    let free = UdpSocket::bind(ipv4()).unwrap().local_addr().unwrap();
    let result = N::bind_result(options(1).udp(free).tcp(taken.local_addr().unwrap()));
    assert!(matches!(result, Err(Error::Io(_))), "{}", N::ADAPTER);
    UdpSocket::bind(free).expect("the UDP port was released");
}

fn an_invalid_callsign_is_a_command_error<N: TestNode>() {
    let result = N::bind_result(options(1).client("").udp(ipv4()));
    assert!(matches!(result, Err(Error::Command(_))), "{}", N::ADAPTER);
}

fn after_shutdown_the_ports_are_free_and_handles_say_closed<N: TestNode>() {
    let alice = N::bind(
        options(1)
            .udp(ipv4())
            .tcp(ipv4())
            .tcp(ipv6())
            .client("alice"),
    );
    let mut bob = N::bind(options(2).udp(ipv4()).tcp(ipv4()).client("bob"));
    // Traffic on every kind of socket, so that every kind of task runs.
    alice.send("alice", &bob.identity("bob"), json!(1));
    alice.send("alice", &bob.tcp_identity("bob"), json!(2));
    next_message(&mut bob);
    next_message(&mut bob);

    let (udp, tcp) = (alice.udp_addrs(), alice.tcp_addrs());
    assert_eq!(tcp.len(), 2);
    let me = alice.identity("alice");
    let (handle, mut events) = alice.split();
    let other = handle.clone();
    let started = Instant::now();
    handle.shutdown().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    let again = other.shutdown();
    if N::SHUTDOWN_IS_IDEMPOTENT {
        assert!(again.is_ok(), "{again:?}");
    } else {
        assert!(matches!(again, Err(Error::Closed)), "{again:?}");
    }
    assert!(matches!(handle.stats(), Err(Error::Closed)));
    assert!(matches!(handle.add_client("x"), Err(Error::Closed)));
    let sent = handle.send("alice", &me, json!(3));
    assert!(matches!(sent, Err(Error::Closed)), "{sent:?}");
    // Queued events (the session) can still be read, then the events end.
    let mut rest = Vec::new();
    while let Some(event) = events.next_event(WAIT) {
        rest.push(event);
        assert!(rest.len() <= 2, "{rest:?}");
    }

    // The very same ports bind again, through std and through a new node.
    drop(UdpSocket::bind(udp[0]).unwrap());
    for addr in &tcp {
        drop(TcpListener::bind(addr).unwrap());
    }
    let again = N::bind(options(1).udp(udp[0]).tcp(tcp[0]));
    assert_eq!(again.udp_addrs(), &udp[..1]);
    assert_eq!(again.tcp_addrs(), &tcp[..1]);
    again.shutdown();
    bob.shutdown();
}

fn a_split_node_stops_through_its_handle_and_its_events_end<N: TestNode>() {
    let node = N::bind(options(1).udp(ipv4()));
    let (handle, mut events) = node.split();
    handle.shutdown().unwrap();
    let started = Instant::now();
    assert!(events.next_event(WAIT).is_none());
    assert!(started.elapsed() < WAIT, "the events ended, not timed out");
}

fn dropping_the_node_stops_it_only_on_std<N: TestNode>() {
    let alice = N::bind(options(1).udp(ipv4()).client("alice"));
    let mut bob = N::bind(options(2).udp(ipv4()).client("bob"));
    let handle = alice.handle();
    drop(alice);
    let sent = handle.send("alice", &bob.identity("bob"), json!("still here"));
    if N::DROP_STOPS {
        assert!(matches!(sent, Err(Error::Closed)), "{sent:?}");
    } else {
        sent.unwrap();
        assert_eq!(next_message(&mut bob).value, json!("still here"));
        handle.shutdown().unwrap();
    }
    bob.shutdown();
}

fn clients_are_added_and_refusals_are_typed<N: TestNode>() {
    let alice = N::bind(options(1).udp(ipv4()).client("alice"));
    let mut bob = N::bind(options(2).udp(ipv4()));
    bob.handle().add_client("carol").unwrap();
    let duplicate = bob.handle().add_client("carol");
    assert!(matches!(duplicate, Err(Error::Command(_))), "{duplicate:?}");

    let unknown = alice
        .handle()
        .send("mallory", &bob.identity("carol"), json!(1));
    assert!(
        matches!(unknown, Err(Error::Send(SendError::UnknownClient(_)))),
        "{unknown:?}"
    );
    alice.send("alice", &bob.identity("carol"), json!("for carol"));
    let message = next_message(&mut bob);
    assert_eq!(
        (message.to.as_str(), message.value),
        ("carol", json!("for carol"))
    );
    alice.shutdown();
    bob.shutdown();
}

/// More messages than the event queue holds arrive while the application reads nothing: the
/// node does not wait for it. The queue keeps the first events in order; the rest are dropped
/// and counted.
fn a_full_event_queue_drops_and_counts_the_overflow<N: TestNode>() {
    let total = N::EVENT_CAPACITY + 200;
    let alice = N::bind(options(1).tcp(ipv4()).client("alice"));
    let mut bob = N::bind(options(2).tcp(ipv4()).client("bob"));
    let bob_id = bob.tcp_identity("bob");
    for n in 0..total {
        alice.send("alice", &bob_id, json!(n));
    }
    // Every message is delivered by the node, whether or not its event fits.
    let deadline = Instant::now() + WAIT;
    while bob.stats().queries.delivered < total as u64 {
        assert!(
            Instant::now() < deadline,
            "{}: {:?}",
            N::ADAPTER,
            bob.stats()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut read = Vec::new();
    while let Some(event) = bob.next_event(Duration::from_millis(300)) {
        if let ejtp_proto::Event::Message(message) = event {
            read.push(message.value.as_u64().unwrap());
        }
    }
    assert!(
        read.iter().copied().eq(0..read.len() as u64),
        "{}: the first ones, in order",
        N::ADAPTER
    );
    assert!(read.len() < total, "{}: {} read", N::ADAPTER, read.len());
    let lost = bob.lost_total();
    assert!(
        read.len() as u64 + lost >= total as u64,
        "{}: {} read, {lost} lost",
        N::ADAPTER,
        read.len()
    );
    alice.shutdown();
    bob.shutdown();
}

/// A node whose event queue is full and unread shuts down at once.
fn unread_events_do_not_hold_a_shutdown_back<N: TestNode>() {
    let alice = N::bind(options(1).tcp(ipv4()).client("alice"));
    let bob = N::bind(options(2).tcp(ipv4()).client("bob"));
    let bob_id = bob.tcp_identity("bob");
    for n in 0..N::EVENT_CAPACITY + 100 {
        alice.send("alice", &bob_id, json!(n));
    }
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    bob.shutdown();
    assert!(started.elapsed() < WAIT, "{:?}", started.elapsed());
    alice.shutdown();
}

for_each_adapter! {
    binding_a_udp_port_in_use_is_an_io_error,
    binding_a_tcp_port_in_use_is_an_io_error_and_leaves_nothing_bound,
    an_invalid_callsign_is_a_command_error,
    after_shutdown_the_ports_are_free_and_handles_say_closed,
    a_split_node_stops_through_its_handle_and_its_events_end,
    dropping_the_node_stops_it_only_on_std,
    clients_are_added_and_refusals_are_typed,
    a_full_event_queue_drops_and_counts_the_overflow,
    unread_events_do_not_hold_a_shutdown_back,
}
