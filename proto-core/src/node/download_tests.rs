//! Downloads driven by the node: real datagrams between nodes, timers, loss.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use super::test_net::{Net, addr, node, pattern, read_all, seeder};
use crate::FetchEvent;
use crate::content::{ContentId, DownloadConfig, MemoryPartialStore};
use crate::error::{CommandError, FetchError};
use crate::{Command, Config, Event, Identity, Instant, Node, UnixMillis};

#[test]
fn a_node_fetches_a_file_from_another_and_serves_it_once_verified() {
    let content = pattern(200_000, 7);
    let id = ContentId::of(&content);
    let mut fetcher = node(2);
    fetcher
        .content()
        .set_storage(Some(Box::new(MemoryPartialStore::new())));
    let mut net = Net::new(vec![(1, seeder(1, &content)), (2, fetcher)], 0);
    net.node(2)
        .content()
        .fetch(Instant::ZERO, id, vec![addr(1)])
        .unwrap();
    assert_eq!(net.node(2).content().list().len(), 1);
    net.run_until(Duration::from_secs(30), |net| {
        net.finished(addr(2), id).is_some()
    });

    let len = content.len() as u64;
    assert_eq!(
        net.finished(addr(2), id),
        Some(&Event::Fetch(FetchEvent::Completed { id, len }))
    );
    let storage = net.node(2).content().storage_mut().unwrap();
    assert_eq!(read_all(storage, &id), content);
    assert!(net.node(2).content().list().is_empty());
    assert_eq!(net.node(2).stats().fetch.downloads_completed, 1);
    // Answers to the download are consumed, not surfaced one by one.
    assert!(!net.events.iter().any(|(a, e)| *a == addr(2)
        && matches!(
            e,
            Event::Cjp2p {
                message: crate::Cjp2pMessage::Content { .. },
                ..
            }
        )));
    // Progress is rate-limited: at most one per 100 ms of the run, plus the final one.
    let progress: Vec<(u64, u64)> = net
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Fetch(FetchEvent::Progress { have, total, .. }) => Some((*have, *total)),
            _ => None,
        })
        .collect();
    let elapsed_ms = u64::try_from(
        net.now()
            .saturating_duration_since(Instant::ZERO)
            .as_millis(),
    )
    .unwrap();
    assert!(!progress.is_empty());
    assert!(
        progress.len() as u64 <= elapsed_ms / 100 + 2,
        "{progress:?}"
    );
    assert_eq!(progress.last(), Some(&(len, len)));
    assert!(progress.windows(2).all(|w| w[0].0 <= w[1].0));

    // The fetcher now serves what it fetched to a third node.
    let mut third = node(3);
    third
        .content()
        .set_storage(Some(Box::new(MemoryPartialStore::new())));
    net.add(3, third);
    let now = net.now();
    net.node(3).content().fetch(now, id, vec![addr(2)]).unwrap();
    net.run_until(Duration::from_secs(30), |net| {
        net.finished(addr(3), id).is_some()
    });
    assert_eq!(
        net.finished(addr(3), id),
        Some(&Event::Fetch(FetchEvent::Completed { id, len }))
    );
}

#[test]
fn three_sources_with_loss_complete_with_verified_content() {
    let content = pattern(300_000, 9);
    let id = ContentId::of(&content);
    let mut fetcher = node(4);
    fetcher
        .content()
        .set_storage(Some(Box::new(MemoryPartialStore::new())));
    let mut net = Net::new(
        vec![
            (1, seeder(1, &content)),
            (2, seeder(2, &content)),
            (3, seeder(3, &content)),
            (4, fetcher),
        ],
        100,
    );
    let command = Command::Fetch {
        id,
        sources: vec![addr(1), addr(2), addr(3)],
    };
    net.node(4).handle_command(Instant::ZERO, command).unwrap();
    net.run_until(Duration::from_secs(120), |net| {
        net.finished(addr(4), id).is_some()
    });
    net.assert_fetched(4, &content);
    // Every seeder served part of it.
    for port in 1..=3 {
        assert!(
            net.node(port).stats().cjp2p.cjp2p_content_served > 0,
            "seeder {port}"
        );
    }
}

