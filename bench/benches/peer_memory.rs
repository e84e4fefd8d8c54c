//! Core memory of an idle known peer, counted by a global allocator in this binary.
//!
//! `cargo bench -p ejtp-bench --bench peer_memory` drives one `ejtp_proto::Node` ("the node") through
//! `handle_datagram` against N simulated peers (default 1 000; 100 with `EJTP_BENCH_QUICK=1`),
//! one at a time. Each peer is a `Node` of its own that queries the node; the node replies and
//! queries it back, so the node ends up with a confirmed Noise session, a routing table entry
//! and round-trip samples for every peer. The peer is then dropped (its own memory is freed), so
//! the live heap grows only by what the node keeps. Live bytes are read:
//!
//! 1. before the node exists, and after it is built (the fixed per-node part);
//! 2. right after the N exchanges (sessions up, the replay memories full of the frames' nonces,
//!    recent messages in the resend log);
//! 3. after the clock skew window (120 s) has passed with no traffic: nonces and resend entries
//!    are past their time, sessions still up (idle timeout 180 s) — the idle known peer;
//! 4. after the session idle timeout: sessions dropped, the peer still known (routes, RTT).
//!
//! A second node with the replay memories bounded to 16 nonces each repeats the run, so that
//! the per-node replay memory (bounded by `Config::nonce_memory_capacity`, not by peers) can be
//! told apart from what each peer costs. The counts are the sizes asked of the allocator, not
//! its own overhead; hash tables keep their capacity after entries leave, and that capacity is
//! counted.

use std::time::Duration;

use ejtp_bench::alloc_counter::CountingAlloc;
use ejtp_proto::{
    Address, Config, Event, Identity, Instant, Node, PublicIdentity, QueryOptions, TransportAddr,
    UnixMillis,
};
use serde_json::json;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

/// The design's target per idle known peer.
const TARGET_BYTES: f64 = 512.0;
const WALL_START: u64 = 1_700_000_000_000;
/// Simulated time between one peer's exchange and the next.
const STEP: Duration = Duration::from_millis(5);

fn wall(now: Instant) -> UnixMillis {
    UnixMillis(WALL_START + now.as_micros() / 1000)
}

fn identity(index: u32, marker: u8) -> Identity {
    let mut secret = [marker; 32];
    secret[..4].copy_from_slice(&index.to_le_bytes());
    Identity::from_secret_bytes(&secret)
}

/// What the live heap looked like at each step of one run.
struct Readings {
    empty: usize,
    built: usize,
    after_exchange: usize,
    after_skew: usize,
    after_idle: usize,
    nonces_after_exchange: usize,
    nonces_after_skew: usize,
    sessions_after_skew: usize,
    sessions_after_idle: usize,
    known_after_idle: usize,
}

/// Moves every pending datagram between the node and one peer until both are quiet, answering
/// messages on the way: the node replies to the peer's query and queries it back; the peer
/// replies to that.
fn exchange(
    now: Instant,
    node: &mut Node,
    node_addr: TransportAddr,
    peer: &mut Node,
    peer_addr: TransportAddr,
) {
    loop {
        let mut moved = false;
        while let Some(transmit) = peer.poll_transmit() {
            node.handle_datagram(now, peer_addr, &transmit.payload);
            moved = true;
        }
        while let Some(event) = node.poll_event() {
            if let Event::Message(message) = event {
                node.reply(now, "node", &message, json!("hello back"))
                    .unwrap();
                let back = PublicIdentity {
                    name: "peer".to_string(),
                    location: message.from.address.clone(),
                    key: message.from.key,
                };
                node.query(now, "node", &back, json!("ping"), QueryOptions::default())
                    .unwrap();
            }
        }
        while let Some(transmit) = node.poll_transmit() {
            peer.handle_datagram(now, node_addr, &transmit.payload);
            moved = true;
        }
        while let Some(event) = peer.poll_event() {
            if let Event::Message(message) = event {
                peer.reply(now, "peer", &message, json!("pong")).unwrap();
            }
        }
        if !moved {
            break;
        }
    }
}

