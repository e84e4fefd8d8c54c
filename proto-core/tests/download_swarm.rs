//! A simulated swarm: one downloader, several seeders on lossy, reordering, rate-limited links,
//! one virtual clock. Whatever the seeds, the download ends with the original content verified,
//! or with a clear failure when no honest seeder is left; its memory stays bounded; and a
//! resumed download fetches only what it lacks.
//!
//! The network is `ejtp_proto::sim`: requests and answers are packets between the downloader's
//! address and each seeder's, each direction a link with its latency, jitter and loss, and a
//! seeder's answers leave through its upload rate and a bounded queue (a full router buffer
//! drops what does not fit). Every random choice, the seeders' own included, comes from the
//! network's one generator.
//!
//! `SWARM_TRACE=1 cargo test -p ejtp-proto --test download_swarm` prints each run's timeline.

use std::time::Duration;

use ejtp_proto::content::{
    BlockRequest, ContentId, ContentStore, Download, DownloadConfig, DownloadEvent, DropReason,
    FailReason, MemoryPartialStore, MemoryStore, SourceStatus,
};
use ejtp_proto::sim::draw::{chance, up_to};
use ejtp_proto::sim::{LinkConfig, Loss, Network, Packet};
use ejtp_proto::{CoreRng, Instant, TransportAddr};
use proptest::prelude::*;

/// A generator from a test's `u64` seed.
fn seeded(seed: u64) -> CoreRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_be_bytes());
    CoreRng::from_seed(bytes)
}

/// A draw below `n` (zero for zero).
fn below(rng: &mut CoreRng, n: u64) -> u64 {
    up_to(rng, n.saturating_sub(1))
}

/// True with probability `per_mille` / 1000.
fn per_mille(rng: &mut CoreRng, per_mille: u64) -> bool {
    chance(rng, per_mille as f64 / 1000.0)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    Honest,
    /// Answers this many requests, then nothing.
    FallsSilent(u32),
    /// Flips a byte in every third block it sends.
    Corrupt,
    /// Answers every request with `MaybeTheyHaveSome`, naming another seeder.
    Lacks,
    /// Like the public CJP2P node: once it has served anyone, a `MaybeTheyHaveSome` naming other
    /// peers comes beside each `Content`; and it ignores this many requests per mille at random,
    /// answering `MaybeTheyHaveSome` instead.
    PublicNode(u64),
    /// Answers every request as an honest seeder would, but with this `eof` (the content's bytes
    /// cut or padded with zeros to it); goes silent after the given number of answers if any.
    WrongLength(u64, Option<u32>),
    /// Silent (every request lost) from the first to the second time, in microseconds: a
    /// seeder stopped (SIGSTOP) and continued.
    Paused(u64, u64),
}

/// A seeder's link, both directions.
#[derive(Clone, Copy, Debug)]
struct Link {
    /// One-way delay, microseconds.
    delay: u64,
    /// Extra random delay up to this, microseconds: reorders answers.
    jitter: u64,
    /// Loss of each request and each answer, per mille.
    loss: u64,
    /// Time the seeder's uplink takes per 4096 bytes, microseconds (its upload rate).
    per_block: u64,
    /// Answers that may wait for the uplink; more are dropped (a full router buffer).
    queue: usize,
}

impl Link {
    /// The downloader-to-seeder direction: latency, jitter and loss.
    fn requests(&self) -> LinkConfig {
        LinkConfig {
            loss: Loss::Random(self.loss as f64 / 1000.0),
            jitter: Duration::from_micros(self.jitter),
            ..LinkConfig::with_delay(Duration::from_micros(self.delay))
        }
    }

    /// The seeder-to-downloader direction: the same, behind the upload rate and its queue.
    fn answers(&self) -> LinkConfig {
        LinkConfig {
            rate: Some(4096 * 1_000_000 / self.per_block.max(1)),
            queue_limit: Some(self.queue),
            ..self.requests()
        }
    }
}

