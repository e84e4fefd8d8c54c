//! Work under load: what a flood of frames that need key work costs a node, with the key-work
//! budget (`Config::key_work_per_second`) on and off, and whether legitimate round trips get
//! through it.
//!
//! `cargo bench -p ejtp-bench --bench flood` (shorter with `EJTP_BENCH_QUICK=1`) measures in
//! one run:
//!
//! 1. **Cost per hostile datagram, the core alone.** One `ejtp_proto::Node` on one thread is
//!    handed datagrams in memory, from 64 source addresses that never answer, at a virtual
//!    rate of 100 000 a second (far past the budget): random bytes; session frames for an index
//!    nobody chose (an `r` frame refused without key work, the cheapest well-formed garbage);
//!    fake sealed frames and fake handshake inits (random key material: `ejtp_bench::hostile`).
//!    Each with the budget off (`key_work_per_second` 0) and on (the default, 2 000). The first
//!    4 000 of each row are a warm-up that also empties the budget's burst. Prints CPU time per
//!    datagram and its ratio to random bytes. With the budget on, 2 000 a second still get
//!    their key work (2% of this rate), and that share is in the figure.
//! 2. **Round trips under a flood, real sockets.** Two `ejtp_std` nodes on 127.0.0.1: alice
//!    queries bob (one query at a time, a short pause between them, hard timeout 1 s) while one
//!    thread sends bob fake sealed frames and handshake inits, half each, from 8 sockets of its
//!    own, at *one core's worth*: the rate at which, by part 1, the unprotected node would
//!    spend one whole core on them. Three phases, each with new nodes and the flood already
//!    running when alice's first query (and her handshake) goes: no flood; the flood with the
//!    budget off; the flood with the budget on. Prints the share of queries answered, the
//!    median and p99 round trip of those answered, and bob's counters.
//!
//! Only documentation and loopback addresses are used; nothing leaves the machine.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant as Clock, SystemTime, UNIX_EPOCH};

use ejtp_bench::Latency;
use ejtp_bench::hostile::{HostileMix, Kind, Target};
use ejtp_proto::{
    Address, Config, Event, Identity, Instant, Node, QueryOptions, Stats, TransportAddr, UnixMillis,
};
use ejtp_std::{Events, Handle, NodeOptions, QueryOutcome};
use serde_json::json;

/// The budget the protected rows use: the default.
const BUDGET: u32 = 2_000;
/// Datagrams of each core row before the clock starts (more than the budget's burst).
const WARM_UP: usize = 4_000;
/// The core rows' virtual arrival interval: 100 000 datagrams a second.
const ARRIVAL: Duration = Duration::from_micros(10);
/// Source addresses of the core rows.
const SOURCES: u16 = 64;
/// Sockets the flood thread sends from.
const FLOOD_SOCKETS: usize = 8;
/// The pause between two of alice's queries.
const QUERY_PAUSE: Duration = Duration::from_millis(2);
/// A query not answered within this counts as lost.
const QUERY_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the flood runs before alice's first query.
const FLOOD_HEAD_START: Duration = Duration::from_millis(300);
const SEED: u64 = 0x000f_100d_2026_0001;

fn wall() -> UnixMillis {
    UnixMillis(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as u64),
    )
}

fn config(budget: u32) -> Config {
    Config::default().with_key_work_per_second(budget)
}

/// Part 1: CPU per datagram of `kind` for a node whose budget is `budget`.
fn core_cost(kind: Kind, budget: u32, count: usize) -> (Duration, Stats) {
    let target_addr = SocketAddr::from(([127, 0, 0, 1], 40_000));
    let mut node = Node::new(
        config(budget),
        Identity::from_secret_bytes(&[7; 32]),
        [7; 32],
        Instant::from_millis(1_000),
        wall(),
    );
    node.add_local_address(Address::udp(target_addr, None))
        .expect("a local address");
    node.add_client("bob").expect("a client");
    let target = Target {
        addr: target_addr,
        callsign: "bob".to_string(),
        node_id: node.public_identity("bob", "bob").key.node_id(),
    };
    let mut mix = HostileMix::new(SEED ^ kind.index() as u64, Vec::new());
    let now_wall = wall();
    let datagrams: Vec<Vec<u8>> = (0..WARM_UP + count)
        .map(|_| {
            let mut out = Vec::new();
            mix.datagram_of(kind, &target, now_wall, &[], &mut out);
            out
        })
        .collect();
    let mut now = Instant::from_millis(1_000);
    let mut feed = |node: &mut Node, index: usize, datagram: &[u8]| {
        now = now + ARRIVAL;
        let port = 50_000 + (index as u16 % SOURCES);
        let from = TransportAddr::udp(SocketAddr::from(([127, 0, 0, 1], port)));
        node.handle_datagram(now, from, datagram);
        while node.poll_transmit().is_some() {}
        while node.poll_event().is_some() {}
    };
    for (index, datagram) in datagrams[..WARM_UP].iter().enumerate() {
        feed(&mut node, index, datagram);
    }
    let began = Clock::now();
    for (index, datagram) in datagrams[WARM_UP..].iter().enumerate() {
        feed(&mut node, index, datagram);
    }
    let per = began.elapsed() / count as u32;
    (per, node.stats())
}