fn run(peers: u32, config: &Config) -> Readings {
    let mut now = Instant::ZERO;
    let node_addr: std::net::SocketAddr = "127.0.0.1:9000".parse().unwrap();
    let empty = ALLOC.live_bytes();
    // Boxed, so that the node's own struct is on the counted heap too.
    let mut node = Box::new(Node::new(
        config.clone(),
        identity(0, 0xaa),
        [1; 32],
        now,
        wall(now),
    ));
    node.add_local_address(Address::udp(node_addr, None))
        .unwrap();
    node.add_client("node").unwrap();
    let to_node = node.public_identity("node", "node");
    let built = ALLOC.live_bytes();

    let mut peer_ids = Vec::with_capacity(peers as usize);
    for index in 0..peers {
        now = now + STEP;
        let peer_addr: std::net::SocketAddr =
            format!("127.0.0.{}:{}", 2 + index / 50_000, 10_000 + index % 50_000)
                .parse()
                .unwrap();
        let mut seed = [2; 32];
        seed[..4].copy_from_slice(&index.to_le_bytes());
        let mut peer = Node::new(
            Config::default(),
            identity(index, 0x55),
            seed,
            now,
            wall(now),
        );
        peer.add_local_address(Address::udp(peer_addr, None))
            .unwrap();
        peer.add_client("peer").unwrap();
        peer.query(
            now,
            "peer",
            &to_node,
            json!({"hello": index}),
            QueryOptions::default(),
        )
        .unwrap();
        exchange(
            now,
            &mut node,
            TransportAddr::udp(node_addr),
            &mut peer,
            TransportAddr::udp(peer_addr),
        );
        peer_ids.push(peer.node_id());
        drop(peer);
    }
    // The id list is the bench's, not the node's: keep it out of the readings.
    let ids_bytes = peer_ids.capacity() * size_of::<ejtp_proto::NodeId>();
    let count_sessions = |node: &Node| peer_ids.iter().filter(|id| node.has_session(id)).count();
    assert_eq!(
        count_sessions(&node),
        peers as usize,
        "every peer has a session"
    );
    let after_exchange = ALLOC.live_bytes() - ids_bytes;
    let nonces_after_exchange = node.nonces_remembered();

    // Past the skew window (nonces forgotten), before the session idle timeout.
    now = now + config.max_clock_skew + Duration::from_secs(1);
    node.handle_timeout(now);
    while node.poll_transmit().is_some() || node.poll_event().is_some() {}
    let after_skew = ALLOC.live_bytes() - ids_bytes;
    let nonces_after_skew = node.nonces_remembered();
    let sessions_after_skew = count_sessions(&node);

    // Past the session idle timeout: sessions closed, peers still known.
    now = now + config.session_idle_timeout;
    node.handle_timeout(now);
    while node.poll_transmit().is_some() || node.poll_event().is_some() {}
    let after_idle = ALLOC.live_bytes() - ids_bytes;
    let sessions_after_idle = count_sessions(&node);
    let known_after_idle = peer_ids
        .iter()
        .filter(|id| !node.routes().addresses_of(id).is_empty())
        .count();
    drop(node);
    Readings {
        empty,
        built,
        after_exchange,
        after_skew,
        after_idle,
        nonces_after_exchange,
        nonces_after_skew,
        sessions_after_skew,
        sessions_after_idle,
        known_after_idle,
    }
}

fn report(title: &str, peers: u32, readings: &Readings) {
    let n = f64::from(peers);
    let per_peer = |live: usize| (live as f64 - readings.built as f64) / n;
    println!("{title}");
    println!(
        "  node built, no peer:                 {:>10} bytes (the per-node part)",
        readings.built - readings.empty
    );
    println!(
        "  after exchanging with {peers} peers:      {:>10} bytes  {:7.0} bytes/peer   ({} nonces remembered)",
        readings.after_exchange - readings.empty,
        per_peer(readings.after_exchange),
        readings.nonces_after_exchange
    );
    println!(
        "  idle, past the skew window:          {:>10} bytes  {:7.0} bytes/peer   {:.2}x target   ({} sessions, {} nonces)",
        readings.after_skew - readings.empty,
        per_peer(readings.after_skew),
        per_peer(readings.after_skew) / TARGET_BYTES,
        readings.sessions_after_skew,
        readings.nonces_after_skew
    );
    println!(
        "  idle, past the session timeout:      {:>10} bytes  {:7.0} bytes/peer   {:.2}x target   ({} sessions, {} peers with a route)",
        readings.after_idle - readings.empty,
        per_peer(readings.after_idle),
        per_peer(readings.after_idle) / TARGET_BYTES,
        readings.sessions_after_idle,
        readings.known_after_idle
    );
}

fn main() {
    let peers: u32 = if ejtp_bench::quick() { 100 } else { 1_000 };
    println!(
        "Core heap bytes of one node per idle known peer ({peers} peers, bytes asked of the allocator; target {TARGET_BYTES} bytes/peer):"
    );
    let defaults = Config::default();
    let full = run(peers, &defaults);
    report("default Config:", peers, &full);
    let small_replay = Config::default().with_nonce_memory_capacity(16);
    let without_replay = run(peers, &small_replay);
    report(
        "default Config but nonce_memory_capacity = 16 (the per-node replay memory kept small):",
        peers,
        &without_replay,
    );
    let no_rtt = small_replay.with_max_rtt_peers(0);
    let without_rtt = run(peers, &no_rtt);
    report(
        "as above and max_rtt_peers = 0 (no round-trip samples kept):",
        peers,
        &without_rtt,
    );
    let few_routes = no_rtt.with_max_routes(16);
    let with_few_routes = run(peers, &few_routes);
    report(
        "as above and max_routes = 16 (the routing table forgets all but 16 peers):",
        peers,
        &with_few_routes,
    );
    let n = f64::from(peers);
    let difference = |a: usize, b: usize| (a as f64 - b as f64) / n;
    println!("Attribution (differences between the runs, idle past the skew window):");
    println!(
        "  replay memories (per node, bounded by nonce_memory_capacity, filled by {} nonces here): {:.0} bytes/peer of the default run",
        full.nonces_after_exchange,
        difference(full.after_skew, without_replay.after_skew)
    );
    println!(
        "  round-trip samples:                {:.0} bytes/peer",
        difference(without_replay.after_skew, without_rtt.after_skew)
    );
    println!(
        "  the Noise session:                 {:.0} bytes/peer (freed at the session idle timeout)",
        difference(without_rtt.after_skew, without_rtt.after_idle)
    );
    println!(
        "  routing table entry (of {} peers, {} kept): {:.0} bytes/peer",
        peers,
        with_few_routes.known_after_idle,
        difference(without_rtt.after_idle, with_few_routes.after_idle)
    );
    println!(
        "  the rest (throttle bucket, other tables, capacity left by entries gone): {:.0} bytes/peer",
        difference(with_few_routes.after_idle, with_few_routes.built)
    );
}
