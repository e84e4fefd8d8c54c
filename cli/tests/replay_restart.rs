//! Replays across restarts, with real processes: a first message captured on its way to a node
//! is delivered once, and replayed after the node is killed and started again it is not
//! delivered a second time. The node keeps its replay journal (the default); without one it
//! refuses a message signed before it started.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{RunningNode, ejtp, finish};

/// Starts `ejtp run` for `identity` on `udp`, with `extra` arguments.
fn start(identity: &Path, udp: SocketAddr, extra: &[&str]) -> RunningNode {
    let udp = udp.to_string();
    let mut args = vec![
        "--identity".as_ref(),
        identity.as_os_str(),
        "--udp".as_ref(),
        udp.as_ref(),
    ];
    args.extend(extra.iter().map(|arg| std::ffi::OsStr::new(*arg)));
    RunningNode::start(&args, 1)
}

/// Stands at `addr` while the node there is down, as a proxy on the path would: catches what
/// `ejtp send --no-wait` sends it (the sealed first message and a handshake init), and
/// returns the bytes and the message id `send` printed.
fn capture_a_send(alice: &Path, addr: SocketAddr, key: &str) -> (Vec<Vec<u8>>, String) {
    let proxy = UdpSocket::bind(addr).expect("the node's port is free while it is down");
    proxy
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let done = finish(
        ejtp()
            .args(["send", "--no-wait", "--identity"])
            .arg(alice)
            .args(["--to", &addr.to_string(), "--key", key])
            .args(["--callsign", "bob", r#"{"pay":"once"}"#]),
    );
    assert_eq!(done.code(), Some(0), "{done:#?}");
    let id = done
        .stdout
        .trim_end()
        .strip_prefix("sent ")
        .expect("sent <id>")
        .to_string();
    let mut captured = Vec::new();
    let mut buffer = vec![0; 65_536];
    while let Ok((len, _)) = proxy.recv_from(&mut buffer) {
        captured.push(buffer[..len].to_vec());
    }
    assert!(!captured.is_empty(), "the proxy caught nothing");
    (captured, id)
}

/// Sends the captured datagrams to `to` from a socket of the attacker's.
fn replay(captured: &[Vec<u8>], to: SocketAddr) {
    let attacker = UdpSocket::bind("127.0.0.1:0").unwrap();
    for datagram in captured {
        attacker.send_to(datagram, to).unwrap();
    }
}

/// Waits (a bounded while) and stops `node`; returns how many times it logged message `id`.
fn deliveries(node: RunningNode, id: &str) -> usize {
    std::thread::sleep(Duration::from_millis(700));
    let (status, stderr) = node.terminate();
    assert!(status.success(), "{stderr}");
    stderr
        .lines()
        .filter(|line| line.contains(&format!("message {id} for")))
        .count()
}

/// A free UDP port on 127.0.0.1 (bound and released).
fn free_port() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[test]
fn a_message_held_while_the_node_was_down_is_delivered_once_and_never_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, _) = common::keygen(dir.path(), "alice.json", "alice");
    let (bob, bob_key) = common::keygen(dir.path(), "bob.json", "bob");
    let addr = free_port();
    let journal = dir.path().join("bob.json.replay.jsonl");

    // Bob has run before: his journal exists.
    let first = start(&bob, addr, &[]);
    let (status, _) = first.terminate();
    assert!(status.success());
    assert!(journal.exists(), "ejtp run keeps a journal by default");

    // While he is down, alice's message is caught on its way.
    let (captured, id) = capture_a_send(&alice, addr, &bob_key.to_string());

    // Bob comes back and the held message reaches him: signed while he was down, it is
    // delivered, once, even sent twice.
    let started = Instant::now();
    let second = start(&bob, addr, &[]);
    replay(&captured, addr);
    replay(&captured, addr);
    std::thread::sleep(Duration::from_millis(500));
    // Killed, not stopped: whatever bob had not written is lost.
    let stderr = second.kill();
    let delivered = stderr
        .lines()
        .filter(|line| line.contains(&format!("message {id} for")))
        .count();
    assert_eq!(delivered, 1, "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60));

    // Restarted after the crash, the replay is refused: the journal remembered it.
    let third = start(&bob, addr, &[]);
    replay(&captured, addr);
    assert_eq!(deliveries(third, &id), 0, "delivered again after a restart");
}

#[test]
fn without_a_journal_a_message_signed_before_the_start_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, _) = common::keygen(dir.path(), "alice.json", "alice");
    let (bob, bob_key) = common::keygen(dir.path(), "bob.json", "bob");
    let addr = free_port();
    let (captured, id) = capture_a_send(&alice, addr, &bob_key.to_string());
    let node = start(&bob, addr, &["--no-replay-journal"]);
    replay(&captured, addr);
    assert_eq!(deliveries(node, &id), 0);
    assert!(!dir.path().join("bob.json.replay.jsonl").exists());

    // What is signed after the start is delivered: the refusal was the start floor's.
    let node = start(&bob, addr, &["--no-replay-journal"]);
    let done = finish(
        ejtp()
            .args(["send", "--no-wait", "--identity"])
            .arg(&alice)
            .args(["--to", &addr.to_string(), "--key", &bob_key.to_string()])
            .args(["--callsign", "bob", r#"{"pay":"now"}"#]),
    );
    assert_eq!(done.code(), Some(0), "{done:#?}");
    let id = done
        .stdout
        .trim_end()
        .strip_prefix("sent ")
        .expect("sent <id>");
    assert_eq!(deliveries(node, id), 1);
}