/// The flood thread: `rate` fake sealed frames and handshake inits a second to `target`, half
/// each, from sockets of its own, until `stop`.
fn flood(target: Target, rate: u64, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) {
    let sockets: Vec<UdpSocket> = (0..FLOOD_SOCKETS)
        .map(|_| UdpSocket::bind("127.0.0.1:0").expect("a flood socket"))
        .collect();
    let mut mix = HostileMix::new(SEED, Vec::new());
    let mut out = Vec::new();
    let began = Clock::now();
    let mut done = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let due = (began.elapsed().as_secs_f64() * rate as f64) as u64;
        if done >= due {
            thread::sleep(Duration::from_micros(500));
            continue;
        }
        // Catch up at most a second's worth at once, so a stall does not burst.
        for _ in 0..(due - done).min(rate) {
            let kind = if done.is_multiple_of(2) {
                Kind::Sealed
            } else {
                Kind::HandshakeInit
            };
            mix.datagram_of(kind, &target, wall(), &[], &mut out);
            let socket = &sockets[done as usize % FLOOD_SOCKETS];
            // A full receive buffer at bob drops the datagram; that is the flood's doing.
            let _ = socket.send_to(&out, target.addr);
            done += 1;
        }
        sent.store(done, Ordering::Relaxed);
    }
}

/// bob's application: answers every query.
fn answer(handle: Handle, events: Events) {
    while let Some(event) = events.recv() {
        if let Event::Message(message) = event {
            let value = json!({"pong": message.value.get("ping").cloned()});
            if handle.reply("bob", &message, value).is_err() {
                break;
            }
        }
    }
}

/// What one phase of part 2 saw.
struct Phase {
    name: &'static str,
    asked: usize,
    answered: Vec<Duration>,
    flood_sent: u64,
    bob: Option<Stats>,
}

fn bind(secret: u8, callsign: &str, budget: u32) -> ejtp_std::Node {
    let options = NodeOptions::new(Identity::from_secret_bytes(&[secret; 32]))
        .udp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .client(callsign)
        .seed([secret; 32])
        .config(config(budget));
    ejtp_std::Node::bind(options).expect("a node on 127.0.0.1")
}

/// Part 2: alice's round trips to bob for `length`, with a flood of `rate` (0: none) at bob,
/// whose budget is `budget`.
fn phase(name: &'static str, rate: u64, budget: u32, length: Duration) -> Phase {
    let bob = bind(2, "bob", budget);
    let bob_addr = bob.udp_addrs()[0];
    let to_bob = bob.public_identity("bob");
    let (bob_handle, bob_events) = bob.split();
    let answering = {
        let handle = bob_handle.clone();
        thread::spawn(move || answer(handle, bob_events))
    };
    let (alice, _alice_events) = bind(1, "alice", BUDGET).split();
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let flooding = (rate > 0).then(|| {
        let target = Target {
            addr: bob_addr,
            callsign: "bob".to_string(),
            node_id: to_bob.key.node_id(),
        };
        let (stop, sent) = (Arc::clone(&stop), Arc::clone(&sent));
        thread::spawn(move || flood(target, rate, stop, sent))
    });
    if flooding.is_some() {
        thread::sleep(FLOOD_HEAD_START);
    }
    let options = QueryOptions {
        hard_timeout: QUERY_TIMEOUT,
        ..QueryOptions::default()
    };
    let mut asked = 0;
    let mut answered = Vec::new();
    let began = Clock::now();
    while began.elapsed() < length {
        let sent_at = Clock::now();
        let outcome = alice.query("alice", &to_bob, json!({"ping": asked}), options);
        asked += 1;
        if let Ok(QueryOutcome::Reply { .. }) = outcome {
            answered.push(sent_at.elapsed());
        }
        thread::sleep(QUERY_PAUSE);
    }
    stop.store(true, Ordering::Relaxed);
    if let Some(flooding) = flooding {
        flooding.join().expect("the flood thread");
    }
    let bob_stats = bob_handle.stats().ok();
    let _ = alice.shutdown();
    let _ = bob_handle.shutdown();
    answering.join().expect("bob's application thread");
    Phase {
        name,
        asked,
        answered,
        flood_sent: sent.load(Ordering::Relaxed),
        bob: bob_stats,
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_string())
}

