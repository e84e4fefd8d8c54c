//! `ejtp run` and `ejtp send` as separate processes on the loopback interface, and the
//! recordings `ejtp run --record` writes, replayed by `ejtp replay`.

mod common;

use std::ffi::OsStr;
use std::net::UdpSocket;
use std::path::Path;

use common::{RunningNode, ejtp, finish};

/// `ejtp send` from `identity` to `to` (an endpoint as typed) for the node `key`.
fn send(
    identity: &Path,
    to: &str,
    node: &RunningNode,
    callsign: &str,
    value: &str,
) -> common::Finished {
    finish(
        ejtp()
            .args(["send", "--timeout", "5", "--identity"])
            .arg(identity)
            .args([
                "--to",
                to,
                "--key",
                &node.key().to_string(),
                "--callsign",
                callsign,
                value,
            ]),
    )
}

fn start_bob(dir: &Path, extra: &[&OsStr], lines: usize) -> RunningNode {
    let (bob, _) = common::keygen(dir, "bob.json", "bob");
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("--identity"),
        bob.as_os_str(),
        OsStr::new("--udp"),
        OsStr::new("127.0.0.1:0"),
    ];
    args.extend_from_slice(extra);
    RunningNode::start(&args, lines)
}

fn assert_acknowledged(done: &common::Finished, node: &RunningNode) {
    assert_eq!(done.code(), Some(0), "{done:#?}");
    let line = done.stdout.trim_end();
    let prefix = format!("acknowledged by {} in ", node.key().node_id());
    assert!(
        line.starts_with(&prefix) && line.ends_with(" ms (direct)"),
        "{done:#?}"
    );
}

