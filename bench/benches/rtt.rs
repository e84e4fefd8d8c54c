//! Query/reply round trip over loopback UDP, beside a raw UDP ping-pong of the same sizes.
//!
//! `cargo bench -p ejtp-bench --bench rtt` measures, taking one round trip of each path in turn,
//! 10 000 of each (1 000 with `EJTP_BENCH_QUICK=1`), on 127.0.0.1:
//! - raw: one thread sends a datagram, another sends one back (`std::net::UdpSocket`, blocking
//!   `recv_from`), with the sizes our query and reply datagrams have on the wire;
//! - core: `ejtp_proto::Node::query` and `Node::reply` between two nodes, each driven by a
//!   minimal loop on its own thread (blocking socket, `handle_datagram`, polls, `send_to`): the
//!   protocol's own cost, with the fewest thread hops an adapter could have (the same as raw);
//! - adapter-std: `Handle::query` on one node and `Handle::reply` from an application thread
//!   reading the other node's `Events`: what a user of the blocking adapter gets, with its
//!   reader, driver and application threads and the channels between them.
//!
//! - in-process: the same query and reply between two nodes in one thread, datagrams handed
//!   over in memory: the core's own CPU per round trip, with no socket and no thread hop.
//!
//! Sessions are up before measuring (warm-up round trips). Prints median and p99 in µs and
//! each as a ratio of raw.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant as Clock, SystemTime, UNIX_EPOCH};

use ejtp_bench::Latency;
use ejtp_proto::QueryEvent;
use ejtp_proto::{
    Address, Config, Event, Identity, Instant, Node, Protocol, QueryOptions, TransportAddr,
    UnixMillis,
};
use ejtp_std::QueryOutcome;
use serde_json::{Value, json};

const TARGET_RATIO: f64 = 1.3;

fn unix_millis() -> UnixMillis {
    UnixMillis(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    )
}

/// The core's clock: microseconds since the bench started.
fn core_now(start: Clock) -> Instant {
    Instant::from_micros(start.elapsed().as_micros() as u64)
}

fn query_value(index: usize) -> Value {
    json!({"ping": index})
}

/// A node driven by the minimal loop: its socket and its node.
struct Driven {
    socket: UdpSocket,
    node: Node,
}

impl Driven {
    fn new(secret: u8, start: Clock) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        let mut node = Node::new(
            Config::default(),
            Identity::from_secret_bytes(&[secret; 32]),
            [secret; 32],
            core_now(start),
            unix_millis(),
        );
        node.add_local_address(Address::udp(addr, None)).unwrap();
        Self { socket, node }
    }

    /// Sends what the node wants sent; returns the length of the last datagram.
    fn flush(&mut self) -> usize {
        let mut last = 0;
        while let Some(transmit) = self.node.poll_transmit() {
            if transmit.to.protocol == Protocol::Udp {
                let to = transmit.to.addr;
                self.socket.send_to(&transmit.payload, to).unwrap();
                last = transmit.payload.len();
            }
        }
        last
    }

    /// Reads one datagram (or times out) and feeds it to the node, with due timers. Returns
    /// the datagram's length (0 on a timeout).
    fn pump(&mut self, start: Clock, buffer: &mut [u8]) -> usize {
        let mut received = 0;
        if let Ok((len, from)) = self.socket.recv_from(buffer) {
            self.node
                .handle_datagram(core_now(start), TransportAddr::udp(from), &buffer[..len]);
            received = len;
        }
        let now = core_now(start);
        if self
            .node
            .poll_timeout()
            .is_some_and(|timeout| timeout.at <= now)
        {
            self.node.handle_timeout(now);
        }
        received
    }
}

/// The core pair: `alice` queries from the bench thread; bob answers on his own thread.
struct CorePair {
    alice: Driven,
    to_bob: ejtp_proto::PublicIdentity,
    start: Clock,
    buffer: Vec<u8>,
    stop: Arc<AtomicBool>,
    bob_thread: Option<thread::JoinHandle<()>>,
    query_len: usize,
    reply_len: usize,
}

impl CorePair {
    fn new() -> Self {
        let start = Clock::now();
        let mut alice = Driven::new(1, start);
        let mut bob = Driven::new(2, start);
        alice.node.add_client("alice").unwrap();
        bob.node.add_client("bob").unwrap();
        alice
            .socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        bob.socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let to_bob = bob.node.public_identity("bob", "bob");
        let stop = Arc::new(AtomicBool::new(false));
        let bob_stop = Arc::clone(&stop);
        let bob_thread = thread::spawn(move || {
            let mut buffer = vec![0u8; 65_536];
            while !bob_stop.load(Ordering::Relaxed) {
                bob.pump(start, &mut buffer);
                let now = core_now(start);
                while let Some(event) = bob.node.poll_event() {
                    if let Event::Message(message) = event {
                        bob.node
                            .reply(now, "bob", &message, json!({"pong": message.value["ping"]}))
                            .unwrap();
                    }
                }
                bob.flush();
            }
        });
        Self {
            alice,
            to_bob,
            start,
            buffer: vec![0u8; 65_536],
            stop,
            bob_thread: Some(bob_thread),
            query_len: 0,
            reply_len: 0,
        }
    }