struct Seeder {
    addr: TransportAddr,
    behaviour: Behaviour,
    blocks_per_request: u32,
    answered: u32,
}

/// What the packets carry.
#[derive(Clone, Debug)]
enum Arrival {
    /// A request, to a seeder.
    Request(BlockRequest),
    /// An answer, to the downloader; `beside` is a `MaybeTheyHaveSome` in the same datagram,
    /// handled first if its flag says so.
    Content {
        offset: u64,
        bytes: Vec<u8>,
        eof: u64,
        beside: Option<(Vec<TransportAddr>, bool)>,
    },
    /// A `MaybeTheyHaveSome`, to the downloader.
    NoContent { peers: Vec<TransportAddr> },
}

struct Swarm {
    net: Network<Arrival>,
    content: MemoryStore,
    id: ContentId,
    len: u64,
    seeders: Vec<Seeder>,
    /// The most blocks in flight, lost-queued and events pending seen during the run.
    peak_in_flight: usize,
    peak_lost: usize,
    peak_events: usize,
    events: Vec<DownloadEvent>,
}

fn addr(n: usize) -> TransportAddr {
    format!("udp:10.0.0.{}:24254", n + 1).parse().unwrap()
}

/// Where the downloader is.
fn downloader() -> TransportAddr {
    "udp:10.0.1.1:24254".parse().unwrap()
}

fn tracing() -> bool {
    std::env::var_os("SWARM_TRACE").is_some()
}

impl Swarm {
    fn new(seed: u64, content: Vec<u8>) -> Self {
        let mut store = MemoryStore::new();
        let len = content.len() as u64;
        let id = store.insert(content);
        let mut net = Network::new(seeded(seed), LinkConfig::PERFECT);
        net.attach(downloader());
        Self {
            net,
            content: store,
            id,
            len,
            seeders: Vec::new(),
            peak_in_flight: 0,
            peak_lost: 0,
            peak_events: 0,
            events: Vec::new(),
        }
    }

    /// The virtual clock, in microseconds.
    fn now(&self) -> u64 {
        self.net.now().as_micros()
    }

    fn seeder(
        &mut self,
        behaviour: Behaviour,
        link: Link,
        blocks_per_request: u32,
    ) -> TransportAddr {
        let addr = addr(self.seeders.len());
        self.net.attach(addr);
        self.net.set_link(downloader(), addr, link.requests());
        self.net.set_link(addr, downloader(), link.answers());
        self.seeders.push(Seeder {
            addr,
            behaviour,
            blocks_per_request,
            answered: 0,
        });
        addr
    }

    fn add_sources(&self, download: &mut Download) {
        for seeder in &self.seeders {
            assert!(download.add_source_with(seeder.addr, seeder.blocks_per_request));
        }
    }

    /// A seeder answers the downloader; `len` is the datagram's size for the rate limit.
    fn answer(&mut self, from: TransportAddr, arrival: Arrival, len: usize) {
        self.net.send(from, downloader(), arrival, len);
    }

