//! The downloads sub-machine on its own: no node, no network; blocks are handed to it as a
//! source would answer its requests.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::net::SocketAddr;
use core::time::Duration;

use super::{Downloads, Route, SourceLink, Started};
use crate::Config;
use crate::cjp2p::Cjp2pMessage;
use crate::content::{CJP2P_MAX_REPLY, ContentId, MemoryPartialStore};
use crate::error::FetchError;
use crate::event::Event;
use crate::event::FetchEvent;
use crate::time::Instant;
use crate::transport::TransportAddr;

fn source(port: u16) -> TransportAddr {
    TransportAddr::udp(SocketAddr::from(([192, 0, 2, 1], port)))
}

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn with_storage(config: &Config) -> Downloads {
    let mut downloads = Downloads::new(config);
    downloads.replace_storage(Some(Box::new(MemoryPartialStore::new())));
    downloads
}

/// Answers every request of `drive` from `bytes`, as a source holding them would.
fn answer(downloads: &mut Downloads, now: Instant, id: ContentId, bytes: &[u8]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut drive = downloads.drive(now, id);
    for _ in 0..100 {
        events.append(&mut drive.events);
        if drive.requests.is_empty() {
            break;
        }
        for request in core::mem::take(&mut drive.requests) {
            let start = usize::try_from(request.offset).unwrap().min(bytes.len());
            let end = (start + usize::try_from(request.length).unwrap()).min(bytes.len());
            let len = bytes.len() as u64;
            assert!(downloads.handle_block(
                now,
                &id,
                request.to,
                request.offset,
                &bytes[start..end],
                len
            ));
        }
        drive = downloads.drive(now, id);
    }
    events
}

#[test]
fn a_download_asks_its_source_and_completes_once_every_block_arrived() {
    let config = Config::default();
    let mut downloads = with_storage(&config);
    let bytes = content(20_000);
    let id = ContentId::of(&bytes);
    let started = downloads.start(Instant::ZERO, id, vec![source(1)]);
    assert_eq!(started, Ok(Started::New));
    assert!(downloads.is_active(&id));
    assert!(downloads.has_source(source(1)));
    assert!(!downloads.has_source(source(2)));

    let events = answer(&mut downloads, Instant::ZERO, id, &bytes);
    let len = bytes.len() as u64;
    // The first block is asked alone (it tells the length), so progress comes before the end.
    assert!(matches!(
        events.first(),
        Some(Event::Fetch(FetchEvent::Progress { have: 4096, .. }))
    ));
    assert!(events.ends_with(&[
        Event::Fetch(FetchEvent::Progress {
            id,
            have: len,
            total: len
        }),
        Event::Fetch(FetchEvent::Completed { id, len }),
    ]));
    assert!(downloads.list().is_empty());
    let mut stats = crate::Stats::default();
    downloads.add_stats(&mut stats);
    assert_eq!(
        (
            stats.fetch.downloads_completed,
            stats.fetch.downloads_failed
        ),
        (1, 0)
    );
    // Finished content is held: fetching it again needs no source.
    assert_eq!(
        downloads.start(Instant::ZERO, id, Vec::new()),
        Ok(Started::Held { len })
    );
}

#[test]
fn a_fetch_is_refused_without_storage_sources_or_room() {
    let config = Config {
        max_downloads: 1,
        ..Config::default()
    };
    let id = ContentId::of(b"one");
    let other = ContentId::of(b"two");
    let mut downloads = Downloads::new(&config);
    assert_eq!(
        downloads.start(Instant::ZERO, id, vec![source(1)]),
        Err(FetchError::NoStorage)
    );
    let mut downloads = with_storage(&config);
    assert_eq!(
        downloads.start(Instant::ZERO, id, Vec::new()),
        Err(FetchError::NoSources)
    );
    assert_eq!(
        downloads.start(Instant::ZERO, id, vec![source(1)]),
        Ok(Started::New)
    );
    // The same id again joins the running download, bound or not.
    assert_eq!(
        downloads.start(Instant::ZERO, id, vec![source(2)]),
        Ok(Started::Joined)
    );
    assert!(downloads.has_source(source(2)));
    assert_eq!(
        downloads.start(Instant::ZERO, other, vec![source(1)]),
        Err(FetchError::TooManyDownloads)
    );
    assert!(downloads.cancel(&id));
    assert!(!downloads.cancel(&id));
    assert!(downloads.drive(Instant::ZERO, id).requests.is_empty());
}

#[test]
fn blocks_for_an_inactive_download_or_without_storage_are_refused() {
    let config = Config::default();
    let mut downloads = with_storage(&config);
    let bytes = content(5000);
    let id = ContentId::of(&bytes);
    assert!(!downloads.handle_block(Instant::ZERO, &id, source(1), 0, &bytes, 5000));
    assert!(!downloads.handle_not_held(&id, source(1)));
    assert!(!downloads.handle_no_content(&id, source(1), &[source(2)]));
    downloads.start(Instant::ZERO, id, vec![source(1)]).unwrap();
    let kept = downloads.replace_storage(None);
    assert!(kept.is_some());
    assert!(!downloads.handle_block(Instant::ZERO, &id, source(1), 0, &bytes, 5000));
    assert!(downloads.handle_no_content(&id, source(1), &[source(2)]));
    assert!(downloads.has_source(source(2)));
}

