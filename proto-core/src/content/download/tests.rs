//! The download's rules, one at a time, with a hand-driven source.

use alloc::vec::Vec;

use super::*;
use crate::content::{ContentStore, MemoryPartialStore};

fn addr(n: u8) -> TransportAddr {
    alloc::format!("udp:10.0.0.{n}:24254").parse().unwrap()
}

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// The bytes a seeder answers `request` with.
fn answer(content: &[u8], request: &BlockRequest) -> Vec<u8> {
    let start = (request.offset as usize).min(content.len());
    let end = (start + request.length as usize).min(content.len());
    content[start..end].to_vec()
}

fn requests(download: &mut Download, now: Instant) -> Vec<BlockRequest> {
    core::iter::from_fn(|| download.poll_request(now)).collect()
}

fn events(download: &mut Download) -> Vec<DownloadEvent> {
    core::iter::from_fn(|| download.poll_event()).collect()
}

#[test]
fn the_first_block_is_asked_of_every_source_and_the_first_answer_gives_the_length() {
    let bytes = content(20_000);
    let mut download = Download::new(ContentId::of(&bytes), DownloadConfig::default(), at(0));
    assert!(download.add_source(addr(1)) && download.add_source(addr(2)));
    assert!(!download.add_source(addr(1)));
    let asked = requests(&mut download, at(0));
    assert_eq!(asked.len(), 2);
    assert!(asked.iter().all(|r| r.offset == 0 && r.length == 4096));
    let mut store = MemoryPartialStore::new();
    download.handle_block(
        at(10),
        &mut store,
        addr(1),
        0,
        &answer(&bytes, &asked[0]),
        20_000,
    );
    assert_eq!(download.layout().unwrap().block_count(), 5);
    assert_eq!(download.have_bytes(), 4096);
    // The other probe is now useless and freed.
    assert_eq!(download.in_flight_len(), 0);
    assert_eq!(
        events(&mut download),
        [DownloadEvent::Progress {
            have: 4096,
            total: 20_000
        }]
    );
}

#[test]
fn a_complete_download_verifies_and_finishes_the_store() {
    let bytes = content(10_000);
    let id = ContentId::of(&bytes);
    let mut download = Download::new(id, DownloadConfig::default(), at(0));
    download.add_source(addr(1));
    let mut store = MemoryPartialStore::new();
    let mut now = 0;
    while !download.is_finished() {
        for request in requests(&mut download, at(now)) {
            let reply = answer(&bytes, &request);
            download.handle_block(
                at(now + 5),
                &mut store,
                addr(1),
                request.offset,
                &reply,
                10_000,
            );
        }
        now += 10;
        assert!(now < 1000);
    }
    assert!(download.is_completed());
    assert_eq!(
        events(&mut download).last(),
        Some(&DownloadEvent::Completed { id, len: 10_000 })
    );
    assert_eq!(store.complete().len_of(&id), Some(10_000));
    assert_eq!(download.stats().blocks_received, 3);
}

#[test]
fn empty_content_completes_from_its_one_empty_answer() {
    let id = ContentId::of(b"");
    let mut download = Download::new(id, DownloadConfig::default(), at(0));
    download.add_source(addr(1));
    let asked = requests(&mut download, at(0));
    let mut store = MemoryPartialStore::new();
    download.handle_block(at(1), &mut store, addr(1), asked[0].offset, &[], 0);
    assert!(download.is_completed());
    assert_eq!(store.complete().len_of(&id), Some(0));
}

#[test]
fn answers_to_later_requests_mark_an_overtaken_one_lost_and_halve_the_window() {
    let bytes = content(4096 * 40);
    let mut download = Download::new(ContentId::of(&bytes), DownloadConfig::default(), at(0));
    download.add_source(addr(1));
    let mut store = MemoryPartialStore::new();
    let probe = requests(&mut download, at(0));
    download.handle_block(
        at(10),
        &mut store,
        addr(1),
        0,
        &answer(&bytes, &probe[0]),
        bytes.len() as u64,
    );
    let asked = requests(&mut download, at(10));
    assert_eq!(asked.len(), 5, "initial window 4, grown by one answer");
    let window = download.window_of(&addr(1)).unwrap();
    // The first request's answer never comes; the next three do.
    for request in &asked[1..4] {
        download.handle_block(
            at(20),
            &mut store,
            addr(1),
            request.offset,
            &answer(&bytes, request),
            bytes.len() as u64,
        );
    }
    assert_eq!(download.stats().lost, 1);
    assert!(download.window_of(&addr(1)).unwrap() < window + 3);
    // It is asked again first.
    let again = requests(&mut download, at(20));
    assert_eq!(again.first().map(|r| r.offset), Some(asked[0].offset));
}