    /// A request reaches a seeder: answer it (or not, as its behaviour says).
    fn serve(&mut self, index: usize, request: BlockRequest) {
        let now = self.now();
        let seeder = &mut self.seeders[index];
        assert_eq!(request.id, self.id);
        match seeder.behaviour {
            Behaviour::FallsSilent(limit) if seeder.answered >= limit => return,
            Behaviour::WrongLength(_, Some(limit)) if seeder.answered >= limit => return,
            Behaviour::Paused(from, until) if (from..until).contains(&now) => return,
            _ => {}
        }
        seeder.answered += 1;
        let from = seeder.addr;
        let behaviour = seeder.behaviour;
        if behaviour == Behaviour::Lacks {
            let peers = vec![self.seeders[(index + 1) % self.seeders.len()].addr];
            self.answer(from, Arrival::NoContent { peers }, 100);
            return;
        }
        let mut beside = None;
        if let Behaviour::PublicNode(ignore) = behaviour {
            // Every other seeder, and an address nobody answers at.
            let peers: Vec<TransportAddr> = self
                .seeders
                .iter()
                .map(|s| s.addr)
                .filter(|a| *a != from)
                .chain([addr(200)])
                .collect();
            let served_anyone = self.seeders[index].answered > 1;
            if per_mille(self.net.rng(), ignore) {
                self.answer(from, Arrival::NoContent { peers }, 100);
                return;
            }
            if served_anyone {
                // Beside the Content, in the same datagram: handled first or after it.
                let first = chance(self.net.rng(), 0.5);
                beside = Some((peers, first));
            }
        }
        // Like the public node: at most 40960 bytes, clipped at the end.
        let mut bytes = vec![0u8; request.length.min(40960) as usize];
        let read = self
            .content
            .read_at(&self.id, request.offset, &mut bytes)
            .unwrap();
        bytes.truncate(read);
        let mut eof = self.len;
        if let Behaviour::WrongLength(claimed, _) = behaviour {
            eof = claimed;
            let end = claimed
                .saturating_sub(request.offset)
                .min(request.length.min(40960));
            bytes.resize(end as usize, 0);
        }
        if behaviour == Behaviour::Corrupt {
            for (block, chunk) in bytes.chunks_mut(4096).enumerate() {
                if (request.offset / 4096 + block as u64).is_multiple_of(3) {
                    chunk[0] ^= 0x55;
                }
            }
        }
        // The uplink is held for whole blocks, at least one, as the seeder sends them.
        let len = bytes.len().div_ceil(4096).max(1) * 4096;
        let content = Arrival::Content {
            offset: request.offset,
            bytes,
            eof,
            beside,
        };
        self.answer(from, content, len);
    }

    fn drain(&mut self, download: &mut Download) {
        while let Some(request) = download.poll_request(self.net.now()) {
            if tracing() {
                eprintln!(
                    "{} ask {} off {} len {} win {:?}",
                    self.now(),
                    request.to,
                    request.offset / 4096,
                    request.length / 4096,
                    download.window_of(&request.to)
                );
            }
            let to = request.to;
            self.net
                .send(downloader(), to, Arrival::Request(request), 100);
        }
        self.peak_in_flight = self.peak_in_flight.max(download.in_flight_len());
        self.peak_lost = self.peak_lost.max(download.lost_len());
        self.peak_events = self.peak_events.max(download.pending_events());
        while let Some(event) = download.poll_event() {
            if tracing() && !matches!(event, DownloadEvent::Progress { .. }) {
                eprintln!("{} event {event:?}", self.now());
            }
            self.events.push(event);
        }
    }

    /// Hands an arrived packet to the seeder or the downloader it is for.
    fn arrive(
        &mut self,
        packet: Packet<Arrival>,
        download: &mut Download,
        store: &mut MemoryPartialStore,
    ) {
        let now = self.net.now();
        match packet.body {
            Arrival::Request(request) => {
                let index = self
                    .seeders
                    .iter()
                    .position(|s| s.addr == packet.to)
                    .unwrap();
                self.serve(index, request);
            }
            Arrival::Content {
                offset,
                bytes,
                eof,
                beside,
            } => {
                if tracing() {
                    eprintln!(
                        "{} got {} off {} len {}",
                        self.now(),
                        packet.from,
                        offset / 4096,
                        bytes.len()
                    );
                }
                let (before, after) = match beside {
                    Some((peers, true)) => (Some(peers), None),
                    Some((peers, false)) => (None, Some(peers)),
                    None => (None, None),
                };
                if let Some(peers) = before {
                    download.handle_no_content(packet.from, peers);
                }
                download.handle_block(now, store, packet.from, offset, &bytes, eof);
                if let Some(peers) = after {
                    download.handle_no_content(packet.from, peers);
                }
            }
            Arrival::NoContent { peers } => {
                download.handle_no_content(packet.from, peers);
            }
        }
    }

