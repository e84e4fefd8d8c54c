//! `ejtp fetch` from a seeder that is frozen for two seconds midway (SIGSTOP, then SIGCONT):
//! the fetch stalls, waits for it, and completes with the verified file instead of failing.

#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

const LEN: usize = 64 << 20;

/// How long the seeder is frozen: more than the old rule took to drop a silent source (six
/// timeouts in a row, well under a second on loopback).
const FROZEN: Duration = Duration::from_secs(2);

fn pattern() -> Vec<u8> {
    (0..LEN as u64)
        .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
        .collect()
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Kills the child if the test fails before it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_fetch_from_a_seeder_frozen_for_two_seconds_waits_and_completes() {
    let dir = tempfile::tempdir().unwrap();
    let (identity, _) = common::keygen(dir.path(), "seed.json", "seed");
    let shared = dir.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    let original = pattern();
    std::fs::write(shared.join("big.bin"), &original).unwrap();
    let id = hex_sha256(&original);

    let seeder = common::RunningNode::seeder(&identity, "127.0.0.1:0", &shared);
    let peer = seeder.addr(0).to_string();

    let out = dir.path().join("out");
    let child = common::ejtp()
        .args(["fetch", &id, "--peer", &peer, "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ejtp fetch starts");
    let mut fetch = Killed(child);
    let stdout = fetch.0.stdout.take().unwrap();
    let stdout = thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            text.push_str(&line);
            text.push('\n');
        }
        text
    });

    // Freeze the seeder once the fetch has begun writing: its first progress line, then its
    // manifest recording a block.
    let seen = common::wait_for_first_block(fetch.0.stderr.take().unwrap(), &out, &id);
    seeder.signal("STOP");
    thread::sleep(FROZEN);
    // The fetch is still waiting, and the file is not there yet: it was really stalled.
    let early = fetch.0.try_wait().unwrap();
    let complete = out.join(&id).exists();
    seeder.signal("CONT");
    assert!(
        early.is_none(),
        "ejtp fetch ended while the seeder was frozen: {early:?}; stderr so far: {:?}",
        seen.try_iter().collect::<Vec<_>>()
    );
    assert!(!complete, "the file was complete before the seeder froze");

    // Once the seeder goes on, so does the fetch, to the end.
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = fetch.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "ejtp fetch did not end");
        thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.join().unwrap();
    let stderr: Vec<String> = seen.try_iter().collect();
    assert!(status.success(), "{status:?}\n{stdout}\n{stderr:?}");
    let path: PathBuf = stdout
        .lines()
        .find_map(|line| line.strip_prefix("fetched: "))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no fetched line in {stdout:?}"));
    let fetched = std::fs::read(&path).unwrap();
    assert_eq!(hex_sha256(&fetched), id);
    assert!(fetched == original);
    drop(seeder);
}
