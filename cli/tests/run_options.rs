//! `ejtp run` start-up checks and options: a recording path that cannot be written is refused
//! before the node starts, `--cjp2p-peer` names CJP2P bootstrap peers the node contacts on its
//! own, and `-vv` logs at debug level (`-vvv` at trace).

mod common;

use std::ffi::OsStr;
use std::net::UdpSocket;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{RunningNode, ejtp, finish};

fn identity(dir: &Path) -> std::path::PathBuf {
    common::keygen(dir, "bob.json", "bob").0
}

#[test]
fn an_unwritable_recording_path_is_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let bob = identity(dir.path());
    let missing = dir.path().join("no such folder").join("x.json");
    let mut child = ejtp()
        .args(["run", "--udp", "127.0.0.1:0", "--identity"])
        .arg(&bob)
        .arg("--record")
        .arg(&missing)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A node that started would run until stopped: it must have ended by itself.
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ejtp run started although its recording cannot be written");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout} {stderr}");
    assert!(stdout.is_empty(), "no listening line: {stdout}");
    let line = stderr.trim_end();
    assert_eq!(line.lines().count(), 1, "{stderr}");
    assert!(line.starts_with("ejtp: "), "{line}");
    assert!(line.contains(&missing.display().to_string()), "{line}");
    assert!(line.contains("does not exist"), "{line}");
    assert!(!missing.exists());

    // A writable path is not left behind by the check when the node does not start.
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let recording = dir.path().join("rec.json");
    let done = finish(
        ejtp()
            .args(["run", "--identity"])
            .arg(&bob)
            .args(["--udp", &taken.local_addr().unwrap().to_string()])
            .arg("--record")
            .arg(&recording),
    );
    done.assert_one_line_error(1);
    assert!(!recording.exists(), "the start-up check leaves no file");
}

#[test]
fn a_cjp2p_bootstrap_peer_is_contacted() {
    let dir = tempfile::tempdir().unwrap();
    let bob = identity(dir.path());
    // The test holds the bootstrap peer's socket and waits for the node's first datagram.
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let peer_addr = peer.local_addr().unwrap().to_string();
    let node = RunningNode::start(
        &[
            OsStr::new("--identity"),
            bob.as_os_str(),
            OsStr::new("--udp"),
            OsStr::new("127.0.0.1:0"),
            OsStr::new("--cjp2p-peer"),
            OsStr::new(&peer_addr),
        ],
        1,
    );
    let mut buffer = [0u8; 65_536];
    let (len, from) = peer
        .recv_from(&mut buffer)
        .expect("a datagram from the node within 10 s");
    assert_eq!(from, node.addr(0));
    // A CJP2P datagram is a JSON array of messages; the first probe asks for peers.
    let value: serde_json::Value =
        serde_json::from_slice(&buffer[..len]).expect("a CJP2P datagram is JSON");
    assert!(value.is_array(), "{value}");
    assert!(value.to_string().contains("PleaseSendPeers"), "{value}");
}

#[test]
fn cjp2p_peers_are_explained_in_the_help() {
    let help = finish(ejtp().args(["run", "--help"]));
    assert_eq!(help.code(), Some(0), "{help:#?}");
    assert!(
        help.stdout.contains("--cjp2p-peer <ADDR>"),
        "{}",
        help.stdout
    );
    assert!(help.stdout.contains("24254"), "{}", help.stdout);
    let dir = tempfile::tempdir().unwrap();
    let bob = identity(dir.path());
    let done = finish(
        ejtp()
            .args(["run", "--udp", "127.0.0.1:0", "--identity"])
            .arg(&bob)
            .args(["--cjp2p-peer", "127.0.0.1:notaport"]),
    );
    assert!(done.assert_one_line_error(2).contains("--cjp2p-peer"));
}

/// Runs `ejtp run` with `verbosity` (such as `-vv`), has it acknowledge one message (which
/// sends a datagram, logged at trace level), stops it and returns what it logged.
#[cfg(unix)]
fn run_logs(verbosity: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let bob = identity(dir.path());
    let (alice, _) = common::keygen(dir.path(), "alice.json", "alice");
    let node = RunningNode::start(
        &[
            OsStr::new(verbosity),
            OsStr::new("--identity"),
            bob.as_os_str(),
            OsStr::new("--udp"),
            OsStr::new("127.0.0.1:0"),
        ],
        1,
    );
    let done = finish(
        ejtp()
            .args(["send", "--timeout", "5", "--identity"])
            .arg(&alice)
            .args(["--to", &node.addr(0).to_string()])
            .args(["--key", &node.key().to_string(), "--callsign", "bob", "1"]),
    );
    assert_eq!(done.code(), Some(0), "{done:#?}");
    let (status, stderr) = node.terminate();
    assert!(status.success(), "{status:?}: {stderr}");
    stderr
}

#[cfg(unix)]
#[test]
fn two_vs_log_at_debug_and_three_at_trace() {
    let debug = run_logs("-vv");
    assert!(debug.contains("DEBUG"), "{debug}");
    assert!(!debug.contains("TRACE"), "{debug}");
    let trace = run_logs("-vvv");
    assert!(trace.contains("TRACE"), "{trace}");
}
