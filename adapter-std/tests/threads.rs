//! A node runs on one thread (two with a shared folder: its disk thread), whatever its sockets,
//! connections and downloads, and stopping it joins them (alone in its test binary, so that no other test's
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
    a_download_adds_no_thread();
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
    wait_until_named(&["ejtp-disk", "ejtp-loop"]);
    node.shutdown().unwrap();
    wait_until_threads(0);
}

/// Downloads are written on the node's disk thread, the same that rescans: two threads per
/// node while content flows, however many downloads run.
fn a_download_adds_no_thread() {
    let (seeding, fetching) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let content: Vec<u8> = (0..8u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let file = seeding.path().join("content.bin");
    std::fs::write(&file, &content).unwrap();
    let before = all_threads();
    let bind = |n: u8, dir: &std::path::Path| {
        Node::bind(
            options(n, "x")
                .udp(v4())
                .share_dir(dir)
                .share_rescan(Some(Duration::from_millis(50))),
        )
        .unwrap()
    };
    let seeder = bind(4, seeding.path());
    let fetcher = bind(5, fetching.path());
    let id = seeder.handle().share(&file).unwrap();
    let source = seeder.udp_addrs()[0];
    let handle = fetcher.handle();
    wait_until_named(&["ejtp-disk", "ejtp-disk", "ejtp-loop", "ejtp-loop"]);
    let download = std::thread::spawn(move || handle.fetch(id, &[source]));
    // Counted while the download runs (the thread fetching is the test's own, not a node's).
    let mut most = 0;
    loop {
        let names = node_threads();
        assert!(
            names
                .iter()
                .all(|name| name == "ejtp-loop" || name == "ejtp-disk"),
            "{names:?}"
        );
        most = most.max(names.len());
        if download.is_finished() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let outcome = download.join().unwrap().unwrap();
    assert!(
        matches!(outcome, ejtp_std::FetchOutcome::Completed { len, .. } if len == content.len() as u64),
        "{outcome:?}"
    );
    assert_eq!(most, 4, "two threads per node during the download");
    assert!(all_threads() <= before + 4);
    seeder.shutdown().unwrap();
    fetcher.shutdown().unwrap();
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