#[test]
fn a_message_sent_to_a_running_node_is_acknowledged_over_udp_and_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, _) = common::keygen(dir.path(), "alice.json", "alice");
    let bob = start_bob(
        dir.path(),
        &[OsStr::new("--tcp"), OsStr::new("127.0.0.1:0")],
        2,
    );
    assert_eq!(bob.listening[0].location.callsign(), Some("bob"));
    assert_eq!(bob.listening[1].location.kind(), "tcp4");

    let udp = bob.addr(0).to_string();
    let tcp = format!("tcp:{}", bob.addr(1));
    // Several sends from the same identity: each one is acknowledged, not only the first.
    for value in [r#"{"hello":"bob"}"#, "[1,2,3]", "-7"] {
        assert_acknowledged(&send(&alice, &udp, &bob, "bob", value), &bob);
    }
    assert_acknowledged(&send(&alice, &tcp, &bob, "bob", r#""over tcp""#), &bob);
    assert_acknowledged(&send(&alice, &udp, &bob, "bob", "0"), &bob);
}

/// A 16 MiB value (`Config::max_message_len`, less room for the signature and headers) read
/// from a file goes in fragments, under the receiver's acknowledgements, and is acknowledged
/// over UDP (1 200-byte datagrams until a probe proves more) and over TCP alike.
#[test]
fn sixteen_mebibyte_messages_are_acknowledged_over_udp_and_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, _) = common::keygen(dir.path(), "alice.json", "alice");
    let bob = start_bob(
        dir.path(),
        &[OsStr::new("--tcp"), OsStr::new("127.0.0.1:0")],
        2,
    );
    let file = dir.path().join("value.json");
    let pad = (16 << 20) - 4_096;
    std::fs::write(&file, format!(r#"{{"pad":"{}"}}"#, "x".repeat(pad))).unwrap();
    let value = format!("@{}", file.display());
    for to in [bob.addr(0).to_string(), format!("tcp:{}", bob.addr(1))] {
        let done = finish(
            ejtp()
                .args(["send", "--timeout", "60", "--identity"])
                .arg(&alice)
                .args(["--to", &to, "--key", &bob.key().to_string()])
                .args(["--callsign", "bob", &value]),
        );
        assert_acknowledged(&done, &bob);
        eprintln!("{to}: {}", done.stdout.trim_end());
    }
}

#[test]
fn a_message_through_a_relay_is_acknowledged_through_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, _) = common::keygen(dir.path(), "alice.json", "alice");
    let (relay_file, _) = common::keygen(dir.path(), "relay.json", "relay");
    let relay = RunningNode::start(
        &[
            OsStr::new("--identity"),
            relay_file.as_os_str(),
            OsStr::new("--udp"),
            OsStr::new("127.0.0.1:0"),
        ],
        1,
    );
    let bob = start_bob(dir.path(), &[], 1);
    let via = format!("{}@{}", relay.key(), relay.addr(0));
    let done = finish(
        ejtp()
            .args(["send", "--timeout", "5", "--identity"])
            .arg(&alice)
            .args([
                "--to",
                &bob.addr(0).to_string(),
                "--key",
                &bob.key().to_string(),
            ])
            .args(["--callsign", "bob", "--via", &via, r#"{"onion":1}"#]),
    );
    // The query went through the relay as an onion; bob's acknowledgement is matched to it.
    assert_acknowledged(&done, &bob);
    #[cfg(unix)]
    {
        let (status, stderr) = relay.terminate();
        assert!(status.success(), "{status:?}: {stderr}");
    }
}

#[test]
fn send_prints_a_reply_that_is_not_an_acknowledgement() {
    use ejtp_proto::{Event, Identity};
    use ejtp_std::{Node, NodeOptions};

    let dir = tempfile::tempdir().unwrap();
    let (alice, _) = common::keygen(dir.path(), "alice.json", "alice");
    // Bob is a node in this process that answers with a value of its own.
    let bob = Node::bind(
        NodeOptions::new(Identity::from_secret_bytes(&[0xb0; 32]))
            .udp("127.0.0.1:0".parse().unwrap())
            .client("bob"),
    )
    .unwrap();
    let (bob_addr, bob_key, bob_id) = (bob.udp_addrs()[0], bob.public_key(), bob.node_id());
    let (handle, events) = bob.split();
    let answering = std::thread::spawn(move || {
        while let Some(event) = events.recv_timeout(std::time::Duration::from_secs(10)) {
            if let Event::Message(message) = event {
                handle
                    .reply("bob", &message, serde_json::json!({"answer": 42}))
                    .unwrap();
                return handle;
            }
        }
        panic!("bob got no message");
    });
    let done = finish(
        ejtp()
            .args(["send", "--timeout", "5", "--identity"])
            .arg(&alice)
            .args(["--to", &bob_addr.to_string(), "--key", &bob_key.to_string()])
            .args(["--callsign", "bob", r#""what is the answer?""#]),
    );
    answering.join().unwrap().shutdown().unwrap();
    assert_eq!(done.code(), Some(0), "{done:#?}");
    let lines: Vec<&str> = done.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{done:#?}");
    assert!(
        lines[0].starts_with(&format!("acknowledged by {bob_id} in ")),
        "{done:#?}"
    );
    assert_eq!(lines[1], r#"{"answer":42}"#);
}

#[test]
fn send_without_waiting_reports_the_message_id() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, _) = common::keygen(dir.path(), "alice.json", "alice");
    let bob = start_bob(dir.path(), &[], 1);
    let done = finish(
        ejtp()
            .args(["send", "--no-wait", "--identity"])
            .arg(&alice)
            .args([
                "--to",
                &bob.addr(0).to_string(),
                "--key",
                &bob.key().to_string(),
            ])
            .args(["--callsign", "bob", "true"]),
    );
    assert_eq!(done.code(), Some(0), "{done:#?}");
    let id = done
        .stdout
        .trim_end()
        .strip_prefix("sent ")
        .expect("sent <id>");
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn a_message_to_a_port_nobody_listens_on_is_not_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, _) = common::keygen(dir.path(), "alice.json", "alice");
    let key = ejtp_proto::Identity::from_secret_bytes(&[5; 32]).public_key();
    let port = {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap().port()
    }; // closed again: nothing listens there now
    let done = finish(
        ejtp()
            .args(["send", "--timeout", "1", "--identity"])
            .arg(&alice)
            .args([
                "--to",
                &format!("127.0.0.1:{port}"),
                "--key",
                &key.to_string(),
                "{}",
            ]),
    );
    let line = done.assert_one_line_error(1);
    assert!(
        line.starts_with(&format!(
            "ejtp: no acknowledgement within 1 s from udp:127.0.0.1:{port}"
        )),
        "{line}"
    );
}

/// The sender hears nothing back, so the receiving node says so in its debug log.
#[cfg(unix)]
#[test]
fn a_message_to_a_missing_callsign_is_not_acknowledged_and_the_receiver_logs_it() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, _) = common::keygen(dir.path(), "alice.json", "alice");
    let bob = start_bob(dir.path(), &[OsStr::new("-vv")], 1);
    let done = finish(
        ejtp()
            .args(["send", "--timeout", "1", "--identity"])
            .arg(&alice)
            .args([
                "--to",
                &bob.addr(0).to_string(),
                "--key",
                &bob.key().to_string(),
            ])
            .args(["--callsign", "carol", "1"]),
    );
    assert!(
        done.assert_one_line_error(1)
            .contains("no acknowledgement within 1 s")
    );
    let (_, stderr) = bob.terminate();
    let line = stderr
        .lines()
        .find(|line| line.contains("no client here has the callsign \"carol\""))
        .unwrap_or_else(|| panic!("no such line in the receiver's log: {stderr}"));
    assert!(line.contains("DEBUG"), "{line}");
}