#[test]
fn duplicates_misaligned_and_unsolicited_answers_are_counted_and_ignored() {
    let bytes = content(4096 * 4);
    let mut download = Download::new(ContentId::of(&bytes), DownloadConfig::default(), at(0));
    download.add_source(addr(1));
    let mut store = MemoryPartialStore::new();
    let probe = requests(&mut download, at(0));
    let first = answer(&bytes, &probe[0]);
    download.handle_block(at(1), &mut store, addr(1), 0, &first, bytes.len() as u64);
    download.handle_block(at(2), &mut store, addr(1), 0, &first, bytes.len() as u64);
    download.handle_block(at(2), &mut store, addr(1), 100, &first, bytes.len() as u64);
    download.handle_block(at(2), &mut store, addr(9), 4096, &first, bytes.len() as u64);
    // Block 3 was never asked.
    download.handle_block(
        at(2),
        &mut store,
        addr(1),
        3 * 4096,
        &first,
        bytes.len() as u64,
    );
    let stats = download.stats();
    assert_eq!(
        (stats.duplicates, stats.malformed, stats.unsolicited),
        (1, 1, 2)
    );
    assert_eq!(download.have_bytes(), 4096);
}

#[test]
fn a_source_announcing_another_length_is_dropped() {
    let bytes = content(9000);
    let mut download = Download::new(ContentId::of(&bytes), DownloadConfig::default(), at(0));
    download.add_source(addr(1));
    download.add_source(addr(2));
    let mut store = MemoryPartialStore::new();
    let asked = requests(&mut download, at(0));
    download.handle_block(
        at(1),
        &mut store,
        addr(1),
        0,
        &answer(&bytes, &asked[0]),
        9000,
    );
    download.handle_block(
        at(1),
        &mut store,
        addr(2),
        0,
        &answer(&bytes, &asked[1]),
        9001,
    );
    assert!(
        events(&mut download).contains(&DownloadEvent::SourceDropped {
            addr: addr(2),
            why: DropReason::Inconsistent
        })
    );
    assert_eq!(download.active_sources(), 1);
}

#[test]
fn a_source_without_the_content_is_replaced_by_the_peers_it_names() {
    let bytes = content(9000);
    let mut download = Download::new(ContentId::of(&bytes), DownloadConfig::default(), at(0));
    download.add_source(addr(1));
    let _ = requests(&mut download, at(0));
    assert_eq!(
        download.handle_no_content(addr(1), [addr(1), addr(2), addr(3)]),
        2
    );
    assert!(!download.is_finished());
    let asked = requests(&mut download, at(1));
    assert_eq!(
        asked.iter().map(|r| r.to).collect::<Vec<_>>(),
        [addr(2), addr(3)]
    );
}

#[test]
fn timeouts_back_off_and_drop_a_silent_source_then_fail() {
    let bytes = content(9000);
    let config = DownloadConfig {
        max_timeouts: 3,
        ..DownloadConfig::default()
    };
    let mut download = Download::new(ContentId::of(&bytes), config, at(0));
    download.add_source(addr(1));
    let _ = requests(&mut download, at(0));
    let first = download.poll_timeout().unwrap();
    assert_eq!(first, at(300));
    // Early wake-ups do nothing.
    download.handle_timeout(at(299));
    assert_eq!(download.stats().timeouts, 0);
    download.handle_timeout(first);
    let _ = requests(&mut download, first);
    let second = download.poll_timeout().unwrap();
    assert_eq!(second - first, core::time::Duration::from_millis(600));
    download.handle_timeout(second);
    let _ = requests(&mut download, second);
    let third = download.poll_timeout().unwrap();
    download.handle_timeout(third);
    assert!(download.is_finished());
    assert_eq!(download.poll_timeout(), None);
    let reported = events(&mut download);
    assert_eq!(
        reported,
        [
            DownloadEvent::SourceDropped {
                addr: addr(1),
                why: DropReason::Unresponsive
            },
            DownloadEvent::Failed {
                why: FailReason::NoSources
            }
        ]
    );
}

