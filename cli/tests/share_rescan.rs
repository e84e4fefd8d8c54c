//! `ejtp run --share DIR` as a real process keeps its folder current: a file added while it
//! runs becomes fetchable, a file changed in place is fetchable under its new id and refused
//! under its old one, and the node logs both.

mod common;

use std::ffi::OsStr;
use std::path::Path;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Longer than the node's default rescan interval (5 s), with room for a loaded machine.
const SERVED_WITHIN: Duration = Duration::from_secs(20);

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// One `ejtp fetch` of `id` from `peer` into a new folder under `dir`: the fetched bytes, or
/// `None` if it failed.
fn fetch_once(dir: &Path, attempt: &mut u32, id: &str, peer: &str) -> Option<Vec<u8>> {
    *attempt += 1;
    let out = dir.join(format!("out{attempt}"));
    let done = common::finish(
        common::ejtp()
            .args(["fetch", id, "--timeout", "5", "--peer", peer, "--out"])
            .arg(&out),
    );
    if done.code() != Some(0) {
        return None;
    }
    let path = done
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("fetched: "))?
        .to_string();
    let bytes = std::fs::read(&path).ok()?;
    // Only the seeder can serve it afterwards.
    std::fs::remove_file(&path).ok()?;
    Some(bytes)
}

fn fetch_within(dir: &Path, attempt: &mut u32, id: &str, peer: &str) -> Vec<u8> {
    let deadline = Instant::now() + SERVED_WITHIN;
    loop {
        if let Some(bytes) = fetch_once(dir, attempt, id, peer) {
            return bytes;
        }
        assert!(
            Instant::now() < deadline,
            "{id} not served within {SERVED_WITHIN:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[cfg(unix)]
#[test]
fn a_running_node_serves_files_added_and_changed_in_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (identity, _) = common::keygen(dir.path(), "seed.json", "seed");
    let shared = dir.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    let seeder = common::RunningNode::start(
        &[
            OsStr::new("-v"),
            OsStr::new("--identity"),
            identity.as_os_str(),
            OsStr::new("--udp"),
            OsStr::new("127.0.0.1:0"),
            OsStr::new("--share"),
            shared.as_os_str(),
        ],
        1,
    );
    let peer = seeder.addr(0).to_string();
    let mut attempt = 0;

    let added: Vec<u8> = (0..100_000u32).map(|i| (i % 241) as u8).collect();
    let path = shared.join("added.bin");
    std::fs::write(&path, &added).unwrap();
    let got = fetch_within(dir.path(), &mut attempt, &hex_sha256(&added), &peer);
    assert!(got == added, "the added file differs");

    let changed: Vec<u8> = (0..100_000u32).map(|i| (i % 239) as u8).collect();
    std::fs::write(&path, &changed).unwrap();
    let got = fetch_within(dir.path(), &mut attempt, &hex_sha256(&changed), &peer);
    assert!(got == changed, "the changed file differs");
    let old = fetch_once(dir.path(), &mut attempt, &hex_sha256(&added), &peer);
    assert!(old.is_none(), "the old id is still served");

    let (_, stderr) = seeder.terminate();
    assert!(stderr.contains("new file shared"), "{stderr}");
    assert!(stderr.contains("shared file changed"), "{stderr}");
}