    /// Runs until the download finishes, stops making progress, or `stop` says so.
    fn run(
        &mut self,
        download: &mut Download,
        store: &mut MemoryPartialStore,
        limit_secs: u64,
        mut stop: impl FnMut(&Download) -> bool,
    ) {
        self.drain(download);
        while !download.is_finished() && !stop(download) && self.now() < limit_secs * 1_000_000 {
            let next_arrival = self.net.next_at();
            let next_timer = download.poll_timeout();
            let Some(next) = [next_arrival, next_timer].into_iter().flatten().min() else {
                break;
            };
            self.net.advance_to(next);
            let now = self.net.now();
            while let Some(packet) = self.net.pop_due(now) {
                self.arrive(packet, download, store);
                self.drain(download);
            }
            if download.poll_timeout().is_some_and(|t| t <= now) {
                if tracing() {
                    eprintln!("{} timeout", self.now());
                }
                download.handle_timeout(now);
            }
            self.drain(download);
        }
    }
}

fn content_of(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    seeded(seed ^ 0xc0ffee).fill(&mut bytes);
    bytes
}

fn link(rng_seed: u64, loss: u64) -> Link {
    let mut rng = seeded(rng_seed);
    Link {
        delay: 200 + below(&mut rng, 20_000),
        jitter: below(&mut rng, 5_000),
        loss,
        per_block: 5 + below(&mut rng, 200),
        queue: 8 + below(&mut rng, 64) as usize,
    }
}

