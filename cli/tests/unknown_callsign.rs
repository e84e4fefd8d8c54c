//! A message that reaches a node but names a callsign nobody there hosts: the sender hears
//! nothing back, so the receiving node says so in its debug log.

mod common;

use std::ffi::OsStr;

use common::{RunningNode, ejtp, finish};

#[cfg(unix)]
#[test]
fn a_message_for_a_callsign_nobody_hosts_is_logged_by_the_receiver_at_debug_level() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, _) = common::keygen(dir.path(), "alice.json", "alice");
    let (bob, _) = common::keygen(dir.path(), "bob.json", "bob");
    let args: Vec<&OsStr> = vec![
        OsStr::new("-vv"),
        OsStr::new("--identity"),
        bob.as_os_str(),
        OsStr::new("--udp"),
        OsStr::new("127.0.0.1:0"),
    ];
    let node = RunningNode::start(&args, 1);
    let done = finish(
        ejtp()
            .args(["send", "--timeout", "1", "--identity"])
            .arg(&alice)
            .args([
                "--to",
                &node.addr(0).to_string(),
                "--key",
                &node.key().to_string(),
            ])
            .args(["--callsign", "carol", "1"]),
    );
    assert_eq!(done.code(), Some(1), "{done:#?}");
    let (_, stderr) = node.terminate();
    let line = stderr
        .lines()
        .find(|line| line.contains("no client here has the callsign \"carol\""))
        .unwrap_or_else(|| panic!("no such line in the receiver's log: {stderr}"));
    assert!(line.contains("DEBUG"), "{line}");
}
