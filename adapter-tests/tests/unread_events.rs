//! An application that keeps a node's events but never reads them (it only uses the handle):
//! awaited commands still return, the events past the queue's capacity are dropped and
//! counted, and the next event read says how many were lost before it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::{WAIT, ipv4, options};
use ejtp_adapter_core::QueryOutcome;
use ejtp_adapter_tests::{TestEvents, TestHandle, TestNode, for_each_adapter};
use ejtp_proto::{Event, QueryOptions};
use serde_json::json;

/// Bob answers every query on a thread of its own until `stop` is raised.
fn bob_answers_everything<N: TestNode>(bob: N, stop: Arc<AtomicBool>) -> thread::JoinHandle<()> {
    let (handle, mut events) = bob.split();
    thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            if let Some(Event::Message(message)) = events.next_event(Duration::from_millis(100)) {
                // A failed reply shows up as a query that does not end with it.
                let _ = handle.reply("bob", &message, json!("ok"));
            }
        }
        handle.shutdown().unwrap();
    })
}

fn queries_return_while_nobody_reads_the_events<N: TestNode>() {
    let mut alice = N::bind(options(1).udp(ipv4()).client("alice"));
    let bob = N::bind(options(2).udp(ipv4()).client("bob"));
    let to = bob.identity("bob");
    let stop = Arc::new(AtomicBool::new(false));
    let bob = bob_answers_everything(bob, Arc::clone(&stop));

    // More queries than the event queue holds; each ends with an event nobody reads.
    let total = N::EVENT_CAPACITY + 100;
    let (done, returned) = mpsc::channel();
    let handle = alice.handle();
    let asker = thread::spawn(move || {
        let options = QueryOptions {
            hard_timeout: Duration::from_secs(2),
            ..QueryOptions::default()
        };
        for n in 0..total {
            let outcome = handle.query("alice", &to, json!(n), options);
            if done.send(outcome).is_err() {
                return;
            }
        }
    });
    for n in 0..total {
        // Bounded: a query that never returns fails the test instead of hanging it.
        let outcome = returned
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("{}: query {n} did not return in {WAIT:?}", N::ADAPTER));
        let outcome = outcome.unwrap_or_else(|err| panic!("{}: query {n}: {err}", N::ADAPTER));
        assert!(
            matches!(outcome, QueryOutcome::Reply { .. }),
            "{}: query {n}: {outcome:?}",
            N::ADAPTER
        );
    }
    asker.join().unwrap();

    // The queue kept its first events; what did not fit was counted, not held back. An event
    // that came once there was room again (say the session's) says how many it followed.
    let mut read = 0u64;
    let mut reported = 0u64;
    while alice.next_event(Duration::from_millis(300)).is_some() {
        if read == 0 {
            assert_eq!(
                alice.lost(),
                0,
                "{}: the first event found room",
                N::ADAPTER
            );
        }
        read += 1;
        reported += alice.lost();
    }
    let lost = alice.lost_total();
    assert!(
        read + lost >= total as u64,
        "{}: {read} read + {lost} lost < {total} replies",
        N::ADAPTER
    );
    // The next event that finds room says how many were lost before it, once.
    let me = alice.identity("alice");
    alice.send("alice", &me, json!("after the loss"));
    alice.send("alice", &me, json!("and one more"));
    let next = alice.next_message(WAIT).expect("a message to oneself");
    assert_eq!(next.value, json!("after the loss"));
    assert_eq!(
        reported + alice.lost(),
        lost,
        "{}: all reported",
        N::ADAPTER
    );
    let next = alice
        .next_message(WAIT)
        .expect("a second message to oneself");
    assert_eq!(next.value, json!("and one more"));
    assert_eq!(alice.lost(), 0, "{}: reported once", N::ADAPTER);
    assert_eq!(alice.lost_total(), lost, "{}", N::ADAPTER);

    stop.store(true, Ordering::SeqCst);
    bob.join().unwrap();
    alice.shutdown();
}

fn sends_and_a_fetch_return_while_nobody_reads_the_events<N: TestNode>() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("held.bin"), b"held here").unwrap();
    let id = ejtp_proto::content::ContentId::of(b"held here");
    let node = N::bind(options(3).udp(ipv4()).client("carol").share_dir(dir.path()));
    let me = node.identity("carol");
    let handle = node.handle();
    let (done, returned) = mpsc::channel();
    let capacity = N::EVENT_CAPACITY;
    thread::spawn(move || {
        // Fill the event queue with messages to oneself, and then some...
        for n in 0..capacity + 10 {
            if let Err(err) = handle.send("carol", &me, json!(n)) {
                let _ = done.send(Err(err));
                return;
            }
        }
        // ... then fetch content the node holds: it ends at once, as events.
        let _ = done.send(handle.fetch(id, &[]));
    });
    let outcome = returned.recv_timeout(WAIT).unwrap_or_else(|_| {
        panic!(
            "{}: the sends and fetch did not return in {WAIT:?}",
            N::ADAPTER
        )
    });
    let outcome = outcome.unwrap_or_else(|err| panic!("{}: {err}", N::ADAPTER));
    assert!(
        matches!(outcome, ejtp_adapter_core::FetchOutcome::Completed { id: done, .. } if done == id),
        "{}: {outcome:?}",
        N::ADAPTER
    );
    assert!(node.lost_total() > 0, "{}", N::ADAPTER);
    node.shutdown();
}

for_each_adapter!(
    queries_return_while_nobody_reads_the_events,
    sends_and_a_fetch_return_while_nobody_reads_the_events,
);
