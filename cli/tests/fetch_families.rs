//! `ejtp fetch` with peers of both address families (::1 and 127.0.0.1), as real processes: a
//! peer of the family not listed first is reached too, and the one listed first is still asked.
//! Skipped on a machine without ::1.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// A file a few blocks long, different at every offset that matters.
fn content() -> Vec<u8> {
    (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// `ejtp run --share` on `udp`, with `file` in its folder.
fn seeder(dir: &Path, name: &str, udp: &str, file: &[u8]) -> common::RunningNode {
    let (identity, _) = common::keygen(dir, &format!("{name}.json"), name);
    let shared = dir.join(name);
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(shared.join("file.bin"), file).unwrap();
    common::RunningNode::seeder(&identity, udp, &shared)
}

/// A peer that never answers: a socket of the test's own, to see whether it was asked.
fn silent_peer(ip: &str) -> UdpSocket {
    let socket = UdpSocket::bind(format!("{ip}:0")).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    socket
}

fn was_asked(socket: &UdpSocket) -> bool {
    let mut buffer = vec![0u8; 65_536];
    socket.recv_from(&mut buffer).is_ok()
}

#[test]
fn a_fetch_reaches_peers_of_both_families() {
    if UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("skipped: this machine has no ::1");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = content();
    let id = hex_sha256(&file);
    let v4 = seeder(dir.path(), "seed4", "127.0.0.1:0", &file);
    let v6 = seeder(dir.path(), "seed6", "[::1]:0", &file);

    // Each order: a silent peer of one family first, the only seeder, of the other, second.
    for (round, (silent_ip, seeder)) in [("[::1]", &v4), ("127.0.0.1", &v6)].into_iter().enumerate()
    {
        let silent = silent_peer(silent_ip);
        let first: SocketAddr = silent.local_addr().unwrap();
        let second = seeder.addr(0);
        assert_ne!(first.is_ipv6(), second.is_ipv6());
        let out = dir.path().join(format!("out{round}"));
        let done = common::finish(
            common::ejtp()
                .args(["fetch", &id, "--timeout", "15"])
                .args(["--peer", &first.to_string(), "--peer", &second.to_string()])
                .arg("--out")
                .arg(&out),
        );
        assert_eq!(
            done.code(),
            Some(0),
            "peers {first} then {second}: {done:#?}"
        );
        let path = done
            .stdout
            .lines()
            .find_map(|line| line.strip_prefix("fetched: "))
            .unwrap_or_else(|| panic!("no fetched line: {done:#?}"));
        assert!(std::fs::read(path).unwrap() == file, "{path} differs");
        assert!(was_asked(&silent), "the first peer, {first}, was asked too");
    }
}