fn completed(events: &[DownloadEvent]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, DownloadEvent::Completed { .. }))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn a_swarm_with_one_honest_seeder_always_delivers_the_verified_content(
        seed in any::<u64>(),
        len in prop_oneof![Just(0usize), 1usize..5000, 5000usize..400_000],
        honest in 1usize..4,
        loss in 0u64..120,
        silent in any::<bool>(),
        corrupt in any::<bool>(),
        lacking in any::<bool>(),
        big_requests in any::<bool>(),
    ) {
        let original = content_of(len, seed);
        let mut swarm = Swarm::new(seed, original.clone());
        if corrupt {
            swarm.seeder(Behaviour::Corrupt, link(seed ^ 1, loss / 2), 1);
        }
        for n in 0..honest {
            let per_request = if big_requests && n == 0 { 10 } else { 1 };
            swarm.seeder(Behaviour::Honest, link(seed.wrapping_add(n as u64 * 77), loss), per_request);
        }
        if silent {
            swarm.seeder(Behaviour::FallsSilent(5), link(seed ^ 2, 0), 1);
        }
        if lacking {
            swarm.seeder(Behaviour::Lacks, link(seed ^ 3, 0), 1);
        }
        // Silent and lacking seeders are never dropped: they are asked again with backoff while
        // the honest ones finish the download.
        let config = DownloadConfig { max_in_flight: 64, ..DownloadConfig::default() };
        let mut download = Download::new(swarm.id, config, Instant::ZERO);
        swarm.add_sources(&mut download);
        let mut store = MemoryPartialStore::new();
        swarm.run(&mut download, &mut store, 3600, |_| false);

        prop_assert!(download.is_completed(), "not completed: {:?} {:?}", swarm.events.iter().filter(|e| !matches!(e, DownloadEvent::Progress{..})).collect::<Vec<_>>(), download.stats());
        prop_assert!(completed(&swarm.events));
        let mut fetched = vec![0u8; len];
        let read = store.complete().clone().read_at(&swarm.id, 0, &mut fetched).unwrap();
        prop_assert_eq!(read, len);
        prop_assert!(fetched == original);
        // Bounded memory: the in-flight table and the lost queue never outgrow their limits.
        prop_assert!(swarm.peak_in_flight <= 64);
        prop_assert!(swarm.peak_lost <= 2 * 64);
        prop_assert!(swarm.peak_events <= config.max_events);
        if corrupt && download.stats().hash_mismatches > 0 {
            let corrupt_dropped = swarm.events.iter().any(|e| matches!(
                e, DownloadEvent::SourceDropped { why: DropReason::Corrupt, addr } if *addr == swarm.seeders[0].addr));
            // Either the liar was caught, or the content verified while pinned to an honest one.
            prop_assert!(corrupt_dropped || download.is_completed());
        }
        let honest_blamed = swarm.events.iter().any(|e| matches!(
            e, DownloadEvent::SourceDropped { why: DropReason::Corrupt, addr } if swarm.seeders.iter().any(|s| s.addr == *addr && s.behaviour == Behaviour::Honest)));
        prop_assert!(!honest_blamed, "an honest seeder was blamed");
    }

    #[test]
    fn a_stopped_download_resumes_and_fetches_strictly_fewer_blocks_than_the_whole(
        seed in any::<u64>(),
        len in 40_000usize..300_000,
        loss in 0u64..150,
        corrupt_on_disk in any::<bool>(),
    ) {
        let original = content_of(len, seed);
        let mut swarm = Swarm::new(seed, original.clone());
        swarm.seeder(Behaviour::Honest, link(seed, loss), 1);
        swarm.seeder(Behaviour::Honest, link(seed ^ 9, loss), 1);
        let mut store = MemoryPartialStore::new();
        let half = len as u64 / 2;
        let mut first = Download::new(swarm.id, DownloadConfig::default(), Instant::ZERO);
        swarm.add_sources(&mut first);
        swarm.run(&mut first, &mut store, 3600, |d| d.have_bytes() >= half);
        prop_assert!(!first.is_finished());
        let first_blocks = first.stats().blocks_received;
        drop(first);
        if corrupt_on_disk {
            // A block the first run wrote, damaged on disk: the manifest catches it on resume.
            prop_assert!(store.corrupt_block(&swarm.id, 0));
        }

        // A restart: a new download over the same store, and stale answers still on the wire.
        let mut second = Download::resume(swarm.id, DownloadConfig::default(), swarm.net.now(), &mut store).unwrap();
        let blocks = second.layout().unwrap().block_count();
        let resumed_with = second.have_bytes();
        let damaged = if corrupt_on_disk { 4096 } else { 0 };
        prop_assert!(resumed_with >= half.saturating_sub(damaged), "resumed with {}", resumed_with);
        swarm.add_sources(&mut second);
        swarm.run(&mut second, &mut store, 7200, |_| false);
        prop_assert!(second.is_completed(), "{:?}", swarm.events.last());
        let second_blocks = second.stats().blocks_received;
        prop_assert!(second_blocks < blocks, "fetched {second_blocks} of {blocks}");
        prop_assert!(first_blocks + second_blocks >= blocks);
        let mut fetched = vec![0u8; len];
        store.complete().clone().read_at(&swarm.id, 0, &mut fetched).unwrap();
        prop_assert!(fetched == original);
    }
}

#[test]
fn a_download_whose_every_seeder_falls_silent_waits_until_its_deadline_and_says_since_when() {
    let mut swarm = Swarm::new(7, content_of(100_000, 7));
    swarm.seeder(Behaviour::FallsSilent(3), link(1, 0), 1);
    swarm.seeder(Behaviour::FallsSilent(2), link(2, 0), 1);
    let config = DownloadConfig {
        deadline: Some(Duration::from_secs(600)),
        ..DownloadConfig::default()
    };
    let mut download = Download::new(swarm.id, config, Instant::ZERO);
    swarm.add_sources(&mut download);
    let mut store = MemoryPartialStore::new();
    swarm.run(&mut download, &mut store, 3600, |_| false);
    assert!(download.is_finished() && !download.is_completed());
    // Nobody was dropped for silence; the deadline ended it, asking again until then.
    assert!(
        !swarm
            .events
            .iter()
            .any(|e| matches!(e, DownloadEvent::SourceDropped { .. }))
    );
    assert_eq!(swarm.now(), 600_000_000);
    assert!(download.stats().timeouts > 60, "{:?}", download.stats());
    let Some(DownloadEvent::Failed {
        why: why @ FailReason::DeadlinePassed { sources, .. },
    }) = swarm.events.last()
    else {
        panic!("{:?}", swarm.events.last());
    };
    assert!(
        sources.sources.iter().all(
            |(_, status)| matches!(status, SourceStatus::StalledSince(since) if since.as_secs() < 1)
        ),
        "{why}"
    );
    assert!(
        why.to_string().contains("10.0.0.1:24254 stalled since 0."),
        "{why}"
    );
    // The partial download stays for a later resume.
    assert!(store.has_partial(&swarm.id));
}

