//! The directory store on real files: shared files served by id, downloads resumed after a
//! restart, damaged partial blocks fetched again, and nothing in the folder until verified.

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use ejtp_adapter_core::store::{DirectoryStore, PARTIAL_DIR};
use ejtp_proto::content::{
    ContentId, ContentStore, Download, DownloadConfig, DownloadEvent, PartialStore,
};
use ejtp_proto::{Instant, TransportAddr};

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 253) as u8).collect()
}

fn seeder() -> TransportAddr {
    "udp:127.0.0.1:24254".parse().unwrap()
}

/// Serves `bytes` to `download` without loss until it finishes or `stop` says so.
fn fetch(
    download: &mut Download,
    store: &mut DirectoryStore,
    bytes: &[u8],
    mut stop: impl FnMut(&Download) -> bool,
) {
    let mut now = 0;
    while !download.is_finished() && !stop(download) {
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

/// The visible (not hidden) entries of the folder.
fn visible(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();
    names
}

#[test]
fn scanned_files_are_served_by_id_and_hidden_ones_are_not_shared() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("hello.txt"), b"hello world").unwrap();
    fs::write(dir.path().join(".secret"), b"not shared").unwrap();
    let mut store = DirectoryStore::open(dir.path()).unwrap();
    let shared = store.scan().unwrap();
    let id = ContentId::of(b"hello world");
    assert_eq!(shared, [(id, dir.path().join("hello.txt"))]);
    assert_eq!(store.list(), [(id, 11)]);
    let mut buf = [0u8; 8];
    assert_eq!(store.read_at(&id, 6, &mut buf), Ok(5));
    assert_eq!(&buf[..5], b"world");
    assert_eq!(store.read_at(&id, 11, &mut buf), Ok(0));
    assert!(store.len_of(&ContentId::of(b"not shared")).is_none());
}

#[test]
fn a_download_appears_in_the_folder_only_once_verified_under_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(300_000);
    let id = ContentId::of(&bytes);
    let mut store = DirectoryStore::open(dir.path()).unwrap();
    store.name_download(id, "movie.bin").unwrap();
    assert!(store.name_download(id, "../escape").is_err());
    assert!(store.name_download(id, ".hidden").is_err());
    let mut download = Download::new(id, DownloadConfig::default(), Instant::ZERO);
    download.add_source(seeder());
    let mut checked = 0;
    fetch(&mut download, &mut store, &bytes, |_| {
        // Throughout the download, the folder shows nothing.
        assert!(visible(dir.path()).is_empty());
        checked += 1;
        false
    });
    assert!(checked > 3);
    assert!(download.is_completed());
    assert_eq!(visible(dir.path()), ["movie.bin"]);
    assert_eq!(fs::read(dir.path().join("movie.bin")).unwrap(), bytes);
    assert_eq!(
        fs::read_dir(dir.path().join(PARTIAL_DIR)).unwrap().count(),
        0
    );
    assert_eq!(
        store.path_of(&id),
        Some(dir.path().join("movie.bin").as_path())
    );
    assert_eq!(store.len_of(&id), Some(300_000));
}

#[test]
fn a_download_resumes_after_a_restart_and_fetches_only_what_it_lacked() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(500_000);
    let id = ContentId::of(&bytes);
    {
        let mut store = DirectoryStore::open(dir.path()).unwrap();
        let mut download = Download::new(id, DownloadConfig::default(), Instant::ZERO);
        download.add_source(seeder());
        fetch(&mut download, &mut store, &bytes, |d| {
            d.have_bytes() >= 250_000
        });
        assert!(!download.is_finished());
        // The process stops here: the store and the download are dropped.
    }
    assert!(visible(dir.path()).is_empty());
    let mut store = DirectoryStore::open(dir.path()).unwrap();
    let mut download =
        Download::resume(id, DownloadConfig::default(), Instant::ZERO, &mut store).unwrap();
    assert!(download.have_bytes() >= 250_000);
    download.add_source(seeder());
    fetch(&mut download, &mut store, &bytes, |_| false);
    assert!(download.is_completed());
    let blocks = download.layout().unwrap().block_count();
    assert!(
        download.stats().blocks_received <= blocks / 2 + 1,
        "{:?}",
        download.stats()
    );
    assert_eq!(fs::read(dir.path().join(id.to_string())).unwrap(), bytes);
}

