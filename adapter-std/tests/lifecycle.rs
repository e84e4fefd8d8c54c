//! What only the blocking adapter does: dropping a node or its last handle stops it, handles
//! used from several threads, and a shutdown from the very thread that leaves a full event
//! queue unread. (Everything shared is the suite in `adapter-tests`.)

mod common;

use std::net::UdpSocket;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{next_message, udp_node, v4};
use ejtp_std::{EVENT_CAPACITY, Error, Event};
use serde_json::json;

#[test]
fn dropping_a_node_stops_it_and_frees_its_ports() {
    let alice = udp_node(1, "alice", v4());
    let handle = alice.handle();
    let addr = alice.udp_addrs()[0];
    drop(alice);
    assert!(matches!(handle.stats(), Err(Error::Closed)));
    drop(UdpSocket::bind(addr).expect("dropping a node frees its ports"));
}

/// Handles are `Send` and `Sync`: clones send from several threads at once.
#[test]
fn handles_send_from_other_threads() {
    let alice = udp_node(3, "alice", v4());
    let bob = udp_node(4, "bob", v4());
    let to = bob.public_identity("bob");
    thread::scope(|scope| {
        for n in 0..4 {
            let (handle, to) = (alice.handle(), to.clone());
            scope.spawn(move || handle.send("alice", &to, json!(n)).unwrap());
        }
    });
    let mut values: Vec<_> = (0..4)
        .map(|_| next_message(bob.events()).value.as_u64().unwrap())
        .collect();
    values.sort_unstable();
    assert_eq!(values, [0, 1, 2, 3]);
}

#[test]
fn dropping_the_last_handle_of_a_split_node_stops_it() {
    let alice = udp_node(1, "alice", v4());
    let addr = alice.udp_addrs()[0];
    let (handle, events) = alice.split();
    let clone = handle.clone();
    drop(handle);
    assert!(clone.stats().is_ok(), "a clone keeps the node running");
    drop(clone);
    assert!(events.recv().is_none(), "the node has stopped");
    drop(UdpSocket::bind(addr).expect("the port is free"));
}

/// Nobody reads events: the node does not wait for room. Past the queue's capacity events are
/// dropped and counted, sends keep returning, and a shutdown from the very thread that does not
/// read them returns at once; the queued events can still be read, in order.
#[test]
fn a_full_event_queue_drops_the_overflow_and_shutdown_still_returns() {
    let alice = udp_node(1, "alice", v4());
    let me = alice.public_identity("alice");
    let handle = alice.handle();
    let total = EVENT_CAPACITY + 10;
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        // Messages to oneself are delivered without the network: one event each.
        for n in 0..total {
            handle.send("alice", &me, json!(n)).unwrap();
        }
        let _ = done.send(());
    });
    finished
        .recv_timeout(Duration::from_secs(10))
        .expect("sends do not wait for the application");
    let (handle, events) = alice.split();
    assert_eq!(events.lost_total(), 10, "the overflow is counted");
    let started = Instant::now();
    handle.shutdown().unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    let received: Vec<u64> = events
        .into_iter()
        .filter_map(|event| match event {
            Event::Message(message) => message.value.as_u64(),
            _ => None,
        })
        .collect();
    assert!(
        received.iter().copied().eq(0..EVENT_CAPACITY as u64),
        "the queued events, in order"
    );
}