#[test]
fn a_single_corrupt_seeder_is_caught_and_the_download_fails_rather_than_lie() {
    let mut swarm = Swarm::new(3, content_of(50_000, 3));
    swarm.seeder(Behaviour::Corrupt, link(1, 0), 1);
    let mut download = Download::new(swarm.id, DownloadConfig::default(), Instant::ZERO);
    swarm.add_sources(&mut download);
    let mut store = MemoryPartialStore::new();
    swarm.run(&mut download, &mut store, 3600, |_| false);
    assert!(!download.is_completed());
    assert!(swarm.events.contains(&DownloadEvent::HashMismatch));
    assert!(swarm.events.iter().any(|e| matches!(
        e,
        DownloadEvent::SourceDropped {
            why: DropReason::Corrupt,
            ..
        }
    )));
    assert!(store.complete().len_of(&swarm.id).is_none());
}

#[test]
fn a_faster_seeder_gets_a_larger_window_and_sends_more_blocks() {
    // About 80 MB/s against 10 MB/s, over 8 MB: both take part for many round trips.
    let mut swarm = Swarm::new(5, content_of(8_000_000, 5));
    let fast = Link {
        delay: 2_000,
        jitter: 0,
        loss: 0,
        per_block: 50,
        queue: 256,
    };
    let slow = Link {
        delay: 10_000,
        jitter: 0,
        loss: 0,
        per_block: 400,
        queue: 256,
    };
    let fast_addr = swarm.seeder(Behaviour::Honest, fast, 1);
    let slow_addr = swarm.seeder(Behaviour::Honest, slow, 1);
    let mut download = Download::new(swarm.id, DownloadConfig::default(), Instant::ZERO);
    swarm.add_sources(&mut download);
    let mut store = MemoryPartialStore::new();
    let mut peak = (0, 0);
    swarm.run(&mut download, &mut store, 3600, |d| {
        peak.0 = peak.0.max(d.window_of(&fast_addr).unwrap_or(0));
        peak.1 = peak.1.max(d.window_of(&slow_addr).unwrap_or(0));
        false
    });
    assert!(download.is_completed());
    assert!(peak.0 > peak.1, "windows {peak:?}");
    let answered: Vec<u32> = swarm.seeders.iter().map(|s| s.answered).collect();
    assert!(answered[0] > 3 * answered[1], "answers {answered:?}");
    let sources: Vec<_> = download.sources().collect();
    assert!(sources[1].blocks_kept > 0, "{sources:?}");
    assert!(
        sources[0].blocks_kept > 3 * sources[1].blocks_kept,
        "{sources:?}"
    );
    assert!(sources[0].smoothed_rtt.unwrap() < sources[1].smoothed_rtt.unwrap());
    let total: u64 = sources.iter().map(|s| s.blocks_kept).sum();
    assert_eq!(total, download.layout().unwrap().block_count());
}

