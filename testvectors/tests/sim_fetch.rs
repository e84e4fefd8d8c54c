//! Downloads over the simulated network: a node fetches one content from three seeders
//! through lossy, duplicating, reordering links, and ends with exactly the seeded bytes.

use std::net::SocketAddr;
use std::time::Duration;

use proptest::prelude::*;
use proto_core::content::{ContentId, MemoryPartialStore, MemoryStore};
use proto_core::{Command, Config, Event, TransportAddr};
use testvectors::sim::{LinkConditions, SimNetwork};

fn udp(index: usize) -> TransportAddr {
    let port = 9000 + u16::try_from(index).unwrap();
    TransportAddr::udp(SocketAddr::from(([127, 0, 0, 1], port)))
}

fn content(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from((i * 7 + i / 4096) % 256).unwrap() ^ salt)
        .collect()
}

/// Runs a fetch of `bytes` from three seeders under `conditions`; returns the fetcher's
/// terminal event, its storage's copy of the content, and the content served by each seeder.
fn swarm(
    seed: u64,
    conditions: LinkConditions,
    bytes: &[u8],
) -> (Option<Event>, Vec<u8>, Vec<u64>) {
    let mut net = SimNetwork::new(seed, conditions);
    let seeders: Vec<usize> = (0..3u8)
        .map(|n| net.add_node(&format!("seed{n}"), 10 + n, Config::default(), &[]))
        .collect();
    let fetcher = net.add_node("fetcher", 20, Config::default(), &[]);
    for &index in &seeders {
        let mut store = MemoryStore::new();
        store.insert(bytes.to_vec());
        net.node_mut(index).set_content_store(Some(Box::new(store)));
    }
    net.node_mut(fetcher)
        .set_content_storage(Some(Box::new(MemoryPartialStore::new())));
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
                Event::DownloadCompleted { .. } | Event::DownloadFailed { .. }
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
    let storage = net.node_mut(fetcher).content_storage_mut().unwrap();
    let mut copy = vec![0; usize::try_from(storage.len_of(&id).unwrap_or(0)).unwrap()];
    let read = storage.read_at(&id, 0, &mut copy).unwrap_or(0);
    copy.truncate(read);
    let served = seeders
        .iter()
        .map(|index| net.node(*index).stats().cjp2p_content_served)
        .collect();
    (end, copy, served)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn a_swarm_download_through_lossy_links_completes_with_the_exact_bytes(
        seed in any::<u64>(),
        loss in 0.0f64..0.2,
        duplicate in 0.0f64..0.1,
        spread_ms in 0u64..30,
    ) {
        let conditions = LinkConditions {
            loss,
            duplicate,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(5 + spread_ms),
        };
        let bytes = content(150_000, 3);
        let (end, copy, served) = swarm(seed, conditions, &bytes);
        prop_assert_eq!(
            end,
            Some(Event::DownloadCompleted { id: ContentId::of(&bytes), len: bytes.len() as u64 })
        );
        prop_assert!(copy == bytes);
        // Requests are spread: every seeder served some of it.
        prop_assert!(served.iter().all(|n| *n > 0), "{:?}", served);
    }
}
