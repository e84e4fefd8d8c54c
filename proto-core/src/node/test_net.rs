//! Nodes on the simulated network (`crate::sim`) for the node's tests: real datagrams between
//! nodes, their timers on the network's clock, seeded loss.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::net::SocketAddr;
use core::time::Duration;

use crate::FetchEvent;
use crate::content::{ContentId, ContentStore, MemoryStore};
use crate::rng::CoreRng;
use crate::sim::{LinkConfig, Loss, Network};
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
    seeder.cjp2p().set_store(Some(Box::new(store)));
    seeder
}

/// The latency of [`Net::new`]'s links.
pub(super) const LATENCY: Duration = Duration::from_millis(5);

/// The seed of every run's network generator: runs repeat.
const SEED: [u8; 32] = [0x7e; 32];

/// A link of [`LATENCY`] that loses `loss_per_mille` of datagrams, independently.
pub(super) fn lossy(loss_per_mille: u64) -> LinkConfig {
    LinkConfig {
        loss: Loss::Random(loss_per_mille as f64 / 1000.0),
        ..LinkConfig::with_delay(LATENCY)
    }
}

/// Nodes exchanging real datagrams over the simulated network (`crate::sim`), whose clock is
/// the run's: every node's timers fire on it, and its generator decides every loss.
pub(super) struct Net {
    pub(super) nodes: Vec<(TransportAddr, Node)>,
    sim: Network<Vec<u8>>,
    pub(super) events: Vec<(TransportAddr, Event)>,
    /// Datagrams for which this returns false never reach the network, as if a firewall in
    /// front of it dropped them: `(from, to, payload)`.
    pub(super) passes: fn(TransportAddr, TransportAddr, &[u8]) -> bool,
}

impl Net {
    /// Nodes on links of [`LATENCY`] that lose `loss_per_mille` of datagrams, independently.
    pub(super) fn new(nodes: Vec<(u16, Node)>, loss_per_mille: u64) -> Self {
        Self::over(nodes, lossy(loss_per_mille))
    }

    /// Nodes whose every link is `link`.
    pub(super) fn over(nodes: Vec<(u16, Node)>, link: LinkConfig) -> Self {
        Self::seeded(nodes, link, SEED)
    }

    /// Nodes whose every link is `link`, on a network whose generator starts from `seed`: for a
    /// test whose outcome depends on which datagrams are lost, and says so.
    pub(super) fn seeded(nodes: Vec<(u16, Node)>, link: LinkConfig, seed: [u8; 32]) -> Self {
        let mut net = Self {
            nodes: Vec::new(),
            sim: Network::new(CoreRng::from_seed(seed), link),
            events: Vec::new(),
            passes: |_, _, _| true,
        };
        for (port, node) in nodes {
            net.add(port, node);
        }
        net
    }

    /// The virtual clock.
    pub(super) fn now(&self) -> Instant {
        self.sim.now()
    }

    /// Puts `node` on the network at `addr(port)`.
    pub(super) fn add(&mut self, port: u16, node: Node) {
        self.sim.attach(addr(port));
        self.nodes.push((addr(port), node));
    }

    /// Takes the node at `addr(port)` off the network, with every datagram in flight to or
    /// from it.
    pub(super) fn remove(&mut self, port: u16) {
        let gone = addr(port);
        self.sim.detach(&gone);
        self.sim
            .drop_in_flight(|packet| packet.from == gone || packet.to == gone);
        self.nodes.retain(|(at, _)| *at != gone);
    }

    pub(super) fn node(&mut self, port: u16) -> &mut Node {
        &mut self
            .nodes
            .iter_mut()
            .find(|(a, _)| *a == addr(port))
            .unwrap()
            .1
    }

    /// Takes every node's datagrams into the network and its events into `events`.
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
            if (self.passes)(from, to, &payload) {
                let len = payload.len();
                self.sim.send(from, to, payload, len);
            }
        }
    }

    /// Delivers every datagram due by `now` to its node.
    fn deliver_due(&mut self, now: Instant) {
        while let Some(packet) = self.sim.pop_due(now) {
            if let Some((_, node)) = self.nodes.iter_mut().find(|(a, _)| *a == packet.to) {
                node.handle_datagram(now, packet.from, &packet.body);
            }
        }
    }

    /// Runs until `done` holds or `limit` of simulated time passed.
    pub(super) fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Self) -> bool) {
        let end = self.now() + limit;
        loop {
            self.collect();
            if done(self) || self.now() >= end {
                return;
            }
            let next_datagram = self.sim.next_at();
            let next_timer = self
                .nodes
                .iter()
                .filter_map(|(_, n)| n.poll_timeout().map(|t| t.at))
                .min();
            let Some(next) = [next_datagram, next_timer].into_iter().flatten().min() else {
                return;
            };
            self.sim.advance_to(next.min(end));
            let now = self.now();
            self.deliver_due(now);
            for (_, node) in &mut self.nodes {
                if node.poll_timeout().is_some_and(|t| t.at <= now) {
                    node.handle_timeout(now);
                }
            }
        }
    }

    /// Delivers datagrams, and what they prompt, until none is in flight, firing no timer;
    /// panics if the nodes never go quiet.
    pub(super) fn pump(&mut self) {
        for _ in 0..100 {
            self.collect();
            let Some(next) = self.sim.next_at() else {
                return;
            };
            self.sim.advance_to(next);
            self.deliver_due(next);
        }
        panic!("the network never went quiet");
    }

    pub(super) fn finished(&self, at: TransportAddr, id: ContentId) -> Option<&Event> {
        self.events.iter().find_map(|(a, event)| match event {
            Event::Fetch(FetchEvent::Completed { id: done, .. })
            | Event::Fetch(FetchEvent::Failed { id: done, .. })
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
            Some(&Event::Fetch(FetchEvent::Completed { id, len })),
            "at {:?}",
            self.now()
        );
        let storage = self.node(at).content().storage_mut().unwrap();
        assert_eq!(read_all(storage, &id), content);
    }
}

pub(super) fn read_all(store: &mut dyn ContentStore, id: &ContentId) -> Vec<u8> {
    let len = usize::try_from(store.len_of(id).unwrap()).unwrap();
    let mut buf = vec![0; len];
    assert_eq!(store.read_at(id, 0, &mut buf).unwrap(), len);
    buf
}