#[test]
fn a_congested_seeder_queue_makes_the_window_back_off_instead_of_growing_without_end() {
    // A seeder whose uplink queues at most 16 answers: a window above that loses blocks.
    let mut swarm = Swarm::new(11, content_of(4_000_000, 11));
    let narrow = Link {
        delay: 1_000,
        jitter: 0,
        loss: 0,
        per_block: 50,
        queue: 16,
    };
    let addr = swarm.seeder(Behaviour::Honest, narrow, 1);
    let mut download = Download::new(swarm.id, DownloadConfig::default(), Instant::ZERO);
    swarm.add_sources(&mut download);
    let mut store = MemoryPartialStore::new();
    let mut windows = Vec::new();
    swarm.run(&mut download, &mut store, 3600, |d| {
        windows.extend(d.window_of(&addr));
        false
    });
    assert!(download.is_completed());
    let peak = windows.iter().copied().max().unwrap();
    assert!(peak < 256, "the window reached its cap: {peak}");
    assert!(download.stats().lost > 0);
    // Lost blocks cost little: the download asked at most a quarter more than the whole.
    let blocks = download.layout().unwrap().block_count();
    assert!(
        download.stats().blocks_asked < blocks + blocks / 4,
        "{:?}",
        download.stats()
    );
}

/// A link that answers before any [`link`]: the seeder on it answers first.
fn first_link() -> Link {
    Link {
        delay: 50,
        jitter: 0,
        loss: 0,
        per_block: 5,
        queue: 64,
    }
}

fn non_progress(events: &[DownloadEvent]) -> Vec<&DownloadEvent> {
    events
        .iter()
        .filter(|e| !matches!(e, DownloadEvent::Progress { .. }))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The public node puts a `MaybeTheyHaveSome` beside `Content` once it has served anyone,
    /// and answers one instead at random: neither is "I have none", and the download completes
    /// from public nodes alone, every time.
    #[test]
    fn public_nodes_that_name_other_peers_or_ignore_requests_always_deliver(
        seed in any::<u64>(),
        len in prop_oneof![1usize..5000, 5000usize..300_000],
        nodes in 1usize..4,
        ignore in 0u64..500,
        loss in 0u64..50,
    ) {
        let original = content_of(len, seed);
        let mut swarm = Swarm::new(seed, original.clone());
        for n in 0..nodes {
            swarm.seeder(Behaviour::PublicNode(ignore), link(seed.wrapping_add(n as u64 * 31), loss), 1);
        }
        let mut download = Download::new(swarm.id, DownloadConfig::default(), Instant::ZERO);
        swarm.add_sources(&mut download);
        let mut store = MemoryPartialStore::new();
        swarm.run(&mut download, &mut store, 3600, |_| false);
        prop_assert!(download.is_completed(), "{:?} {:?}", non_progress(&swarm.events), download.stats());
        let mut fetched = vec![0u8; len];
        store.complete().clone().read_at(&swarm.id, 0, &mut fetched).unwrap();
        prop_assert!(fetched == original);
        // Nobody was dropped for saying "maybe they have some".
        prop_assert!(!swarm.events.iter().any(|e| matches!(e, DownloadEvent::SourceDropped { .. })),
            "{:?}", non_progress(&swarm.events));
    }

    /// A source that answers first with a wrong length, then serves bytes to match it or falls
    /// silent, cannot make the download fail: it ends with the length whose content hashes to
    /// the id.
    #[test]
    fn a_first_answer_with_a_wrong_length_cannot_block_honest_seeders(
        seed in any::<u64>(),
        len in 5000usize..200_000,
        longer in any::<bool>(),
        by in 1u64..20_000,
        silent_after in prop_oneof![Just(None), (1u32..4).prop_map(Some)],
        honest in 1usize..3,
    ) {
        let original = content_of(len, seed);
        let mut swarm = Swarm::new(seed, original.clone());
        let wrong = if longer { len as u64 + by } else { (len as u64).saturating_sub(by).max(1) };
        swarm.seeder(Behaviour::WrongLength(wrong, silent_after), first_link(), 1);
        for n in 0..honest {
            swarm.seeder(Behaviour::Honest, link(seed.wrapping_add(n as u64 * 13), 0), 1);
        }
        let mut download = Download::new(swarm.id, DownloadConfig::default(), Instant::ZERO);
        swarm.add_sources(&mut download);
        let mut store = MemoryPartialStore::new();
        swarm.run(&mut download, &mut store, 3600, |_| false);
        prop_assert!(download.is_completed(), "{:?} {:?}", non_progress(&swarm.events), download.stats());
        prop_assert_eq!(download.layout().unwrap().total_len, len as u64);
        let mut fetched = vec![0u8; len];
        store.complete().clone().read_at(&swarm.id, 0, &mut fetched).unwrap();
        prop_assert!(fetched == original);
    }

    /// A seeder stopped for seconds (SIGSTOP, then SIGCONT) is waited for: the download stalls
    /// and resumes instead of failing.
    #[test]
    fn a_seeder_paused_for_seconds_is_waited_for_and_the_download_completes(
        seed in any::<u64>(),
        len in 50_000usize..300_000,
        pause_ms in 1000u64..120_000,
    ) {
        let original = content_of(len, seed);
        let mut swarm = Swarm::new(seed, original.clone());
        let steady = Link { delay: 500, jitter: 0, loss: 0, per_block: 500, queue: 64 };
        swarm.seeder(Behaviour::Paused(2_000, 2_000 + pause_ms * 1000), steady, 1);
        let mut download = Download::new(swarm.id, DownloadConfig::default(), Instant::ZERO);
        swarm.add_sources(&mut download);
        let mut store = MemoryPartialStore::new();
        swarm.run(&mut download, &mut store, 3600, |_| false);
        prop_assert!(download.is_completed(), "{:?} {:?}", non_progress(&swarm.events), download.stats());
        // It was under way when the seeder stopped, and waited for it.
        prop_assert!(swarm.now() > 2_000 + pause_ms * 1000);
        let mut fetched = vec![0u8; len];
        store.complete().clone().read_at(&swarm.id, 0, &mut fetched).unwrap();
        prop_assert!(fetched == original);
    }
}

