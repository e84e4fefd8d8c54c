//! Sharing and fetching content on every adapter over loopback UDP: one node shares a real
//! file from a folder, another fetches it into its own folder, over CJP2P and then, both being
//! our nodes, over an EJTP session.

mod common;

use std::fs;
use std::path::Path;

use common::{ipv4, ipv6, options};
use ejtp_adapter_core::FetchOutcome;
use ejtp_adapter_tests::{TestHandle, TestNode, for_each_adapter};
use ejtp_proto::content::ContentId;

/// The visible files of a folder (the working folder `.ejtp-partial` is hidden).
fn visible_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();
    names
}

fn content(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from(i % 253).unwrap() ^ salt ^ u8::try_from(i / 4096 % 256).unwrap())
        .collect()
}

fn a_shared_file_is_fetched_into_the_other_nodes_folder<N: TestNode>() {
    let dir = tempfile::tempdir().unwrap();
    let (seed_dir, fetch_dir) = (dir.path().join("seed"), dir.path().join("fetch"));
    fs::create_dir_all(&seed_dir).unwrap();
    // One file in the folder when the node starts (scanned), one shared afterwards.
    let in_folder = content(300_000, 1);
    fs::write(seed_dir.join("in-folder.bin"), &in_folder).unwrap();
    let later = content(2 << 20, 2);
    let later_path = dir.path().join("later.bin");
    fs::write(&later_path, &later).unwrap();

    let seeder = N::bind(options(1).udp(ipv4()).share_dir(&seed_dir));
    let fetcher = N::bind(options(2).udp(ipv4()).share_dir(&fetch_dir));
    let shared_id = seeder.handle().share(&later_path).unwrap();
    assert_eq!(shared_id, ContentId::of(&later));
    let sources = seeder.udp_addrs();
    assert!(visible_files(&fetch_dir).is_empty());

    for (bytes, name) in [(&in_folder, "in-folder"), (&later, "later")] {
        let id = ContentId::of(bytes);
        let outcome = fetcher.handle().fetch(id, &sources).unwrap();
        let FetchOutcome::Completed {
            id: done,
            len,
            path,
        } = outcome
        else {
            panic!("{}: {name} not fetched: {outcome:?}", N::ADAPTER);
        };
        assert_eq!((done, len), (id, bytes.len() as u64));
        let path = path.expect("a completed download has a path");
        assert_eq!(path.parent(), Some(fetch_dir.as_path()));
        assert!(
            fs::read(&path).unwrap() == *bytes,
            "{}: {name} differs",
            N::ADAPTER
        );
    }
    // The nodes found each other to be ours: the second file came mostly in session frames.
    let in_session = fetcher
        .handle()
        .stats()
        .unwrap()
        .fetch
        .session_content_bytes;
    assert!(
        in_session >= later.len() as u64 / 2,
        "{}: {in_session} bytes in session frames",
        N::ADAPTER
    );
    assert!(
        seeder
            .handle()
            .stats()
            .unwrap()
            .fetch
            .session_content_served
            > 0
    );
    // Only the two complete files are visible; a second fetch of one completes at once.
    assert_eq!(visible_files(&fetch_dir).len(), 2);
    let again = fetcher.handle().fetch(shared_id, &[]).unwrap();
    assert!(matches!(again, FetchOutcome::Completed { .. }), "{again:?}");
    fetcher.shutdown();
    seeder.shutdown();
}

fn a_fetch_without_a_shared_folder_is_refused<N: TestNode>() {
    let node = N::bind(options(3).udp(ipv4()));
    let result = node
        .handle()
        .fetch(ContentId::of(b"x"), &["127.0.0.1:9".parse().unwrap()]);
    assert!(
        matches!(result, Err(ejtp_adapter_core::Error::Command(_))),
        "{}: {result:?}",
        N::ADAPTER
    );
    assert!(node.handle().share(Path::new("/nonexistent")).is_err());
    node.shutdown();
}

/// Whether this machine has ::1 (the tests that need it skip otherwise).
fn has_ipv6() -> bool {
    std::net::UdpSocket::bind(ipv6()).is_ok()
}

/// A node with a socket of each family fetches from a seeder on ::1 and one on 127.0.0.1: both
/// are asked, each from the socket of its own family. A node with only an IPv4 socket still
/// fetches from the IPv4 seeder, and the one it cannot reach counts as a failed transmit.
fn seeders_of_both_families_are_asked<N: TestNode>() {
    if !has_ipv6() {
        eprintln!("{}: skipped, this machine has no ::1", N::ADAPTER);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = content(1 << 20, 3);
    let id = ContentId::of(&file);
    let seed = |n: u8, addr| {
        let folder = dir.path().join(format!("seed{n}"));
        fs::create_dir_all(&folder).unwrap();
        fs::write(folder.join("file.bin"), &file).unwrap();
        N::bind(options(n).udp(addr).share_dir(&folder))
    };
    let (v6, v4) = (seed(4, ipv6()), seed(5, ipv4()));
    let sources = [v6.udp_addrs()[0], v4.udp_addrs()[0]];

    let both = N::bind(
        options(6)
            .udp(ipv4())
            .udp(ipv6())
            .share_dir(dir.path().join("both")),
    );
    let outcome = both.handle().fetch(id, &sources).unwrap();
    assert!(
        matches!(outcome, FetchOutcome::Completed { .. }),
        "{}: {outcome:?}",
        N::ADAPTER
    );
    for (seeder, family) in [(&v6, "::1"), (&v4, "127.0.0.1")] {
        let asked = seeder.handle().stats().unwrap().cjp2p.cjp2p_datagrams;
        assert!(
            asked > 0,
            "{}: the {family} seeder was never asked",
            N::ADAPTER
        );
    }
    assert_eq!(both.handle().stats().unwrap().routing.transmits_failed, 0);
    both.shutdown();

    let only_v4 = N::bind(options(7).udp(ipv4()).share_dir(dir.path().join("v4")));
    let outcome = only_v4.handle().fetch(id, &sources).unwrap();
    assert!(
        matches!(outcome, FetchOutcome::Completed { .. }),
        "{}: {outcome:?}",
        N::ADAPTER
    );
    let failed = only_v4.handle().stats().unwrap().routing.transmits_failed;
    assert!(failed > 0, "{}: the ::1 seeder is unreachable", N::ADAPTER);
    only_v4.shutdown();
    v6.shutdown();
    v4.shutdown();
}

for_each_adapter!(
    a_shared_file_is_fetched_into_the_other_nodes_folder,
    a_fetch_without_a_shared_folder_is_refused,
    seeders_of_both_families_are_asked,
);
