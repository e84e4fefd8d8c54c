//! `ejtp fetch` that cannot complete says why for each source when `--timeout` passes, instead
//! of only that it gave up.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::{ejtp, finish};

#[test]
fn a_fetch_that_times_out_names_each_source_and_why() {
    let dir = tempfile::tempdir().unwrap();
    // A peer that receives the requests and never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let id = "ab".repeat(32);
    let started = Instant::now();
    let done = finish(
        ejtp()
            .args(["fetch", &id, "--timeout", "2", "--out"])
            .arg(dir.path())
            .args(["--peer", &silent_addr.to_string()]),
    );
    assert_eq!(done.code(), Some(1), "{done:#?}");
    let reason = done
        .stderr
        .lines()
        .find(|line| line.starts_with("ejtp: "))
        .unwrap_or_else(|| panic!("no error line: {done:#?}"));
    assert!(
        reason.contains(&format!("{silent_addr} unreachable")),
        "the source and why: {reason}"
    );
    assert!(reason.contains("after 2 s"), "{reason}");
    // It ends at the timeout, not at a later safety net.
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    // The peer was asked.
    silent
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 2048];
    assert!(
        silent.recv_from(&mut buf).is_ok(),
        "the silent peer was never asked"
    );
}