/// A partial download an earlier run began with a liar's length does not block a later run
/// from honest seeders: the length is only a candidate, and a mismatch starts afresh.
#[test]
fn a_partial_download_begun_with_a_wrong_length_is_started_afresh() {
    for (seed, wrong) in [(21u64, 150_000u64), (22, 40_123), (23, 100_001)] {
        let original = content_of(100_000, seed);
        let mut liar = Swarm::new(seed, original.clone());
        liar.seeder(Behaviour::WrongLength(wrong, None), first_link(), 1);
        let mut store = MemoryPartialStore::new();
        let mut first = Download::new(liar.id, DownloadConfig::default(), Instant::ZERO);
        liar.add_sources(&mut first);
        liar.run(&mut first, &mut store, 3600, |d| d.have_bytes() >= 20_000);
        assert!(!first.is_finished());
        assert_eq!(first.layout().unwrap().total_len, wrong);
        drop(first);

        let mut swarm = Swarm::new(seed, original.clone());
        swarm.seeder(Behaviour::Honest, link(seed, 0), 1);
        swarm.seeder(Behaviour::Honest, link(seed ^ 5, 0), 1);
        let mut second = Download::resume(
            swarm.id,
            DownloadConfig::default(),
            Instant::ZERO,
            &mut store,
        )
        .unwrap();
        swarm.add_sources(&mut second);
        swarm.run(&mut second, &mut store, 3600, |_| false);
        assert!(
            second.is_completed(),
            "{wrong}: {:?}",
            non_progress(&swarm.events)
        );
        let mut fetched = vec![0u8; original.len()];
        store
            .complete()
            .clone()
            .read_at(&swarm.id, 0, &mut fetched)
            .unwrap();
        assert!(fetched == original);
    }
}
