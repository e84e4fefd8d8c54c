//! The download's rules, one at a time, with a hand-driven source.

use alloc::vec::Vec;

use super::*;
use crate::content::{ContentStore, MemoryPartialStore, block_checksum};

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
fn a_source_announcing_another_length_is_not_dropped_but_not_asked_while_it_is_outvoted() {
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
    // One claim each: the length followed stays, and the other source waits.
    assert_eq!(download.layout().unwrap().total_len, 9000);
    assert_eq!(download.active_sources(), 2);
    assert_eq!(download.stats().length_disagreements, 1);
    assert!(
        requests(&mut download, at(1))
            .iter()
            .all(|r| r.to == addr(1))
    );
    // A source that changes its own length is dropped: its content changed.
    download.handle_block(at(2), &mut store, addr(2), 0, &bytes[..4096], 9000);
    assert!(
        events(&mut download).contains(&DownloadEvent::SourceDropped {
            addr: addr(2),
            why: DropReason::LengthChanged {
                first: 9001,
                then: 9000
            }
        })
    );
}

#[test]
fn maybe_they_have_some_adds_the_peers_it_names_and_keeps_the_source() {
    let bytes = content(9000);
    let mut download = Download::new(ContentId::of(&bytes), DownloadConfig::default(), at(0));
    download.add_source(addr(1));
    let _ = requests(&mut download, at(0));
    assert_eq!(
        download.handle_no_content(addr(1), [addr(1), addr(2), addr(3)]),
        2
    );
    assert!(!download.is_finished());
    assert_eq!(download.active_sources(), 3);
    assert!(events(&mut download).is_empty());
    let asked = requests(&mut download, at(1));
    assert_eq!(
        asked.iter().map(|r| r.to).collect::<Vec<_>>(),
        [addr(2), addr(3)]
    );
    // Its block still arrives and is kept.
    let mut store = MemoryPartialStore::new();
    download.handle_block(at(2), &mut store, addr(1), 0, &bytes[..4096], 9000);
    assert_eq!(download.have_bytes(), 4096);
}