fn main() {
    let quick = ejtp_bench::quick();
    let count = if quick { 2_000 } else { 20_000 };
    let length = Duration::from_secs(if quick { 3 } else { 15 });
    println!(
        "Work under load, load average {} at the start{}",
        load_average(),
        if quick {
            " (quick run: not figures to quote)"
        } else {
            ""
        }
    );

    println!(
        "\n1. The core alone: CPU per hostile datagram ({count} timed of each, after {WARM_UP}), budget off and on ({BUDGET}/s)"
    );
    println!(
        "{:<22} {:>14} {:>9} {:>14} {:>9} {:>12} {:>8}",
        "datagram", "off: µs each", "x random", "on: µs each", "x random", "challenged", "key work"
    );
    let mut costs = Vec::new();
    for kind in [
        Kind::RandomBytes,
        Kind::Session,
        Kind::Sealed,
        Kind::HandshakeInit,
    ] {
        let (off, _) = core_cost(kind, 0, count);
        let (on, stats) = core_cost(kind, BUDGET, count);
        costs.push((
            kind,
            off,
            on,
            stats.transport.cookie_challenges_sent,
            stats.transport.dropped_crypto,
        ));
    }
    let random = costs[0];
    for (kind, off, on, challenged, worked) in &costs {
        println!(
            "{:<22} {:>14.2} {:>8.1}x {:>14.2} {:>8.1}x {:>12} {:>8}",
            kind.name(),
            off.as_secs_f64() * 1e6,
            off.as_secs_f64() / random.1.as_secs_f64(),
            on.as_secs_f64() * 1e6,
            on.as_secs_f64() / random.2.as_secs_f64(),
            challenged,
            worked,
        );
    }
    // One core's worth: the rate of a half-and-half mix that the unprotected node spends a
    // whole core on.
    let mean_off = (costs[2].1 + costs[3].1) / 2;
    let rate = (1.0 / mean_off.as_secs_f64()) as u64;
    println!(
        "   one core's worth of fake sealed frames and handshake inits, half each: {rate} datagrams/s"
    );

    println!(
        "\n2. Round trips alice -> bob through ejtp_std on 127.0.0.1 for {} s each, a flood of {rate}/s at bob",
        length.as_secs()
    );
    let phases = [
        phase("no flood", 0, BUDGET, length),
        phase("flood, budget off", rate, 0, length),
        phase("flood, budget on", rate, BUDGET, length),
    ];
    println!(
        "{:<20} {:>7} {:>10} {:>11} {:>9} {:>12} {:>11} {:>11} {:>10}",
        "phase",
        "asked",
        "answered",
        "median µs",
        "p99 µs",
        "flood sent",
        "challenged",
        "echoes",
        "crypto drops"
    );
    for phase in phases {
        let mut answered = phase.answered.clone();
        let latency = Latency::of(&mut answered);
        let share = answered.len() as f64 / phase.asked.max(1) as f64 * 100.0;
        let stats = phase.bob.unwrap_or_default();
        println!(
            "{:<20} {:>7} {:>9.2}% {:>11.0} {:>9.0} {:>12} {:>11} {:>11} {:>10}",
            phase.name,
            phase.asked,
            share,
            latency.median_us,
            latency.p99_us,
            phase.flood_sent,
            stats.transport.cookie_challenges_sent,
            stats.transport.cookie_echoes_taken,
            stats.transport.dropped_crypto,
        );
    }
    println!("\nload average {} at the end", load_average());
}
