//! One slow peer does not slow the others: while the node keeps sending large messages to a
//! peer that accepts its TCP connection and never reads, and to a peer whose connect hangs,
//! its UDP query round trips to a third peer stay within twice their unloaded median (measured
//! before the loads start and again after they end, the larger taken).

mod common;

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{options, v4};
use ejtp_proto::{Address, Identity, NodeId, PublicKey};
use ejtp_std::RoutingEvent;
use ejtp_std::{Event, Handle, Node, PublicIdentity, QueryOptions, QueryOutcome};
use serde_json::json;

/// Round trips measured for each median.
const SAMPLES: usize = 201;

/// How long the loads may take to show (buffers filled, connect given up on) before the test
/// fails.
const LOAD_SHOWS_WITHIN: Duration = Duration::from_secs(20);

/// A peer at `location` with a key nobody holds: the node's frames to it go nowhere useful.
fn stranger(n: u8, location: Address) -> (PublicIdentity, NodeId) {
    let key: PublicKey = Identity::from_secret_bytes(&[n; 32]).public_key();
    let identity = PublicIdentity {
        name: "stranger".to_string(),
        location,
        key,
    };
    (identity, key.node_id())
}

/// A listener on 127.0.0.1 whose queue is full, so that a further connect hangs (its SYN is
/// dropped) rather than fail; with the connections filling the queue, kept open. Checks that
/// a connect to it really does hang.
fn hanging_listener() -> (socket2::Socket, SocketAddr, Vec<TcpStream>) {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener.bind(&v4().into()).unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..16 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(stream) => fillers.push(stream),
            Err(err) if matches!(err.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
                return (listener, addr, fillers);
            }
            Err(err) => panic!("unexpected connect error: {err}"),
        }
    }
    panic!("connects to a full listener did not hang");
}

/// Sends `value` to `to` every `every` until `stop`, ignoring refusals (the node may refuse
/// once it has found the peer unreachable; the next send tries again).
fn keep_sending(
    handle: Handle,
    to: PublicIdentity,
    value: serde_json::Value,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let _ = handle.send("alice", &to, value.clone());
            thread::sleep(every);
        }
    })
}

fn median_rtt(handle: &Handle, bob: &PublicIdentity) -> Duration {
    let mut samples: Vec<Duration> = (0..SAMPLES)
        .map(|n| {
            let started = Instant::now();
            let outcome = handle
                .query("alice", bob, json!(n), QueryOptions::default())
                .unwrap();
            assert!(matches!(outcome, QueryOutcome::Reply { .. }), "{outcome:?}");
            started.elapsed()
        })
        .collect();
    samples.sort();
    samples[SAMPLES / 2]
}

#[test]
fn a_stalled_reader_and_a_hanging_connect_do_not_slow_other_peers() {
    let alice = Node::bind(options(1, "alice").udp(v4()).tcp(v4())).unwrap();
    let bob = Node::bind(options(2, "bob").udp(v4())).unwrap();
    let bob_id = bob.public_identity("bob");
    let (bob_handle, bob_events) = bob.split();
    let bob_stop = bob_handle.clone();
    let answering = thread::spawn(move || {
        for event in bob_events {
            if let Event::Message(message) = event {
                let _ = bob_handle.reply("bob", &message, json!("pong"));
            }
        }
    });
    let handle = alice.handle();
    // The session comes up and the code paths warm before anything is measured.
    for n in 0..20 {
        handle
            .query("alice", &bob_id, json!(n), QueryOptions::default())
            .unwrap();
    }
    let before = median_rtt(&handle, &bob_id);

    // A peer that accepts and never reads: its connections are held, never read.
    let deaf = TcpListener::bind(v4()).unwrap();
    let (deaf_peer, deaf_id) = stranger(7, Address::tcp(deaf.local_addr().unwrap(), None));
    let stop = Arc::new(AtomicBool::new(false));
    let holding = {
        let stop = Arc::clone(&stop);
        deaf.set_nonblocking(true).unwrap();
        thread::spawn(move || {
            let mut held = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if let Ok((stream, _)) = deaf.accept() {
                    held.push(stream);
                }
                thread::sleep(Duration::from_millis(5));
            }
        })
    };
    // Incompressible enough that each frame is large on the wire (about 40 KB).
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let large: String = (0..40_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + (state % 26) as u8)
        })
        .collect();
    // A peer whose connect hangs.
    let (full, hanging, fillers) = hanging_listener();
    let (hung_peer, hung_id) = stranger(8, Address::tcp(hanging, None));
    let loads = [
        keep_sending(
            handle.clone(),
            deaf_peer,
            json!(large),
            Duration::from_millis(5),
            Arc::clone(&stop),
        ),
        keep_sending(
            handle.clone(),
            hung_peer,
            json!("hello?"),
            Duration::from_millis(20),
            Arc::clone(&stop),
        ),
    ];

    // Both loads are in effect once the node has given up on each peer: the deaf peer's
    // buffers full (a refused frame), the hanging connect timed out.
    let deadline = Instant::now() + LOAD_SHOWS_WITHIN;
    let (mut deaf_full, mut hung_out) = (false, false);
    while !(deaf_full && hung_out) {
        let left = deadline
            .checked_duration_since(Instant::now())
            .unwrap_or_else(|| {
                panic!("loads did not show: deaf full {deaf_full}, connect hung {hung_out}")
            });
        if let Some(Event::Routing(RoutingEvent::Unreachable { peer, .. })) =
            alice.events().recv_timeout(left)
        {
            deaf_full |= peer == deaf_id;
            hung_out |= peer == hung_id;
        }
    }
    let loaded = median_rtt(&handle, &bob_id);
    // The loads end: the deaf peer's connections close, the full listener goes away (the
    // pending connect is refused), and the node is unloaded again.
    stop.store(true, Ordering::Relaxed);
    for load in loads {
        load.join().unwrap();
    }
    holding.join().unwrap();
    drop((full, fillers));
    thread::sleep(Duration::from_millis(200));
    // Measured again afterwards, so that the machine's own load drifting during the test (it
    // is shared with other work) is not taken for the node's.
    let after = median_rtt(&handle, &bob_id);
    alice.shutdown().unwrap();
    bob_stop.shutdown().unwrap();
    answering.join().unwrap();
    let unloaded = before.max(after);
    eprintln!(
        "median query round trip: {before:?} unloaded, {loaded:?} loaded, {after:?} unloaded again"
    );
    assert!(
        loaded <= unloaded * 2,
        "median round trip {loaded:?} under load, {unloaded:?} without"
    );
}