#[test]
fn a_capable_source_is_asked_several_consecutive_blocks_at_once_within_40960_bytes() {
    let bytes = content(4096 * 100);
    let mut download = Download::new(ContentId::of(&bytes), DownloadConfig::default(), at(0));
    download.add_source_with(addr(1), 50);
    let mut store = MemoryPartialStore::new();
    let probe = requests(&mut download, at(0));
    download.handle_block(
        at(1),
        &mut store,
        addr(1),
        0,
        &answer(&bytes, &probe[0]),
        bytes.len() as u64,
    );
    let asked = requests(&mut download, at(1));
    assert_eq!(asked[0].length, 5 * 4096, "limited by the window of 5");
    for request in &asked {
        download.handle_block(
            at(2),
            &mut store,
            addr(1),
            request.offset,
            &answer(&bytes, request),
            bytes.len() as u64,
        );
    }
    let asked = requests(&mut download, at(2));
    assert_eq!(asked[0].length, 10 * 4096, "capped at 40960 bytes");
    assert_eq!(download.stats().blocks_received, 6);
}

#[test]
fn resuming_a_complete_partial_finishes_without_the_network() {
    let bytes = content(10_000);
    let id = ContentId::of(&bytes);
    let mut store = MemoryPartialStore::new();
    let layout = BlockLayout::new(10_000, 4096).unwrap();
    store.begin(&id, layout).unwrap();
    for index in 0..3u64 {
        let block = &bytes[(index as usize * 4096)..((index as usize + 1) * 4096).min(10_000)];
        store
            .write_block(&id, index, block, block_checksum(block))
            .unwrap();
    }
    let mut download = Download::resume(id, DownloadConfig::default(), at(0), &mut store).unwrap();
    assert!(download.is_completed());
    assert_eq!(
        events(&mut download).last(),
        Some(&DownloadEvent::Completed { id, len: 10_000 })
    );
}

#[test]
fn wrong_content_from_two_sources_pins_the_larger_one_and_blames_the_liar() {
    let bytes = content(4096 * 8);
    let id = ContentId::of(&bytes);
    let mut lie = bytes.clone();
    for block in lie.chunks_mut(4096) {
        block[5] ^= 1;
    }
    let mut download = Download::new(id, DownloadConfig::default(), at(0));
    download.add_source(addr(1)); // honest
    download.add_source(addr(2)); // sends every block wrong
    let mut store = MemoryPartialStore::new();
    let len = bytes.len() as u64;
    let mut now = 0;
    while !download.is_finished() && now < 10_000 {
        for request in requests(&mut download, at(now)) {
            let source = if request.to == addr(1) { &bytes } else { &lie };
            let reply = answer(source, &request);
            download.handle_block(
                at(now + 1),
                &mut store,
                request.to,
                request.offset,
                &reply,
                len,
            );
        }
        now += 2;
    }
    assert!(download.is_completed());
    let reported = events(&mut download);
    assert!(reported.contains(&DownloadEvent::HashMismatch));
    assert!(!reported.contains(&DownloadEvent::SourceDropped {
        addr: addr(1),
        why: DropReason::Corrupt
    }));
    assert_eq!(store.complete().len_of(&id), Some(len));
}

#[test]
fn a_truncated_answer_is_asked_again_at_once_and_a_source_that_only_truncates_is_dropped() {
    let bytes = content(20_000);
    let config = DownloadConfig {
        max_timeouts: 3,
        ..DownloadConfig::default()
    };
    let mut download = Download::new(ContentId::of(&bytes), config, at(0));
    download.add_source(addr(1));
    let mut store = MemoryPartialStore::new();
    // Like a CJP2P node before the cookie exchange: 32 bytes of the block.
    let probe = requests(&mut download, at(0));
    download.handle_block(at(1), &mut store, addr(1), 0, &bytes[..32], 20_000);
    let again = requests(&mut download, at(1));
    assert_eq!(
        again[0], probe[0],
        "the block is asked again first, without waiting"
    );
    for request in &again[..2] {
        let start = request.offset as usize;
        download.handle_block(
            at(2),
            &mut store,
            addr(1),
            request.offset,
            &bytes[start..start + 32],
            20_000,
        );
    }
    assert!(download.is_finished() && !download.is_completed());
    assert_eq!(download.stats().malformed, 3);
}
