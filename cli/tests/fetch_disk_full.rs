//! `ejtp fetch` into a folder on a file system too small for the content (a 2 MiB tmpfs: the
//! tests run as root, and this one skips with a message where mounting is not allowed): it
//! fails at once, says which folder lacks room, and leaves no `.part` behind.

#![cfg(target_os = "linux")]

mod common;

use std::time::Duration;

use sha2::{Digest, Sha256};

#[path = "../../adapter-core/tests/support/tmpfs.rs"]
mod tmpfs;

use tmpfs::Tmpfs;

#[test]
fn a_fetch_onto_a_too_small_disk_fails_at_once_naming_the_folder_and_writes_nothing() {
    let Some(small) = Tmpfs::mount("2m") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (identity, _) = common::keygen(dir.path(), "seed.json", "seed");
    let shared = dir.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    let bytes: Vec<u8> = (0..3u32 << 20).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(shared.join("big.bin"), &bytes).unwrap();
    let id: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let seeder = common::RunningNode::seeder(&identity, "127.0.0.1:0", &shared);
    let out = small.dir.join("out");
    let started = std::time::Instant::now();
    let done = common::finish(
        common::ejtp()
            .args(["fetch", &id, "--peer", &seeder.addr(0).to_string(), "--out"])
            .arg(&out),
    );
    assert_eq!(done.code(), Some(1), "{done:#?}");
    assert!(started.elapsed() < Duration::from_secs(20), "{done:#?}");
    let last = done.stderr.lines().last().unwrap_or_default();
    assert!(last.contains("not enough free space in"), "{done:#?}");
    assert!(last.contains(&out.display().to_string()), "{done:#?}");
    let part = out.join(".ejtp-partial").join(format!("{id}.part"));
    let len = std::fs::metadata(&part).map_or(0, |m| m.len());
    assert_eq!(len, 0, "a {len}-byte .part was left");
    eprintln!("ejtp fetch said: {last}");
    drop(seeder);
}
