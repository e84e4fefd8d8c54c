//! A running node's shared folder stays current on every adapter: a file added while it runs
//! is served, and a file changed in place is served under its new id and no longer under its
//! old one.

mod common;

use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use common::{WAIT, ipv4, options};
use ejtp_adapter_core::FetchOutcome;
use ejtp_adapter_tests::{TestHandle, TestNode, for_each_adapter};
use ejtp_proto::content::ContentId;

/// How often the seeders of these tests look at their folder.
const RESCAN: Duration = Duration::from_millis(200);

fn content(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from(i % 251).unwrap() ^ salt)
        .collect()
}

/// Fetches `id` from `sources` into a new node of its own, again and again until it completes
/// (a source that does not have it yet makes the fetch fail at once); panics after [`WAIT`].
/// Each attempt is a new node, with an identity of its own, added to `nodes`; they stay up
/// (a source without some content names the peers it heard from, and a peer that went away
/// would cost the next fetch its timeouts). Returns the fetched file's bytes and removes the
/// file, so that only the seeder could serve that content afterwards.
fn fetch_within<N: TestNode>(
    dir: &Path,
    nodes: &mut Vec<N>,
    id: ContentId,
    sources: &[SocketAddr],
) -> Vec<u8> {
    let deadline = Instant::now() + WAIT;
    loop {
        let n = u8::try_from(10 + nodes.len()).expect("fewer than 246 attempts");
        let node = N::bind(
            options(n)
                .udp(ipv4())
                .share_dir(dir.join(format!("node{n}"))),
        );
        let outcome = node.handle().fetch(id, sources).unwrap();
        nodes.push(node);
        if let FetchOutcome::Completed { path, .. } = &outcome {
            let path = path.as_ref().expect("a completed download has a path");
            let bytes = fs::read(path).unwrap();
            fs::remove_file(path).unwrap();
            return bytes;
        }
        assert!(
            Instant::now() < deadline,
            "{}: {id} was not served within {WAIT:?}: {outcome:?}",
            N::ADAPTER
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// Rewrites `path` in place with `bytes` (the same length), making sure its modification time
/// moves even on a file system with coarse timestamps.
fn change_in_place(path: &Path, bytes: &[u8]) {
    let before = fs::metadata(path).unwrap().modified().unwrap();
    fs::write(path, bytes).unwrap();
    let file = fs::File::options().write(true).open(path).unwrap();
    if file.metadata().unwrap().modified().unwrap() == before {
        file.set_modified(before + Duration::from_secs(2)).unwrap();
    }
}

fn files_added_or_changed_while_running_are_served_by_their_new_id<N: TestNode>() {
    let dir = tempfile::tempdir().unwrap();
    let seed_dir = dir.path().join("seed");
    let seeder = N::bind(
        options(1)
            .udp(ipv4())
            .share_dir(&seed_dir)
            .share_rescan(Some(RESCAN)),
    );
    let sources = seeder.udp_addrs();
    let mut nodes: Vec<N> = Vec::new();

    // Added after the node started.
    let added = content(200_000, 1);
    let path = seed_dir.join("added.bin");
    fs::write(&path, &added).unwrap();
    let got = fetch_within(dir.path(), &mut nodes, ContentId::of(&added), &sources);
    assert!(got == added, "{}: the added file differs", N::ADAPTER);

    // Changed in place, length kept: served under the new id, refused under the old.
    let changed = content(200_000, 2);
    change_in_place(&path, &changed);
    let got = fetch_within(dir.path(), &mut nodes, ContentId::of(&changed), &sources);
    assert!(got == changed, "{}: the changed file differs", N::ADAPTER);
    let old = N::bind(options(2).udp(ipv4()).share_dir(dir.path().join("old")));
    let refused = old.handle().fetch(ContentId::of(&added), &sources).unwrap();
    assert!(
        matches!(refused, FetchOutcome::Failed { .. }),
        "{}: the old id is still served: {refused:?}",
        N::ADAPTER
    );

    // Removed: no longer served either.
    fs::remove_file(&path).unwrap();
    let gone = old
        .handle()
        .fetch(ContentId::of(&changed), &sources)
        .unwrap();
    assert!(
        matches!(gone, FetchOutcome::Failed { .. }),
        "{}: a removed file is still served: {gone:?}",
        N::ADAPTER
    );
    for node in nodes {
        node.shutdown();
    }
    old.shutdown();
    seeder.shutdown();
}

for_each_adapter!(files_added_or_changed_while_running_are_served_by_their_new_id);
