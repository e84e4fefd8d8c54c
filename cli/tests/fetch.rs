//! `ejtp share`, `ejtp run --share` and `ejtp fetch` as real processes over 127.0.0.1: a
//! 64 MiB file, fetched whole, then fetched again with the fetch killed midway and resumed.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

const LEN: usize = 64 << 20;

/// The file's bytes: a fixed pattern that no block repeats (a multiplicative hash of the offset).
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

/// Runs `ejtp fetch` to the end (at most 60 s) and returns (exit code, stdout, stderr).
fn fetch(id: &str, peer: &str, out: &Path) -> (Option<i32>, String, String) {
    let child = spawn_fetch(id, peer, out);
    let output = wait_output(child, Duration::from_secs(60));
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn spawn_fetch(id: &str, peer: &str, out: &Path) -> Child {
    common::ejtp()
        .args(["fetch", id, "--peer", peer, "--out"])
        .arg(out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ejtp fetch starts")
}

fn wait_output(child: Child, limit: Duration) -> std::process::Output {
    let pid = child.id();
    let (done, result) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match result.recv_timeout(limit) {
        Ok(output) => output.expect("wait"),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("ejtp fetch took longer than {limit:?}");
        }
    }
}

/// The path printed as `fetched: <path>`.
fn fetched_path(stdout: &str) -> PathBuf {
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("fetched: "))
        .unwrap_or_else(|| panic!("no fetched line in {stdout:?}"));
    PathBuf::from(line)
}

#[test]
#[cfg(unix)]
fn a_shared_64_mib_file_is_fetched_over_udp_and_an_interrupted_fetch_resumes() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let (identity, _) = common::keygen(dir.path(), "seed.json", "seed");
    let original = pattern();
    let source = dir.path().join("big.bin");
    std::fs::write(&source, &original).unwrap();
    let expected_id = hex_sha256(&original);

    // `ejtp share` copies it into the folder and prints its id.
    let shared = dir.path().join("shared");
    let done = common::finish(
        common::ejtp()
            .args(["share", "--dir"])
            .arg(&shared)
            .arg(&source),
    );
    assert_eq!(done.code(), Some(0), "{done:#?}");
    let (id, placed) = done.stdout.trim().split_once(' ').expect("id and path");
    assert_eq!(id, expected_id);
    assert_eq!(std::fs::read(placed).unwrap(), original);

    let seeder = common::RunningNode::seeder(&identity, "127.0.0.1:0", &shared);
    let peer = seeder.addr(0).to_string();

    // A whole fetch.
    let out = dir.path().join("out");
    let (code, stdout, stderr) = fetch(id, &peer, &out);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let path = fetched_path(&stdout);
    assert_eq!(path.parent(), Some(out.as_path()));
    let fetched = std::fs::read(&path).unwrap();
    assert_eq!(fetched.len(), LEN);
    assert_eq!(hex_sha256(&fetched), expected_id);
    assert!(fetched == original);
    let whole = started.elapsed();

    // A fetch killed once it holds some of the file (progress lines on stderr: not a
    // terminal), then run again. Between our nodes the whole file can arrive within one
    // progress interval (a line a second), so the seeder is frozen just after the first line,
    // the fetcher killed, and the seeder let go again for the rerun.
    let out2 = dir.path().join("out2");
    let mut child = spawn_fetch(id, &peer, &out2);
    // The first line comes once the length is known and the partial download is begun on
    // disk; once its manifest records a block, the seeder is frozen, and what it sent by then
    // lands before the kill.
    let _progress = common::wait_for_first_block(child.stderr.take().unwrap(), &out2, id);
    seeder.signal("STOP");
    thread::sleep(Duration::from_millis(200));
    child.kill().unwrap();
    let _ = child.wait();
    seeder.signal("CONT");
    assert!(
        !out2.join(id).exists(),
        "the file appears only once complete"
    );
    assert!(
        out2.join(".ejtp-partial")
            .join(format!("{id}.part"))
            .exists()
    );

    let (code, stdout, stderr) = fetch(id, &peer, &out2);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    // The rerun reports what it reused from the killed run's partial download.
    let resumed: u64 = stdout
        .lines()
        .find_map(|line| line.strip_prefix("resumed: "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no resumed line in {stdout:?}"));
    assert!(resumed > 0 && resumed < LEN as u64, "resumed {resumed}");
    let path = fetched_path(&stdout);
    let fetched = std::fs::read(&path).unwrap();
    assert_eq!(hex_sha256(&fetched), expected_id);
    assert!(fetched == original);
    eprintln!(
        "whole fetch (with setup) {whole:?}; resumed from {resumed}; total {:?}",
        started.elapsed()
    );
    drop(seeder);
}

#[test]
fn fetch_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    // A malformed id is a usage error.
    let done = common::finish(
        common::ejtp()
            .args(["fetch", "abc", "--peer", "127.0.0.1:9", "--out"])
            .arg(dir.path()),
    );
    let line = done.assert_one_line_error(2);
    assert!(line.contains("content id"), "{line}");
    // A peer that never answers: the fetch gives up at its timeout and says how to resume.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let id = hex_sha256(b"nobody has this");
    let done = common::finish(
        common::ejtp()
            .args(["fetch", &id, "--timeout", "1", "--peer"])
            .arg(silent.local_addr().unwrap().to_string())
            .arg("--out")
            .arg(dir.path()),
    );
    let line = done.assert_one_line_error(1);
    assert!(line.contains("run again to resume"), "{line}");
    // `share` of a missing file.
    let done = common::finish(
        common::ejtp()
            .args(["share", "--dir"])
            .arg(dir.path().join("shared"))
            .arg(dir.path().join("missing.bin")),
    );
    let line = done.assert_one_line_error(1);
    assert!(line.contains("missing.bin"), "{line}");
}