    fn round_trip(&mut self, index: usize) -> Duration {
        let began = Clock::now();
        let now = core_now(self.start);
        let id = self
            .alice
            .node
            .query(
                now,
                "alice",
                &self.to_bob,
                query_value(index),
                QueryOptions::default(),
            )
            .unwrap();
        self.query_len = self.alice.flush();
        loop {
            let received = self.alice.pump(self.start, &mut self.buffer);
            let mut answered = false;
            while let Some(event) = self.alice.node.poll_event() {
                if matches!(event, Event::Query(QueryEvent::Reply { query, .. }) if query == id) {
                    answered = true;
                }
            }
            self.alice.flush();
            if answered {
                let elapsed = began.elapsed();
                // The size of the datagram that carried the reply, for the raw ping-pong.
                self.reply_len = received;
                return elapsed;
            }
        }
    }
}

impl Drop for CorePair {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.bob_thread.take() {
            thread.join().unwrap();
        }
    }
}

/// Two nodes in one thread, datagrams passed in memory.
struct InProcess {
    alice: Node,
    bob: Node,
    to_bob: ejtp_proto::PublicIdentity,
    from_alice: TransportAddr,
    from_bob: TransportAddr,
    start: Clock,
}

impl InProcess {
    fn new() -> Self {
        let start = Clock::now();
        let node = |secret: u8, port: u16, client: &str| {
            let mut node = Node::new(
                Config::default(),
                Identity::from_secret_bytes(&[secret; 32]),
                [secret; 32],
                core_now(start),
                unix_millis(),
            );
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            node.add_local_address(Address::udp(addr, None)).unwrap();
            node.add_client(client).unwrap();
            (node, TransportAddr::udp(addr))
        };
        let (alice, from_alice) = node(5, 9001, "alice");
        let (bob, from_bob) = node(6, 9002, "bob");
        let to_bob = bob.public_identity("bob", "bob");
        Self {
            alice,
            bob,
            to_bob,
            from_alice,
            from_bob,
            start,
        }
    }

    fn round_trip(&mut self, index: usize) -> Duration {
        let began = Clock::now();
        let now = core_now(self.start);
        let id = self
            .alice
            .query(
                now,
                "alice",
                &self.to_bob,
                query_value(index),
                QueryOptions::default(),
            )
            .unwrap();
        let mut answered = false;
        while !answered {
            while let Some(transmit) = self.alice.poll_transmit() {
                self.bob
                    .handle_datagram(now, self.from_alice, &transmit.payload);
            }
            while let Some(event) = self.bob.poll_event() {
                if let Event::Message(message) = event {
                    let pong = json!({"pong": message.value["ping"]});
                    self.bob.reply(now, "bob", &message, pong).unwrap();
                }
            }
            while let Some(transmit) = self.bob.poll_transmit() {
                self.alice
                    .handle_datagram(now, self.from_bob, &transmit.payload);
            }
            while let Some(event) = self.alice.poll_event() {
                answered |=
                    matches!(event, Event::Query(QueryEvent::Reply { query, .. }) if query == id);
            }
        }
        began.elapsed()
    }
}

/// Raw UDP: the bench thread sends `ping_len` bytes, an echo thread answers `pong_len` bytes.
struct RawPair {
    client: UdpSocket,
    server: SocketAddr,
    ping: Vec<u8>,
    buffer: Vec<u8>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl RawPair {
    fn new(ping_len: usize, pong_len: usize) -> Self {
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        let server_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        server_socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let server = server_socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let server_stop = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut buffer = vec![0u8; 65_536];
            let pong = vec![0x42u8; pong_len];
            while !server_stop.load(Ordering::Relaxed) {
                if let Ok((_, from)) = server_socket.recv_from(&mut buffer) {
                    server_socket.send_to(&pong, from).unwrap();
                }
            }
        });
        Self {
            client,
            server,
            ping: vec![0x42u8; ping_len],
            buffer: vec![0u8; 65_536],
            stop,
            thread: Some(thread),
        }
    }

    fn round_trip(&mut self) -> Duration {
        let began = Clock::now();
        self.client.send_to(&self.ping, self.server).unwrap();
        self.client.recv_from(&mut self.buffer).unwrap();
        began.elapsed()
    }
}

