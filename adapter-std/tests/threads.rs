//! A node runs on one thread (two with a rescanned shared folder), whatever its sockets and
//! connections, and stopping it joins them (alone in its test binary, so that no other test's
//! threads are counted).

mod common;

use std::time::{Duration, Instant};

use common::{next_message, options, v4, v6};
use ejtp_std::Node;
use serde_json::json;

/// How many threads this process has. Linux only.
fn all_threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

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

/// One test, so that the harness runs nothing else meanwhile whose threads would be counted.
#[test]
#[cfg_attr(not(target_os = "linux"), ignore = "reads /proc")]
fn a_node_has_at_most_two_threads() {
    a_node_has_one_thread_whatever_its_sockets_and_none_once_stopped();
    a_rescanned_shared_folder_is_the_second_and_last_thread();
}

fn a_node_has_one_thread_whatever_its_sockets_and_none_once_stopped() {
    let before = all_threads();
    let alice = Node::bind(options(1, "alice").udp(v4()).udp(v6()).tcp(v4())).unwrap();
    let bob = Node::bind(options(2, "bob").udp(v4()).tcp(v4())).unwrap();
    // Connections both ways (one opened and one accepted on each side), on top of the UDP
    // sockets and listeners: the old adapter had a thread for each.
    alice
        .send("alice", &bob.tcp_identity("bob").unwrap(), json!(1))
        .unwrap();
    next_message(bob.events());
    bob.send("bob", &alice.tcp_identity("alice").unwrap(), json!(2))
        .unwrap();
    next_message(alice.events());
    alice
        .send("alice", &bob.public_identity("bob"), json!(3))
        .unwrap();
    next_message(bob.events());
    assert_eq!(
        all_threads(),
        before + 2,
        "one thread per node, named or not"
    );
    wait_until_named(&["ejtp-loop", "ejtp-loop"]);

    alice.shutdown().unwrap();
    wait_until_threads(1);
    drop(bob);
    wait_until_threads(0);
    assert_eq!(all_threads(), before);
}

fn a_rescanned_shared_folder_is_the_second_and_last_thread() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"shared").unwrap();
    let before = all_threads();
    let node = Node::bind(
        options(3, "carol")
            .udp(v4())
            .tcp(v4())
            .share_dir(dir.path())
            .share_rescan(Some(Duration::from_millis(100))),
    )
    .unwrap();
    assert_eq!(all_threads(), before + 2);
    wait_until_named(&["ejtp-loop", "ejtp-rescan"]);
    node.shutdown().unwrap();
    wait_until_threads(0);
}

/// Waits (briefly: a new thread names itself once it runs) until the node threads are exactly
/// those named `expected`.
fn wait_until_named(expected: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let mut names = node_threads();
        names.sort();
        if names == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected {expected:?}: {names:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
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
