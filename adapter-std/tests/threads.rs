//! Stopping a node joins every one of its threads (alone in its test binary, so that no other
//! test's threads are counted).

mod common;

use std::time::{Duration, Instant};

use common::{next_message, options, v4, v6};
use ejtp_std::Node;
use serde_json::json;

/// The names of this process's threads that belong to a node ("ejtp-..."). Linux only.
fn node_threads() -> Vec<String> {
    let mut names = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let comm = task.unwrap().path().join("comm");
        // A thread may end while we look.
        if let Ok(name) = std::fs::read_to_string(comm) {
            if name.starts_with("ejtp-") {
                names.push(name.trim_end().to_string());
            }
        }
    }
    names
}

#[test]
#[cfg_attr(not(target_os = "linux"), ignore = "reads /proc")]
fn shutdown_and_drop_leave_no_thread_running() {
    let alice = Node::bind(options(1, "alice").udp(v4()).udp(v6()).tcp(v4())).unwrap();
    let bob = Node::bind(options(2, "bob").udp(v4()).tcp(v4())).unwrap();
    alice
        .send("alice", &bob.tcp_identity("bob").unwrap(), json!(1))
        .unwrap();
    next_message(bob.events());
    bob.send("bob", &alice.tcp_identity("alice").unwrap(), json!(2))
        .unwrap();
    next_message(alice.events());
    // Each: a driver, the UDP readers, an acceptor, and two connection readers (one opened,
    // one accepted). A reader is spawned just after its connection is used, so it may appear a
    // moment after the message did: wait for it rather than count at once.
    wait_until_threads((1 + 2 + 1 + 2) + (1 + 1 + 1 + 2));

    alice.shutdown().unwrap();
    // Bob's connection readers see the connections close and end on their own.
    wait_until_threads(1 + 1 + 1);
    drop(bob);
    wait_until_threads(0);
}

/// Waits (briefly: a joined thread can linger in /proc for a moment) until exactly `count`
/// node threads are left.
fn wait_until_threads(count: usize) {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let left = node_threads();
        if left.len() == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected {count} threads: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