impl Drop for RawPair {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

/// Two adapter-std nodes: the bench thread queries through alice's handle; an application
/// thread reads bob's events and replies through bob's handle.
struct AdapterPair {
    alice: ejtp_std::Handle,
    bob: ejtp_std::Handle,
    to_bob: ejtp_proto::PublicIdentity,
    threads: Vec<thread::JoinHandle<()>>,
}

impl AdapterPair {
    fn new() -> Self {
        let loopback = "127.0.0.1:0".parse().unwrap();
        let alice = ejtp_std::Node::bind(
            ejtp_std::NodeOptions::new(Identity::from_secret_bytes(&[3; 32]))
                .udp(loopback)
                .client("alice"),
        )
        .unwrap();
        let bob = ejtp_std::Node::bind(
            ejtp_std::NodeOptions::new(Identity::from_secret_bytes(&[4; 32]))
                .udp(loopback)
                .client("bob"),
        )
        .unwrap();
        let to_bob = bob.public_identity("bob");
        let (bob_handle, bob_events) = bob.split();
        let bob = bob_handle.clone();
        let (alice_handle, alice_events) = alice.split();
        let answering = thread::spawn(move || {
            // Ends when the node stops (`recv` returns `None`).
            while let Some(event) = bob_events.recv() {
                if let Event::Message(message) = event {
                    let pong = json!({"pong": message.value["ping"]});
                    if bob_handle.reply("bob", &message, pong).is_err() {
                        break;
                    }
                }
            }
        });
        // Alice's events (the replies also arrive there) are read, as an application would
        // (unread, they would be dropped and counted: the node never waits for them).
        let draining = thread::spawn(move || while alice_events.recv().is_some() {});
        Self {
            alice: alice_handle,
            bob,
            to_bob,
            threads: vec![answering, draining],
        }
    }

    fn round_trip(&self, index: usize) -> Duration {
        let began = Clock::now();
        let outcome = self
            .alice
            .query(
                "alice",
                &self.to_bob,
                query_value(index),
                QueryOptions::default(),
            )
            .unwrap();
        let elapsed = began.elapsed();
        assert!(matches!(outcome, QueryOutcome::Reply { .. }), "{outcome:?}");
        elapsed
    }

    fn shutdown(self) {
        // Stopped nodes end their event queues, which ends both threads.
        self.alice.shutdown().unwrap();
        self.bob.shutdown().unwrap();
        for thread in self.threads {
            thread.join().unwrap();
        }
    }
}

fn main() {
    let samples = if ejtp_bench::quick() { 1_000 } else { 10_000 };
    let warm_up = 100;

    let mut core = CorePair::new();
    for index in 0..warm_up {
        core.round_trip(index);
    }
    assert!(
        core.alice.node.has_session(&core.to_bob.key.node_id()),
        "the session is up before measuring"
    );
    let mut raw = RawPair::new(core.query_len, core.reply_len);
    let adapter = AdapterPair::new();
    let mut in_process = InProcess::new();
    for index in 0..warm_up {
        raw.round_trip();
        adapter.round_trip(index);
        in_process.round_trip(index);
    }

    let (mut raw_samples, mut core_samples, mut adapter_samples) =
        (Vec::new(), Vec::new(), Vec::new());
    let mut in_process_samples = Vec::new();
    // One round trip of each path in turn, so that a machine busy with other work slows
    // every path alike rather than whichever block of samples it happened to hit.
    for index in 0..samples {
        raw_samples.push(raw.round_trip());
        core_samples.push(core.round_trip(index));
        adapter_samples.push(adapter.round_trip(index));
        in_process_samples.push(in_process.round_trip(index));
    }
    let raw_latency = Latency::of(&mut raw_samples);
    let core_latency = Latency::of(&mut core_samples);
    let adapter_latency = Latency::of(&mut adapter_samples);
    let in_process_latency = Latency::of(&mut in_process_samples);

    println!(
        "Round trip on 127.0.0.1 UDP, {samples} of each path taken in turn; query datagram {} bytes, reply datagram {} bytes:",
        core.query_len, core.reply_len
    );
    println!(
        "  {:<48} {:>9} {:>9}   {:>10} {:>10}",
        "path", "median", "p99", "median/raw", "p99/raw"
    );
    let line = |name: &str, latency: &Latency| {
        println!(
            "  {:<48} {:>6.1} µs {:>6.1} µs   {:>9.2}x {:>9.2}x",
            name,
            latency.median_us,
            latency.p99_us,
            latency.median_us / raw_latency.median_us,
            latency.p99_us / raw_latency.p99_us
        );
    };
    line("raw UDP ping-pong (same sizes)", &raw_latency);
    line(
        "Node::query/reply, minimal socket loop (core)",
        &core_latency,
    );
    line(
        "adapter-std Handle::query / Handle::reply",
        &adapter_latency,
    );
    line(
        "Node::query/reply in one thread, no socket",
        &in_process_latency,
    );
    let verdict = |latency: &Latency| {
        if latency.median_us / raw_latency.median_us <= TARGET_RATIO {
            "met"
        } else {
            "MISSED"
        }
    };
    println!(
        "  target: median within {TARGET_RATIO}x of raw: core {}, adapter-std {}",
        verdict(&core_latency),
        verdict(&adapter_latency)
    );
    drop(core);
    drop(raw);
    adapter.shutdown();
}
