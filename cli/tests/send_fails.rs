//! `ejtp send` fails as soon as its node knows the answer, with the reason; and when nothing
//! answers, its message says what a wrong `--callsign` or `--key` looks like.

mod common;

use std::ffi::OsStr;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{RunningNode, ejtp, finish};

#[test]
fn a_refused_tcp_connection_fails_at_once_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, _) = common::keygen(dir.path(), "alice.json", "alice");
    let key = ejtp_proto::Identity::from_secret_bytes(&[5; 32]).public_key();
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }; // closed again: connections to it are refused
    let started = Instant::now();
    let done = finish(
        ejtp()
            .args(["send", "--timeout", "5", "--identity"])
            .arg(&alice)
            .args(["--to", &format!("tcp:127.0.0.1:{port}")])
            .args(["--key", &key.to_string(), "{}"]),
    );
    let took = started.elapsed();
    let line = done.assert_one_line_error(1);
    assert!(
        took < Duration::from_secs(3),
        "waited {took:?} for an answer known at once: {line}"
    );
    assert!(
        line.starts_with(&format!("ejtp: cannot reach tcp:127.0.0.1:{port}")),
        "{line}"
    );
    assert!(line.contains("connection refused"), "{line}");
}

#[test]
fn an_unanswered_query_mentions_a_wrong_callsign_or_key() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, _) = common::keygen(dir.path(), "alice.json", "alice");
    let (bob_file, _) = common::keygen(dir.path(), "bob.json", "bob");
    let bob = RunningNode::start(
        &[
            OsStr::new("--identity"),
            bob_file.as_os_str(),
            OsStr::new("--udp"),
            OsStr::new("127.0.0.1:0"),
        ],
        1,
    );
    let done = finish(
        ejtp()
            .args(["send", "--timeout", "1", "--identity"])
            .arg(&alice)
            .args(["--to", &bob.addr(0).to_string()])
            .args(["--key", &bob.key().to_string(), "--callsign", "carol", "1"]),
    );
    let line = done.assert_one_line_error(1);
    assert!(
        line.starts_with("ejtp: no acknowledgement within 1 s"),
        "{line}"
    );
    assert!(
        line.contains("wrong --callsign or --key looks like this"),
        "{line}"
    );
}