#[test]
fn a_fetch_without_storage_or_sources_or_room_is_refused() {
    let id = ContentId::of(b"x");
    let mut bare = node(1);
    assert_eq!(
        bare.content().fetch(Instant::ZERO, id, vec![addr(2)]),
        Err(CommandError::Fetch(FetchError::NoStorage))
    );
    let mut fetcher = Node::new(
        Config {
            max_downloads: 1,
            ..Config::default()
        },
        Identity::from_secret_bytes(&[5; 32]),
        [5; 32],
        Instant::ZERO,
        UnixMillis(1_700_000_000_000),
    );
    fetcher
        .content()
        .set_storage(Some(Box::new(MemoryPartialStore::new())));
    assert_eq!(
        fetcher.content().fetch(Instant::ZERO, id, vec![]),
        Err(CommandError::Fetch(FetchError::NoSources))
    );
    fetcher
        .content()
        .fetch(Instant::ZERO, id, vec![addr(2)])
        .unwrap();
    assert_eq!(
        fetcher
            .content()
            .fetch(Instant::ZERO, ContentId::of(b"y"), vec![addr(2)]),
        Err(CommandError::Fetch(FetchError::TooManyDownloads))
    );
    // The same id again only adds sources.
    fetcher
        .content()
        .fetch(Instant::ZERO, id, vec![addr(3)])
        .unwrap();
    assert_eq!(fetcher.content().list().len(), 1);
    assert!(fetcher.content().cancel(&id));
    assert!(fetcher.content().list().is_empty());
}

#[test]
fn content_already_held_completes_at_once() {
    let mut storage = MemoryPartialStore::new();
    let id = storage.complete_mut().insert(b"hello".to_vec());
    let mut fetcher = node(6);
    fetcher.content().set_storage(Some(Box::new(storage)));
    fetcher.content().fetch(Instant::ZERO, id, vec![]).unwrap();
    let events: Vec<Event> = core::iter::from_fn(|| fetcher.poll_event()).collect();
    assert_eq!(
        events.last(),
        Some(&Event::Fetch(FetchEvent::Completed { id, len: 5 }))
    );
    assert!(fetcher.poll_transmit().is_none());
}

#[test]
fn a_source_silent_past_the_deadline_fails_the_download_and_a_new_fetch_resumes_it() {
    let content = pattern(100_000, 3);
    let id = ContentId::of(&content);
    let mut fetcher = node(2);
    fetcher
        .content()
        .set_storage(Some(Box::new(MemoryPartialStore::new())));
    // Silence alone never drops a source: only the download's deadline ends the wait.
    fetcher.content().set_config(DownloadConfig {
        deadline: Some(Duration::from_secs(120)),
        ..DownloadConfig::default()
    });
    let mut net = Net::new(vec![(1, seeder(1, &content)), (2, fetcher)], 0);
    net.node(2)
        .content()
        .fetch(Instant::ZERO, id, vec![addr(1)])
        .unwrap();
    // Let part of it arrive, then silence the seeder.
    net.run_until(Duration::from_secs(30), |net| {
        net.nodes
            .iter_mut()
            .find(|(a, _)| *a == addr(2))
            .and_then(|(_, n)| n.content().list().first().map(|d| d.1))
            .is_some_and(|have| have >= 40_000)
    });
    net.remove(1);
    net.run_until(Duration::from_secs(600), |net| {
        net.finished(addr(2), id).is_some()
    });
    match net.finished(addr(2), id) {
        Some(Event::Fetch(FetchEvent::Failed { why, .. })) => {
            assert!(why.starts_with("no complete content after 120 s"), "{why}");
            assert!(why.contains("stalled since"), "{why}");
        }
        other => panic!("{other:?} at {:?}", net.now()),
    }
    // It waited for the whole deadline, asking again with backoff.
    assert!(net.now() >= Instant::ZERO + Duration::from_secs(120));
    // The seeder is back: a new fetch resumes and asks only for what is missing.
    net.add(1, seeder(1, &content));
    net.events.clear();
    let served_before = 0;
    let now = net.now();
    net.node(2).content().fetch(now, id, vec![addr(1)]).unwrap();
    let first = net.events.len();
    assert_eq!(first, 0);
    net.run_until(Duration::from_secs(60), |net| {
        net.finished(addr(2), id).is_some()
    });
    assert_eq!(
        net.finished(addr(2), id),
        Some(&Event::Fetch(FetchEvent::Completed {
            id,
            len: content.len() as u64
        }))
    );
    let served = net.node(1).stats().cjp2p.cjp2p_content_served;
    let blocks = content.len().div_ceil(4096) as u64;
    assert!(
        served > served_before && served < blocks,
        "{served} of {blocks}"
    );
}