#[test]
fn a_damaged_partial_block_is_detected_on_resume_and_fetched_again() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(100_000);
    let id = ContentId::of(&bytes);
    let first_run = {
        let mut store = DirectoryStore::open(dir.path()).unwrap();
        let mut download = Download::new(id, DownloadConfig::default(), Instant::ZERO);
        download.add_source(seeder());
        fetch(&mut download, &mut store, &bytes, |d| {
            d.have_bytes() >= 60_000
        });
        download.have_bytes()
    };
    let work = dir.path().join(PARTIAL_DIR);
    // A disk error in block 1, and a line torn by a crash at the end of the manifest.
    let mut part = fs::OpenOptions::new()
        .write(true)
        .open(work.join(format!("{id}.part")))
        .unwrap();
    part.seek(SeekFrom::Start(4096 + 10)).unwrap();
    part.write_all(&[bytes[4096 + 10] ^ 0xff]).unwrap();
    let mut manifest = fs::OpenOptions::new()
        .append(true)
        .open(work.join(format!("{id}.manifest")))
        .unwrap();
    manifest.write_all(b"7 00ff").unwrap();
    drop((part, manifest));

    let mut store = DirectoryStore::open(dir.path()).unwrap();
    let mut download =
        Download::resume(id, DownloadConfig::default(), Instant::ZERO, &mut store).unwrap();
    let resumed = download.have_bytes();
    assert_eq!(resumed, first_run - 4096, "block 1 alone is dropped");
    download.add_source(seeder());
    fetch(&mut download, &mut store, &bytes, |_| false);
    assert!(download.is_completed());
    assert_eq!(download.stats().hash_mismatches, 0);
    assert_eq!(fs::read(dir.path().join(id.to_string())).unwrap(), bytes);
}

#[test]
fn a_version_1_manifest_from_an_earlier_build_starts_the_download_over() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(10_000);
    let id = ContentId::of(&bytes);
    let work = dir.path().join(PARTIAL_DIR);
    fs::create_dir_all(&work).unwrap();
    // What an earlier build left: the data, and SHA-256 lines under a version 1 header.
    fs::write(work.join(format!("{id}.part")), &bytes).unwrap();
    let block_hash = |block: &[u8]| ContentId::of(block).to_string();
    let old = format!(
        "ejtp-manifest 1 {id} 10000 4096\n0 {}\n1 {}\n",
        block_hash(&bytes[..4096]),
        block_hash(&bytes[4096..8192])
    );
    fs::write(work.join(format!("{id}.manifest")), old).unwrap();

    let mut store = DirectoryStore::open(dir.path()).unwrap();
    let mut download =
        Download::resume(id, DownloadConfig::default(), Instant::ZERO, &mut store).unwrap();
    assert_eq!(
        download.have_bytes(),
        0,
        "nothing is trusted from a version 1 manifest"
    );
    download.add_source(seeder());
    fetch(&mut download, &mut store, &bytes, |_| false);
    assert!(download.is_completed());
    assert_eq!(fs::read(dir.path().join(id.to_string())).unwrap(), bytes);
}

#[test]
fn wrong_content_never_reaches_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(50_000);
    let id = ContentId::of(&bytes);
    let mut lie = bytes;
    lie[40_000] ^= 1;
    let mut store = DirectoryStore::open(dir.path()).unwrap();
    let mut download = Download::new(id, DownloadConfig::default(), Instant::ZERO);
    download.add_source(seeder());
    fetch(&mut download, &mut store, &lie, |_| false);
    assert!(!download.is_completed());
    let events: Vec<_> = std::iter::from_fn(|| download.poll_event()).collect();
    assert!(events.contains(&DownloadEvent::HashMismatch));
    assert!(visible(dir.path()).is_empty());
    // The caller may drop the partial download altogether.
    store.abort(&id).unwrap();
    assert_eq!(
        fs::read_dir(dir.path().join(PARTIAL_DIR)).unwrap().count(),
        0
    );
}