#[test]
fn run_on_a_udp_port_in_use_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (bob, _) = common::keygen(dir.path(), "bob.json", "bob");
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let done = finish(
        ejtp()
            .args(["run", "--identity"])
            .arg(&bob)
            .args(["--udp", &addr]),
    );
    let line = done.assert_one_line_error(1);
    assert_eq!(
        line,
        format!("ejtp: cannot listen on udp {addr}: address already in use")
    );
    drop(taken);
}

#[cfg(unix)]
#[test]
fn run_with_peers_logs_them_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let relay = ejtp_proto::Identity::from_secret_bytes(&[4; 32]).public_key();
    let peer = format!("{relay}@127.0.0.1:9");
    let bob = start_bob(dir.path(), &[OsStr::new("--peer"), OsStr::new(&peer)], 1);
    let (status, stderr) = bob.terminate();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(stderr.contains(&format!("known peer {relay}")), "{stderr}");
    assert!(stderr.contains("default route"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_recorded_run_replays_and_a_tampered_copy_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, _) = common::keygen(dir.path(), "alice.json", "alice");
    let recording = dir.path().join("bob-recording.json");
    let bob = start_bob(
        dir.path(),
        &[OsStr::new("--record"), recording.as_os_str()],
        1,
    );
    let udp = bob.addr(0).to_string();
    assert_acknowledged(&send(&alice, &udp, &bob, "bob", r#"{"record":"me"}"#), &bob);
    let (status, stderr) = bob.terminate();
    assert!(status.success(), "{status:?}: {stderr}");

    let replayed = finish(ejtp().arg("replay").arg(&recording));
    assert_eq!(replayed.code(), Some(0), "{replayed:#?}");
    let line = replayed.stdout.trim_end();
    assert!(
        line.starts_with("replayed ") && line.ends_with(" steps of 1 nodes: outputs match"),
        "{line}"
    );

    // Drop one recorded output: the replay must notice.
    let mut scenario: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&recording).unwrap()).unwrap();
    let outputs = scenario["steps"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .filter_map(|step| step["outputs"].as_array_mut())
        .find(|outputs| !outputs.is_empty())
        .expect("a step with outputs");
    outputs.pop();
    let tampered = dir.path().join("tampered.json");
    std::fs::write(&tampered, serde_json::to_string_pretty(&scenario).unwrap()).unwrap();
    let refused = finish(ejtp().arg("replay").arg(&tampered));
    let line = refused.assert_one_line_error(1);
    assert!(line.contains("does not replay"), "{line}");
    assert!(refused.stdout.contains("outputs differ"), "{refused:#?}");
    assert!(refused.stdout.contains("expected: "), "{refused:#?}");

    let missing = finish(ejtp().arg("replay").arg(dir.path().join("nothing.json")));
    assert!(missing.assert_one_line_error(1).contains("cannot load"));
}
