//! Downloads onto a nearly full file system (a 2 MiB tmpfs: these tests run as root, and skip
//! with a message where mounting is not allowed): a content larger than the free space is
//! refused before anything is written, with a message naming the folder; and a disk that fills
//! midway leaves no more on disk than was written.

#![cfg(target_os = "linux")]

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use ejtp_adapter_core::store::{DirectoryStore, PARTIAL_DIR};
use ejtp_proto::content::{ContentId, Download, DownloadConfig, DownloadEvent, FailReason};
use ejtp_proto::{Instant, TransportAddr};

#[path = "support/tmpfs.rs"]
mod tmpfs;

use tmpfs::Tmpfs;

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 253) as u8).collect()
}

fn source() -> TransportAddr {
    "udp:127.0.0.1:24254".parse().unwrap()
}

/// Serves `bytes` to `download` without loss until it finishes.
fn serve(download: &mut Download, store: &mut DirectoryStore, bytes: &[u8]) {
    let mut now = 0;
    while !download.is_finished() {
        let requests: Vec<_> =
            std::iter::from_fn(|| download.poll_request(Instant::from_millis(now))).collect();
        assert!(!requests.is_empty(), "the download stalled");
        for request in requests {
            let start = (request.offset as usize).min(bytes.len());
            let end = (start + request.length as usize).min(bytes.len());
            now += 1;
            download.handle_block(
                Instant::from_millis(now),
                store,
                request.to,
                request.offset,
                &bytes[start..end],
                bytes.len() as u64,
            );
        }
    }
}

fn failure(download: &mut Download) -> String {
    let events: Vec<DownloadEvent> = std::iter::from_fn(|| download.poll_event()).collect();
    let why = events.iter().find_map(|event| match event {
        DownloadEvent::Failed { why } => Some(why.clone()),
        _ => None,
    });
    match why {
        Some(why @ FailReason::Store(_)) => why.to_string(),
        other => panic!("not a store failure: {other:?} in {events:?}"),
    }
}

/// Bytes the file's data takes on disk (not its apparent length: a sparse file takes less).
fn on_disk(path: &Path) -> u64 {
    fs::metadata(path).map_or(0, |m| m.blocks() * 512)
}

#[test]
fn a_content_larger_than_the_free_space_is_refused_before_anything_is_written() {
    let Some(small) = Tmpfs::mount("2m") else {
        return;
    };
    let bytes = content(3 << 20);
    let id = ContentId::of(&bytes);
    let mut store = DirectoryStore::open(&small.dir).unwrap();
    let mut download = Download::new(id, DownloadConfig::default(), Instant::ZERO);
    download.add_source(source());
    serve(&mut download, &mut store, &bytes);
    assert!(!download.is_completed());
    let why = failure(&mut download);
    eprintln!("the failure: {why}");
    assert!(why.contains("not enough free space"), "{why}");
    assert!(why.contains(&small.dir.display().to_string()), "{why}");
    assert!(
        !why.contains("failed: "),
        "one reason, not a stack of them: {why}"
    );
    // Nothing of the content was written, and no file claims its length.
    let part = small.dir.join(PARTIAL_DIR).join(format!("{id}.part"));
    let len = fs::metadata(&part).map_or(0, |m| m.len());
    assert_eq!(len, 0, "{} holds a {len}-byte .part", small.dir.display());
}

#[test]
fn a_disk_that_fills_midway_leaves_no_more_on_disk_than_was_written() {
    let Some(small) = Tmpfs::mount("2m") else {
        return;
    };
    let bytes = content(1 << 20);
    let id = ContentId::of(&bytes);
    let mut store = DirectoryStore::open(&small.dir).unwrap();
    let mut download = Download::new(id, DownloadConfig::default(), Instant::ZERO);
    download.add_source(source());
    // The first answer begins the download while there is room enough...
    let first = download.poll_request(Instant::ZERO).unwrap();
    download.handle_block(
        Instant::ZERO,
        &mut store,
        first.to,
        0,
        &bytes[..4096],
        1 << 20,
    );
    assert!(!download.is_finished());
    // ...then something else fills the disk but for 256 KiB.
    let filler = small.dir.join("filler");
    let free = fs2_free(&small.dir);
    fs::write(&filler, vec![1u8; (free - (256 << 10)) as usize]).unwrap();
    serve(&mut download, &mut store, &bytes);
    assert!(!download.is_completed());
    let why = failure(&mut download);
    eprintln!("the failure: {why}");
    assert!(why.contains("no space left in"), "{why}");
    assert!(why.contains(&small.dir.display().to_string()), "{why}");
    drop(store);
    let part = small.dir.join(PARTIAL_DIR).join(format!("{id}.part"));
    let apparent = fs::metadata(&part).map_or(0, |m| m.len());
    // No file of the full length: the .part is as long as what reached it, and that is less
    // than the whole (the disk was full).
    assert!(
        apparent < bytes.len() as u64,
        ".part is {apparent} bytes long"
    );
    assert!(
        on_disk(&part) <= apparent.next_multiple_of(4096),
        "{}",
        on_disk(&part)
    );
}

/// Free bytes in the file system of `dir`, as `df` says.
fn fs2_free(dir: &Path) -> u64 {
    let out = Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}
