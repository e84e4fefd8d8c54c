//! A wrong length cannot poison a folder: neither a source that answered first with a wrong
//! `eof` in an earlier run, nor a manifest header whose length was damaged on disk, stops a
//! later fetch of the same id from honest sources (the stored length is only a candidate, and
//! a length mismatch starts the download afresh).

use std::fs;

use ejtp_adapter_core::store::{DirectoryStore, PARTIAL_DIR};
use ejtp_proto::content::{ContentId, ContentStore, Download, DownloadConfig};
use ejtp_proto::{Instant, TransportAddr};

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 253) as u8).collect()
}

fn source(port: u16) -> TransportAddr {
    format!("udp:127.0.0.1:{port}").parse().unwrap()
}

/// Answers every request of `download` from `bytes`, saying the content is `eof` long (bytes
/// past the real end are zeros), until it finishes or `stop` says so.
fn serve(
    download: &mut Download,
    store: &mut DirectoryStore,
    bytes: &[u8],
    eof: u64,
    mut stop: impl FnMut(&Download) -> bool,
) {
    let mut now = 0;
    while !download.is_finished() && !stop(download) {
        let requests: Vec<_> =
            std::iter::from_fn(|| download.poll_request(Instant::from_millis(now))).collect();
        assert!(!requests.is_empty(), "the download stalled");
        for request in requests {
            let start = (request.offset as usize).min(eof as usize);
            let end = (start + request.length as usize).min(eof as usize);
            let mut answer = bytes[start.min(bytes.len())..end.min(bytes.len())].to_vec();
            answer.resize(end - start, 0);
            now += 1;
            download.handle_block(
                Instant::from_millis(now),
                store,
                request.to,
                request.offset,
                &answer,
                eof,
            );
        }
    }
}

fn fetch_honestly(store: &mut DirectoryStore, id: ContentId, bytes: &[u8]) -> Download {
    let mut download =
        Download::resume(id, DownloadConfig::default(), Instant::ZERO, store).unwrap();
    download.add_source(source(2));
    serve(&mut download, store, bytes, bytes.len() as u64, |_| false);
    download
}

#[test]
fn a_liars_length_from_an_earlier_run_does_not_block_honest_sources() {
    let bytes = content(100_000);
    let id = ContentId::of(&bytes);
    for wrong in [250_000u64, 60_001] {
        let dir = tempfile::tempdir().unwrap();
        let mut store = DirectoryStore::open(dir.path()).unwrap();
        // The earlier run: a liar answered first, and the run was cut short.
        let mut first = Download::new(id, DownloadConfig::default(), Instant::ZERO);
        first.add_source(source(1));
        serve(&mut first, &mut store, &bytes, wrong, |d| {
            d.have_bytes() >= 30_000
        });
        assert_eq!(first.layout().unwrap().total_len, wrong);
        drop(first);
        drop(store);

        let mut store = DirectoryStore::open(dir.path()).unwrap();
        let download = fetch_honestly(&mut store, id, &bytes);
        assert!(download.is_completed(), "{wrong}: {:?}", download.stats());
        assert_eq!(store.len_of(&id), Some(bytes.len() as u64));
        assert_eq!(fs::read(store.path_of(&id).unwrap()).unwrap(), bytes);
    }
}

#[test]
fn a_manifest_whose_length_was_damaged_on_disk_does_not_block_the_fetch() {
    let bytes = content(100_000);
    let id = ContentId::of(&bytes);
    let dir = tempfile::tempdir().unwrap();
    let mut store = DirectoryStore::open(dir.path()).unwrap();
    let mut first = Download::new(id, DownloadConfig::default(), Instant::ZERO);
    first.add_source(source(1));
    serve(&mut first, &mut store, &bytes, bytes.len() as u64, |d| {
        d.have_bytes() >= 40_000
    });
    drop(first);
    drop(store);
    // One digit of the header's length changed: 100000 becomes 900000.
    let manifest = dir.path().join(PARTIAL_DIR).join(format!("{id}.manifest"));
    let text = fs::read_to_string(&manifest).unwrap();
    let damaged = text.replacen(" 100000 ", " 900000 ", 1);
    assert_ne!(text, damaged);
    fs::write(&manifest, damaged).unwrap();

    let mut store = DirectoryStore::open(dir.path()).unwrap();
    let download = fetch_honestly(&mut store, id, &bytes);
    assert!(download.is_completed(), "{:?}", download.stats());
    assert_eq!(fs::read(store.path_of(&id).unwrap()).unwrap(), bytes);
}
