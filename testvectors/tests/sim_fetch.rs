//! Downloads over the simulated network: a node fetches one content from three seeders
//! through lossy, duplicating, reordering links, and ends with exactly the seeded bytes, over
//! CJP2P or (the seeders being our own nodes) over EJTP sessions.

use std::net::SocketAddr;
use std::time::Duration;

use ejtp_proto::FetchEvent;
use ejtp_proto::content::{ContentId, MemoryPartialStore, MemoryStore};
use ejtp_proto::{Command, Config, Event, TransportAddr};
use ejtp_testvectors::sim::{LinkConditions, SimNetwork};
use proptest::prelude::*;

fn udp(index: usize) -> TransportAddr {
    let port = 9000 + u16::try_from(index).unwrap();
    TransportAddr::udp(SocketAddr::from(([127, 0, 0, 1], port)))
}

fn content(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from((i * 7 + i / 4096) % 256).unwrap() ^ salt)
        .collect()
}

/// What a swarm run ended with.
struct Outcome {
    /// The fetcher's terminal event.
    end: Option<Event>,
    /// Its storage's copy of the content.
    copy: Vec<u8>,
    /// Answers each seeder sent (CJP2P `Content` and in-session `Data`).
    served: Vec<u64>,
    /// Content bytes the fetcher received in sessions.
    session_bytes: u64,
}

/// Runs a fetch of `bytes` from three seeders under `conditions`, the fetcher using sessions
/// for content if `sessions`.
fn swarm(seed: u64, conditions: LinkConditions, bytes: &[u8], sessions: bool) -> Outcome {
    let mut net = SimNetwork::new(seed, conditions);
    let seeders: Vec<usize> = (0..3u8)
        .map(|n| net.add_node(&format!("seed{n}"), 10 + n, Config::default(), &[]))
        .collect();
    let mut config = Config::default();
    config.cjp2p.content_sessions = sessions;
    let fetcher = net.add_node("fetcher", 20, config, &[]);
    for &index in &seeders {
        let mut store = MemoryStore::new();
        store.insert(bytes.to_vec());
        net.node_mut(index).cjp2p().set_store(Some(Box::new(store)));
    }
    net.node_mut(fetcher)
        .content()
        .set_storage(Some(Box::new(MemoryPartialStore::new())));
    let id = ContentId::of(bytes);
    let sources = seeders.iter().map(|index| udp(*index)).collect();
    net.command(fetcher, Command::Fetch { id, sources })
        .unwrap();
    let mut end = None;
    for _ in 0..300 {
        net.run_for(Duration::from_secs(1));
        end = net
            .take_events()
            .into_iter()
            .find_map(|(index, event)| match event {
                Event::Fetch(FetchEvent::Completed { .. })
                | Event::Fetch(FetchEvent::Failed { .. })
                    if index == fetcher =>
                {
                    Some(event)
                }
                _ => None,
            });
        if end.is_some() {
            break;
        }
    }
    let storage = net.node_mut(fetcher).content().storage_mut().unwrap();
    let mut copy = vec![0; usize::try_from(storage.len_of(&id).unwrap_or(0)).unwrap()];
    let read = storage.read_at(&id, 0, &mut copy).unwrap_or(0);
    copy.truncate(read);
    let served = seeders
        .iter()
        .map(|index| {
            let stats = net.node(*index).stats();
            stats.cjp2p.cjp2p_content_served + stats.fetch.session_content_served
        })
        .collect();
    let session_bytes = net.node(fetcher).stats().fetch.session_content_bytes;
    Outcome {
        end,
        copy,
        served,
        session_bytes,
    }
}

#[test]
fn our_seeders_serve_most_of_a_download_in_sessions() {
    let conditions = LinkConditions {
        loss: 0.05,
        duplicate: 0.02,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(15),
    };
    let bytes = content(1 << 20, 5);
    let outcome = swarm(7, conditions, &bytes, true);
    assert_eq!(
        outcome.end,
        Some(Event::Fetch(FetchEvent::Completed {
            id: ContentId::of(&bytes),
            len: bytes.len() as u64
        }))
    );
    assert!(outcome.copy == bytes);
    assert!(
        outcome.session_bytes >= bytes.len() as u64 / 2,
        "{} of {} bytes in sessions",
        outcome.session_bytes,
        bytes.len()
    );
    let plain = swarm(7, conditions, &bytes, false);
    assert_eq!(plain.session_bytes, 0);
    assert!(plain.copy == bytes);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn a_swarm_download_through_lossy_links_completes_with_the_exact_bytes(
        seed in any::<u64>(),
        loss in 0.0f64..0.2,
        duplicate in 0.0f64..0.1,
        spread_ms in 0u64..30,
        sessions in any::<bool>(),
    ) {
        let conditions = LinkConditions {
            loss,
            duplicate,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(5 + spread_ms),
        };
        let bytes = content(150_000, 3);
        let outcome = swarm(seed, conditions, &bytes, sessions);
        prop_assert_eq!(
            outcome.end,
            Some(Event::Fetch(FetchEvent::Completed { id: ContentId::of(&bytes), len: bytes.len() as u64 }))
        );
        prop_assert!(outcome.copy == bytes);
        // Requests are spread: more than one seeder served some of it. (Not always all three:
        // our seeders are asked ten blocks a request, so the 37 blocks are some ten requests,
        // and a seeder whose first exchanges are lost can find nothing left to serve.)
        prop_assert!(outcome.served.iter().filter(|n| **n > 0).count() >= 2, "{:?}", outcome.served);
        if !sessions {
            prop_assert_eq!(outcome.session_bytes, 0);
        }
    }
}
