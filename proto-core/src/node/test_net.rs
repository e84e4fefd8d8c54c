//! A simulated network of nodes for download tests: real datagrams between nodes, timers,
//! seeded loss.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use core::net::SocketAddr;
use core::time::Duration;

use crate::content::{ContentId, ContentStore, MemoryStore};
use crate::{Config, Event, Identity, Instant, Node, TransportAddr, UnixMillis};

pub(super) fn addr(port: u16) -> TransportAddr {
    TransportAddr::udp(SocketAddr::from(([127, 0, 0, 1], port)))
}

pub(super) fn node(n: u8) -> Node {
    node_with(n, Config::default())
}

/// Node `n` (its key and seed derived from `n`) with `config`.
pub(super) fn node_with(n: u8, config: Config) -> Node {
    Node::new(
        config,
        Identity::from_secret_bytes(&[n; 32]),
        [n.wrapping_add(100); 32],
        Instant::ZERO,
        UnixMillis(1_700_000_000_000),
    )
}

pub(super) fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from((i * 31 + i / 4096) % 251).unwrap() ^ seed)
        .collect()
}

/// A seeder serving `content` from memory.
pub(super) fn seeder(n: u8, content: &[u8]) -> Node {
    let mut seeder = node(n);
    let mut store = MemoryStore::new();
    store.insert(content.to_vec());
    seeder.set_content_store(Some(Box::new(store)));
    seeder
}

/// Nodes exchanging datagrams with 5 ms of latency; `loss_per_mille` of datagrams are dropped
/// (a fixed LCG decides which, so runs repeat).
pub(super) struct Net {
    pub(super) nodes: Vec<(TransportAddr, Node)>,
    pub(super) in_flight: VecDeque<(Instant, TransportAddr, TransportAddr, Vec<u8>)>,
    pub(super) now: Instant,
    pub(super) loss_per_mille: u64,
    pub(super) lcg: u64,
    pub(super) events: Vec<(TransportAddr, Event)>,
    pub(super) delivered: u64,
    /// Datagrams for which this returns false are dropped: `(from, to, payload)`.
    pub(super) passes: fn(TransportAddr, TransportAddr, &[u8]) -> bool,
}

impl Net {
    pub(super) fn new(nodes: Vec<(u16, Node)>, loss_per_mille: u64) -> Self {
        Self {
            nodes: nodes.into_iter().map(|(p, n)| (addr(p), n)).collect(),
            in_flight: VecDeque::new(),
            now: Instant::ZERO,
            loss_per_mille,
            lcg: 0x2545_f491_4f6c_dd1d,
            events: Vec::new(),
            delivered: 0,
            passes: |_, _, _| true,
        }
    }

    pub(super) fn node(&mut self, port: u16) -> &mut Node {
        &mut self
            .nodes
            .iter_mut()
            .find(|(a, _)| *a == addr(port))
            .unwrap()
            .1
    }

    fn lost(&mut self) -> bool {
        self.lcg = self
            .lcg
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.lcg >> 33) % 1000 < self.loss_per_mille
    }

    pub(super) fn collect(&mut self) {
        let mut out = Vec::new();
        for (from, node) in &mut self.nodes {
            while let Some(transmit) = node.poll_transmit() {
                out.push((*from, transmit.to, transmit.payload));
            }
            while let Some(event) = node.poll_event() {
                self.events.push((*from, event));
            }
        }
        for (from, to, payload) in out {
            if (self.passes)(from, to, &payload) && !self.lost() {
                let at = self.now + Duration::from_millis(5);
                self.in_flight.push_back((at, from, to, payload));
            }
        }
    }

    /// Runs until `done` holds or `limit` of simulated time passed.
    pub(super) fn run_until(&mut self, limit: Duration, done: impl Fn(&Self) -> bool) {
        let end = self.now + limit;
        loop {
            self.collect();
            if done(self) || self.now >= end {
                return;
            }
            let next_datagram = self.in_flight.front().map(|d| d.0);
            let next_timer = self
                .nodes
                .iter()
                .filter_map(|(_, n)| n.poll_timeout().map(|t| t.at))
                .min();
            let Some(next) = [next_datagram, next_timer].into_iter().flatten().min() else {
                return;
            };
            self.now = next.max(self.now).min(end);
            let now = self.now;
            while self.in_flight.front().is_some_and(|d| d.0 <= now) {
                let (_, from, to, payload) = self.in_flight.pop_front().unwrap();
                self.delivered += 1;
                if let Some((_, node)) = self.nodes.iter_mut().find(|(a, _)| *a == to) {
                    node.handle_datagram(now, from, &payload);
                }
            }
            for (_, node) in &mut self.nodes {
                if node.poll_timeout().is_some_and(|t| t.at <= now) {
                    node.handle_timeout(now);
                }
            }
        }
    }

    pub(super) fn finished(&self, at: TransportAddr, id: ContentId) -> Option<&Event> {
        self.events.iter().find_map(|(a, event)| match event {
            Event::DownloadCompleted { id: done, .. } | Event::DownloadFailed { id: done, .. }
                if *a == at && *done == id =>
            {
                Some(event)
            }
            _ => None,
        })
    }

    /// Panics unless node `at` completed the download of `content` with exactly its bytes.
    pub(super) fn assert_fetched(&mut self, at: u16, content: &[u8]) {
        let id = ContentId::of(content);
        let len = content.len() as u64;
        assert_eq!(
            self.finished(addr(at), id),
            Some(&Event::DownloadCompleted { id, len }),
            "at {:?}",
            self.now
        );
        let storage = self.node(at).content_storage_mut().unwrap();
        assert_eq!(read_all(storage, &id), content);
    }
}

pub(super) fn read_all(store: &mut dyn ContentStore, id: &ContentId) -> Vec<u8> {
    let len = usize::try_from(store.len_of(id).unwrap()).unwrap();
    let mut buf = vec![0; len];
    assert_eq!(store.read_at(id, 0, &mut buf).unwrap(), len);
    buf
}
