//! `ejtp chat` with standard input that is not a terminal: lines read before the join
//! completes are sent once joined, the end of input leaves only after them, and a refused or
//! unanswered join exits 1 with its reason whatever standard input is.

mod common;

use std::time::Duration;

use common::chat::{Chat, Input};
use common::keygen;

#[test]
fn piped_lines_read_before_the_join_are_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, _) = keygen(dir.path(), "alice.json", "alice");
    let (bob, _) = keygen(dir.path(), "bob.json", "bob");
    let mut host = Chat::start(&alice, &["--create", "pw"], Input::Piped);
    host.expect(|l| l.starts_with("created the group"), "created");
    let args = host.join_args("pw");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // As `printf 'hi\nthere\n' | ejtp chat --join ...`: all of it, then the end of input.
    let piped = Chat::start(&bob, &args, Input::Given(b"hi\n/msg alice there\n"));
    host.expect(|l| l == "<bob> hi", "the broadcast");
    host.expect(|l| l == "<bob> (direct) there", "the direct message");
    host.expect(|l| l == "- bob left", "bob leaves after the lines");
    let (code, stdout, stderr) = piped.finish_within(Duration::from_secs(20));
    assert_eq!(code, Some(0), "{stdout:?} {stderr}");
    assert!(!stderr.contains("not in the group"), "{stderr}");
    assert!(
        stdout.iter().any(|l| l.starts_with("joined; members:")),
        "{stdout:?}"
    );
}

#[test]
fn a_refused_join_exits_1_with_its_reason_even_with_no_input() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, _) = keygen(dir.path(), "alice.json", "alice");
    let (mallory, _) = keygen(dir.path(), "mallory.json", "mallory");
    let mut host = Chat::start(&alice, &["--create", "pw"], Input::Piped);
    host.expect(|l| l.starts_with("created the group"), "created");
    let args = host.join_args("wrong");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for input in [Input::Null, Input::Given(b"hello\n")] {
        let (code, stdout, stderr) =
            Chat::start(&mallory, &args, input).finish_within(Duration::from_secs(20));
        assert_eq!(code, Some(1), "{stdout:?} {stderr}");
        assert_eq!(stderr, "ejtp: join refused: wrong password");
    }
}

#[test]
fn an_unanswered_join_exits_1_even_with_no_input() {
    let dir = tempfile::tempdir().unwrap();
    let (bob, _) = keygen(dir.path(), "bob.json", "bob");
    // Nobody answers on this socket: the join times out (10 s by default).
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let key = ejtp_proto::Identity::from_secret_bytes(&[7; 32]).public_key();
    let addr = silent.local_addr().unwrap().to_string();
    let key = key.to_string();
    let args = ["--join", &addr, "--key", &key, "--password", "pw"];
    let (code, stdout, stderr) =
        Chat::start(&bob, &args, Input::Null).finish_within(Duration::from_secs(25));
    assert_eq!(code, Some(1), "{stdout:?} {stderr}");
    assert_eq!(stderr, "ejtp: no answer from the admitting peer");
}
