//! What only the blocking adapter does: dropping a node or its last handle stops it, handles
//! used from several threads, and a shutdown from the very thread that should read a full
//! event queue. (Everything shared is the suite in `adapter-tests`.)

mod common;

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use adapter_std::{EVENT_CAPACITY, Error, Event};
use common::{next_message, udp_node, v4};
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

/// Nobody reads events: the node waits for room (nothing is dropped), and a shutdown from the
/// very thread that should read them still returns.
#[test]
fn a_full_event_queue_holds_the_node_back_and_shutdown_still_returns() {
    let alice = udp_node(1, "alice", v4());
    let me = alice.public_identity("alice");
    let handle = alice.handle();
    let total = EVENT_CAPACITY + 10;
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    let sender = thread::spawn(move || {
        // Messages to oneself are delivered without the network: one event each.
        for n in 0..total {
            if handle.send("alice", &me, json!(n)).is_err() {
                break;
            }
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    // The queue fills, then the send whose event finds it full waits.
    let deadline = Instant::now() + Duration::from_secs(5);
    while sent.load(Ordering::SeqCst) < EVENT_CAPACITY {
        assert!(Instant::now() < deadline, "the queue never filled");
        thread::sleep(Duration::from_millis(5));
    }
    thread::sleep(Duration::from_millis(100));
    assert_eq!(
        sent.load(Ordering::SeqCst),
        EVENT_CAPACITY,
        "the node waits for the application"
    );
    assert!(!sender.is_finished());

    let (handle, events) = alice.split();
    let started = Instant::now();
    handle.shutdown().unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    sender.join().unwrap();
    assert!(
        sent.load(Ordering::SeqCst) < total,
        "later sends answer Closed"
    );
    let received: Vec<u64> = events
        .into_iter()
        .filter_map(|event| match event {
            Event::Message(message) => message.value.as_u64(),
            _ => None,
        })
        .collect();
    assert_eq!(
        received.len(),
        EVENT_CAPACITY,
        "every queued event is still there"
    );
    assert!(
        received.iter().copied().eq(0..EVENT_CAPACITY as u64),
        "in order"
    );
}