#[test]
fn timeouts_back_off_without_dropping_a_silent_source_until_the_deadline() {
    let bytes = content(9000);
    let config = DownloadConfig {
        deadline: Some(core::time::Duration::from_secs(60)),
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
    // Each expiry doubles the wait, up to 10 s, and the source is asked again each time.
    let mut now = first;
    let mut waits = Vec::new();
    while !download.is_finished() {
        download.handle_timeout(now);
        assert!(download.is_finished() || requests(&mut download, now).len() == 1);
        let next = download.poll_timeout().unwrap_or(now);
        waits.push(next - now);
        now = next;
    }
    let ms = |n| core::time::Duration::from_millis(n);
    assert_eq!(
        waits[..7],
        [
            ms(600),
            ms(1200),
            ms(2400),
            ms(4800),
            ms(9600),
            ms(10_000),
            ms(10_000)
        ]
    );
    assert_eq!(now, at(60_000));
    assert_eq!(download.poll_timeout(), None);
    assert_eq!(
        events(&mut download),
        [DownloadEvent::Failed {
            why: FailReason::DeadlinePassed {
                after: core::time::Duration::from_secs(60),
                sources: SourceReport {
                    sources: alloc::vec![(addr(1), SourceStatus::Unreachable)]
                }
            }
        }]
    );
}

#[test]
fn a_source_silent_for_a_minute_is_waited_for_and_the_download_completes() {
    let bytes = content(4096 * 6);
    let id = ContentId::of(&bytes);
    let mut download = Download::new(id, DownloadConfig::default(), at(0));
    download.add_source(addr(1));
    let mut store = MemoryPartialStore::new();
    let probe = requests(&mut download, at(0));
    download.handle_block(
        at(5),
        &mut store,
        addr(1),
        0,
        &answer(&bytes, &probe[0]),
        24_576,
    );
    // Silent from 5 ms to 60 s: every request is lost.
    let mut now = at(5);
    let _ = requests(&mut download, now);
    loop {
        let next = download.poll_timeout().unwrap();
        if next >= at(60_000) {
            break;
        }
        now = next;
        download.handle_timeout(now);
        let _ = requests(&mut download, now);
    }
    assert!(!download.is_finished());
    assert_eq!(
        download.sources().next().unwrap().timeouts,
        download.stats().timeouts as u32
    );
    // It answers again: the next probe is served, and so is the rest.
    let mut resumed = None;
    while !download.is_finished() {
        now = download.poll_timeout().unwrap();
        download.handle_timeout(now);
        loop {
            let asked = requests(&mut download, now);
            if asked.is_empty() {
                break;
            }
            resumed.get_or_insert(now);
            for request in asked {
                let reply = answer(&bytes, &request);
                download.handle_block(now, &mut store, addr(1), request.offset, &reply, 24_576);
            }
        }
    }
    assert!(download.is_completed());
    let resumed = resumed.unwrap();
    assert!(
        resumed < at(60_000 + 10_000),
        "asked again within one backoff: {resumed:?}"
    );
}

#[test]
fn a_first_answer_with_a_wrong_length_is_outlived_by_the_length_that_verifies() {
    let bytes = content(12_000);
    let id = ContentId::of(&bytes);
    let mut download = Download::new(id, DownloadConfig::default(), at(0));
    download.add_source(addr(1)); // says 9000, and serves the first 9000 bytes
    download.add_source(addr(2)); // honest
    let mut store = MemoryPartialStore::new();
    let mut now = 0;
    while !download.is_finished() && now < 10_000 {
        for request in requests(&mut download, at(now)) {
            let (eof, served) = if request.to == addr(1) {
                (9000, &bytes[..9000])
            } else {
                (12_000, &bytes[..])
            };
            let reply = answer(served, &request);
            download.handle_block(
                at(now + 1),
                &mut store,
                request.to,
                request.offset,
                &reply,
                eof,
            );
        }
        now += 2;
    }
    assert!(download.is_completed(), "{:?}", events(&mut download));
    assert_eq!(store.complete().len_of(&id), Some(12_000));
    assert_eq!(download.stats().length_switches, 1);
    let reported = events(&mut download);
    assert!(reported.contains(&DownloadEvent::SourceDropped {
        addr: addr(1),
        why: DropReason::Corrupt
    }));
    assert!(!reported.iter().any(|e| matches!(
        e,
        DownloadEvent::SourceDropped { addr: a, .. } if *a == addr(2)
    )));
}

#[test]
fn a_resumed_length_gives_way_to_the_first_source_that_claims_another() {
    let bytes = content(12_000);
    let id = ContentId::of(&bytes);
    let mut store = MemoryPartialStore::new();
    // An earlier run followed a liar's 20 000 bytes and kept a block of it.
    let lied = BlockLayout::new(20_000, 4096).unwrap();
    store.begin(&id, lied).unwrap();
    store
        .write_block(&id, 0, &bytes[..4096], block_checksum(&bytes[..4096]))
        .unwrap();
    let mut download = Download::resume(id, DownloadConfig::default(), at(0), &mut store).unwrap();
    assert_eq!(download.layout().unwrap().total_len, 20_000);
    download.add_source(addr(1));
    let mut now = 0;
    while !download.is_finished() && now < 10_000 {
        for request in requests(&mut download, at(now)) {
            let reply = answer(&bytes, &request);
            download.handle_block(
                at(now + 1),
                &mut store,
                request.to,
                request.offset,
                &reply,
                12_000,
            );
        }
        now += 2;
    }
    assert!(download.is_completed());
    assert_eq!(store.complete().len_of(&id), Some(12_000));
}

#[test]
fn a_failure_says_why_for_each_source() {
    let bytes = content(4096 * 4);
    let config = DownloadConfig {
        deadline: Some(core::time::Duration::from_secs(30)),
        ..DownloadConfig::default()
    };
    let mut download = Download::new(ContentId::of(&bytes), config, at(0));
    for n in 1..=4 {
        download.add_source(addr(n));
    }
    let mut store = MemoryPartialStore::new();
    let probes = requests(&mut download, at(0));
    assert_eq!(probes.len(), 4);
    // 1 serves a block, then falls silent; 2 never answers; 3 only says "maybe they have
    // some"; 4 announces another length.
    download.handle_block(at(1500), &mut store, addr(1), 0, &bytes[..4096], 16_384);
    download.handle_no_content(addr(3), []);
    download.handle_block(at(1600), &mut store, addr(4), 0, &bytes[..4096], 16_000);
    while !download.is_finished() {
        let now = download.poll_timeout().unwrap();
        download.handle_timeout(now);
        let _ = requests(&mut download, now);
    }
    let why = events(&mut download)
        .into_iter()
        .find_map(|e| match e {
            DownloadEvent::Failed { why } => Some(why),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        why.to_string(),
        "no complete content after 30 s: 10.0.0.1:24254 stalled since 1.5 s after the start; \
         10.0.0.2:24254 unreachable; 10.0.0.3:24254 does not have the content; \
         10.0.0.4:24254 content changed (eof 16000, not 16384)"
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
fn a_truncated_answer_is_asked_again_at_once_and_repeated_ones_back_off() {
    let bytes = content(20_000);
    let mut download = Download::new(ContentId::of(&bytes), DownloadConfig::default(), at(0));
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
    assert_eq!(download.stats().malformed, 3);
    // Not dropped, but held back: asked nothing more until its backoff ends.
    assert!(!download.is_finished());
    assert_eq!(download.active_sources(), 1);
    let held = download.poll_timeout().unwrap();
    assert!(held > at(2));
    assert!(requests(&mut download, at(2)).is_empty(), "held back");
    // Its outstanding requests still time out meanwhile; it is asked again only once its
    // backoff (twice its timeout after the third short answer in a row) is over.
    let mut now = held;
    let resumed = loop {
        download.handle_timeout(now);
        if !requests(&mut download, now).is_empty() {
            break now;
        }
        now = download.poll_timeout().unwrap();
    };
    assert_eq!(resumed, at(2) + core::time::Duration::from_millis(600));
}