#[test]
fn an_unanswered_request_is_asked_again_at_the_downloads_timeout() {
    let config = Config::default();
    let mut downloads = with_storage(&config);
    let id = ContentId::of(&content(5000));
    downloads.start(Instant::ZERO, id, vec![source(1)]).unwrap();
    assert!(downloads.next_timeout().is_none_or(|at| at > Instant::ZERO));
    let first = downloads.drive(Instant::ZERO, id).requests;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].offset, 0);
    let at = downloads.next_timeout().unwrap();
    assert!(at > Instant::ZERO);
    assert!(downloads.drive(Instant::ZERO, id).requests.is_empty());
    downloads.handle_timeout(at, &id);
    let again = downloads.drive(at, id).requests;
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].to, again[0].offset), (source(1), 0));
}

#[test]
fn progress_is_reported_at_most_once_per_interval_and_the_rest_is_a_timer() {
    let config = Config {
        download_progress_interval: Duration::from_millis(100),
        ..Config::default()
    };
    let mut downloads = with_storage(&config);
    let bytes = content(40_000);
    let id = ContentId::of(&bytes);
    downloads.start(Instant::ZERO, id, vec![source(1)]).unwrap();
    let progress = |events: &[Event]| {
        events
            .iter()
            .filter(|event| matches!(event, Event::Fetch(FetchEvent::Progress { .. })))
            .count()
    };
    let mut requests = downloads.drive(Instant::ZERO, id).requests;
    let mut reports = Vec::new();
    // Two rounds of answers at the same instant: the first is reported, the second waits.
    for _ in 0..2 {
        let request = requests.remove(0);
        let start = usize::try_from(request.offset).unwrap();
        let end = start + usize::try_from(request.length).unwrap();
        let block = &bytes[start..end.min(bytes.len())];
        assert!(downloads.handle_block(
            Instant::ZERO,
            &id,
            source(1),
            request.offset,
            block,
            40_000
        ));
        let drive = downloads.drive(Instant::ZERO, id);
        reports.push(progress(&drive.events));
        requests.extend(drive.requests);
    }
    assert_eq!(reports, vec![1, 0]);
    let later = Instant::ZERO + Duration::from_millis(100);
    assert!(downloads.next_timeout().unwrap() <= later);
    let events = downloads.drive(later, id).events;
    assert!(matches!(
        events.as_slice(),
        [Event::Fetch(FetchEvent::Progress { .. })]
    ));
}

#[test]
fn requests_are_packed_four_to_a_datagram_and_no_more_than_one_reply_carries() {
    let ask = |length| Cjp2pMessage::PleaseSendContent {
        id: "x".into(),
        offset: 0,
        length,
    };
    let sizes = |chunks: Vec<Vec<Cjp2pMessage>>| chunks.iter().map(Vec::len).collect::<Vec<_>>();
    assert_eq!(
        sizes(super::reply_sized_chunks((0..9).map(|_| ask(16)).collect())),
        vec![4, 4, 1]
    );
    let big = u64::from(CJP2P_MAX_REPLY);
    assert_eq!(
        sizes(super::reply_sized_chunks(vec![ask(big), ask(1), ask(big)])),
        vec![1, 1, 1]
    );
    assert_eq!(
        sizes(super::reply_sized_chunks(vec![
            ask(16),
            Cjp2pMessage::PleaseSendPeers
        ])),
        vec![2]
    );
}

#[test]
fn our_nodes_are_asked_in_a_session_once_it_is_up_and_over_cjp2p_meanwhile() {
    let config = Config::default();
    let downloads = Downloads::new(&config);
    let key = crate::Identity::from_secret_bytes(&[7; 32]).public_key();
    let ours = |session_up| SourceLink {
        our_node: Some(key),
        session_up,
    };
    let stranger = SourceLink {
        our_node: None,
        session_up: false,
    };
    assert_eq!(downloads.route(source(1), stranger), Route::Cjp2p);
    assert_eq!(
        downloads.route(source(1), ours(false)),
        Route::Cjp2pWhileOpening(key)
    );
    assert_eq!(downloads.route(source(1), ours(true)), Route::Session(key));
    // Content sessions go over UDP sources only.
    let tcp = TransportAddr::tcp(SocketAddr::from(([192, 0, 2, 1], 1)));
    assert_eq!(downloads.route(tcp, ours(true)), Route::Cjp2p);
    // Off when the node accepts no sessions, or content sessions are off.
    let mut off = Config::default();
    off.cjp2p.content_sessions = false;
    assert_eq!(
        Downloads::new(&off).route(source(1), ours(true)),
        Route::Cjp2p
    );
    let off = Config {
        sessions: false,
        ..Config::default()
    };
    assert_eq!(
        Downloads::new(&off).route(source(1), ours(true)),
        Route::Cjp2p
    );
}

#[test]
fn our_nodes_are_asked_what_both_sides_answer_and_never_a_single_block_that_way() {
    let config = Config::default();
    let downloads = Downloads::new(&config);
    let ours = config.cjp2p.max_content_reply as u64;
    let block = u64::from(crate::content::CJP2P_BLOCK_SIZE);
    assert_eq!(
        downloads.blocks_per_request(u64::MAX),
        Some(u32::try_from(ours / block).unwrap())
    );
    assert_eq!(downloads.blocks_per_request(3 * block + 1), Some(3));
    assert_eq!(downloads.blocks_per_request(block), None);
    assert_eq!(downloads.blocks_per_request(0), None);
}
