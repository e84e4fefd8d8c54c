//! TCP under abuse: a thousand idle connections, a slow drip and a huge length prefix. While
//! each runs, the node's UDP query round trips to a well-behaved peer stay within twice their
//! unloaded median, it starts no thread, its descriptors stay within its connection bound, and
//! it closes the abusive connections within its documented bounds and timers, as seen from the
//! abuser's side. (A peer that never reads and a connect that hangs: `isolation.rs`.)
//!
//! One test, so that the harness runs nothing else meanwhile whose threads and descriptors
//! would be counted. The timers are set short here (`NodeOptions::tcp_idle_timeout`,
//! `TcpLimits::frame_timeout`) so that it takes seconds, not minutes.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::probe::{Medians, Probe, closed_by_node, node_threads, open_fds};
use common::{options, v4, v6};
use ejtp_std::TcpLimits;

/// Descriptors a node may hold beyond one per connection of its bound: one accepted and about
/// to be refused, and the like.
const FD_SLACK: usize = 8;

/// Threads a node has at most (two with a shared folder: `threads.rs`), and the answering
/// peer's one.
const NODE_THREADS: usize = 2;
const PEER_THREADS: usize = 1;

/// How late past its timer the node may close a connection and the test still pass: the
/// machine is shared, and the abuser looks only every few milliseconds.
const TIMER_SLACK: Duration = Duration::from_millis(1500);

#[test]
#[cfg_attr(not(target_os = "linux"), ignore = "reads /proc")]
fn tcp_abuse_is_bounded_and_does_not_slow_other_peers() {
    a_thousand_idle_connections();
    a_slow_drip();
    a_huge_length_prefix();
}

/// The most descriptors and node threads seen while a load ran, the descriptors counted beyond
/// those open before it (the nodes' sockets, the test's own) and those the abuser holds.
struct Peak {
    base_fds: usize,
    threads_before: usize,
    fds: usize,
    threads: usize,
}

impl Peak {
    fn new() -> Self {
        let threads_before = node_threads();
        Self {
            base_fds: open_fds(),
            threads_before,
            fds: 0,
            threads: threads_before,
        }
    }

    /// Looks now, the abuser holding `own` descriptors (counted by the abuser's own thread,
    /// so that the number is exact).
    fn sample(&mut self, own: usize) {
        let node = open_fds().saturating_sub(self.base_fds + own);
        self.fds = self.fds.max(node);
        self.threads = self.threads.max(node_threads());
    }

    /// Asserts that the node held at most `connections` connections' descriptors (and
    /// [`FD_SLACK`]) and started no thread.
    fn assert_within(&self, connections: usize, what: &str) {
        eprintln!(
            "{what}: at most {} descriptors beyond the node's sockets, {} node threads",
            self.fds, self.threads
        );
        assert!(
            self.fds <= connections + FD_SLACK,
            "{what}: {} descriptors for at most {connections} connections",
            self.fds
        );
        assert!(
            self.threads_before <= NODE_THREADS + PEER_THREADS,
            "{what}: {} node threads before the load",
            self.threads_before
        );
        assert!(
            self.threads <= self.threads_before,
            "{what}: {} node threads under load, {} before",
            self.threads,
            self.threads_before
        );
    }
}

/// Raises this process's descriptor limit to `needed` if it is lower and may be; false if it
/// cannot be.
fn fd_limit_at_least(needed: u64) -> bool {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    // `None`: unlimited.
    if limit.current.is_none_or(|current| current >= needed) {
        return true;
    }
    if limit.maximum.is_some_and(|maximum| maximum < needed) {
        return false;
    }
    let raised = Rlimit {
        current: Some(needed),
        maximum: limit.maximum,
    };
    setrlimit(Resource::Nofile, raised).is_ok()
}

/// Waits until every stream in `streams` is closed by the node, or `deadline`, dropping each
/// once closed; returns those left open. Samples `peak` meanwhile.
fn wait_closed(mut streams: Vec<TcpStream>, deadline: Instant, peak: &mut Peak) -> usize {
    loop {
        streams.retain_mut(|stream| !closed_by_node(stream));
        peak.sample(streams.len());
        if streams.is_empty() || Instant::now() >= deadline {
            return streams.len();
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A thousand connections to the node's listeners, opened and left idle, three of four from
/// 127.0.0.1 and one from ::1: past 32 from one address the newest is refused, past the
/// node's 48 the idlest is evicted, and what is left is closed as idle.
fn a_thousand_idle_connections() {
    const CONNECTIONS: usize = 1000;
    const MAX: usize = 48;
    const BATCH: usize = 25;
    let idle = Duration::from_secs(2);
    // The abuser's thousand, the node's connections, and room for everything else.
    if !fd_limit_at_least((CONNECTIONS + MAX + 256) as u64) {
        eprintln!(
            "SKIPPED a_thousand_idle_connections: the descriptor limit cannot be raised to \
             {} (see `ulimit -Hn`)",
            CONNECTIONS + MAX + 256
        );
        return;
    }
    let mut alice = options(1, "alice")
        .udp(v4())
        .tcp(v4())
        .tcp(v6())
        .tcp_idle_timeout(idle);
    alice.max_tcp_connections = MAX;
    let probe = Probe::start(alice, TcpLimits::default());
    let listeners: Vec<SocketAddr> = probe.alice.tcp_addrs().to_vec();
    let before = probe.median_rtt();

    let mut peak = Peak::new();
    let opened = Arc::new(AtomicUsize::new(0));
    let flood_start = Instant::now();
    let flood = {
        let opened = Arc::clone(&opened);
        thread::spawn(move || {
            let mut streams = Vec::with_capacity(CONNECTIONS);
            for n in 0..CONNECTIONS {
                let to = if n % 4 == 3 {
                    listeners[1]
                } else {
                    listeners[0]
                };
                let stream = TcpStream::connect(to).expect("the kernel completes the connect");
                stream.set_nonblocking(true).unwrap();
                streams.push(stream);
                if n % BATCH == BATCH - 1 {
                    peak.sample(streams.len());
                    opened.store(n + 1, Ordering::Relaxed);
                    // Paced, so that the flood lasts while round trips are measured and the
                    // abuser's own connects do not take the machine's two cores.
                    thread::sleep(Duration::from_millis(20));
                }
            }
            (streams, peak, Instant::now())
        })
    };
    let flood_deadline = Instant::now() + Duration::from_secs(30);
    while opened.load(Ordering::Relaxed) < 100 {
        assert!(Instant::now() < flood_deadline, "the flood did not start");
        thread::sleep(Duration::from_millis(5));
    }
    let loaded = probe.median_rtt_while(|| !flood.is_finished());
    let (mut streams, mut peak, flood_end) = flood.join().unwrap();
    eprintln!(
        "idle flood: {CONNECTIONS} opened in {:?}, round trips measured throughout",
        flood_end - flood_start
    );

    // Once the node has caught up with its listeners' queues, it holds at most its bound.
    thread::sleep(Duration::from_millis(300));
    streams.retain_mut(|stream| !closed_by_node(stream));
    let held = streams.len();
    peak.sample(held);
    // And those it holds are closed as idle, within the idle timeout of the last frame (none:
    // of being accepted, before the flood ended).
    let left = wait_closed(streams, flood_end + idle + TIMER_SLACK, &mut peak);
    let closed_after = flood_end.elapsed();
    let after = probe.median_rtt();
    let stats = probe.tcp_stats();
    probe.stop();

    eprintln!("idle flood: {held} held after it, all closed {closed_after:?} after it; {stats:?}");
    Medians {
        before,
        loaded,
        after,
    }
    .assert_within_twice("idle flood");
    peak.assert_within(MAX, "idle flood");
    assert!(
        held <= MAX,
        "{held} connections held, at most {MAX} allowed"
    );
    assert_eq!(left, 0, "connections not closed within the idle timeout");
    assert!(stats.refused_per_ip > 0, "{stats:?}");
    assert!(stats.evicted > 0, "{stats:?}");
    assert!(stats.closed_idle > 0, "{stats:?}");
    assert_eq!(
        stats.refused_per_ip + stats.evicted + stats.closed_idle,
        CONNECTIONS as u64,
        "every connection refused, evicted or closed as idle, once: {stats:?}"
    );
    assert_eq!(stats.open, 0, "{stats:?}");
}

/// Connections that each drip a frame, one byte a second: closed once the frame timeout has
/// passed since the first byte, although bytes keep coming and the idle timeout is far off.
fn a_slow_drip() {
    const DRIPS: usize = 8;
    let frame_timeout = Duration::from_secs(2);
    let alice = options(1, "alice")
        .udp(v4())
        .tcp(v4())
        .tcp_idle_timeout(Duration::from_secs(30));
    let probe = Probe::start(alice, TcpLimits::default().frame_timeout(frame_timeout));
    let listener = probe.alice.tcp_addrs()[0];
    let before = probe.median_rtt();

    let peak = Peak::new();
    let dripping = thread::spawn(move || drip(listener, DRIPS, frame_timeout, peak));
    // Throughout the drip, until the node has closed every connection.
    let loaded = probe.median_rtt_while(|| !dripping.is_finished());
    let (lifetimes, peak) = dripping.join().unwrap();
    let after = probe.median_rtt();
    let stats = probe.tcp_stats();
    probe.stop();

    eprintln!("slow drip: connections lived {lifetimes:?}; {stats:?}");
    Medians {
        before,
        loaded,
        after,
    }
    .assert_within_twice("slow drip");
    peak.assert_within(DRIPS, "slow drip");
    for lifetime in &lifetimes {
        let lifetime = lifetime.expect("a dripping connection was not closed");
        assert!(
            lifetime + Duration::from_millis(50) >= frame_timeout,
            "closed after {lifetime:?}, before the frame timeout"
        );
        assert!(
            lifetime <= frame_timeout + TIMER_SLACK,
            "closed after {lifetime:?}, the frame timeout is {frame_timeout:?}"
        );
    }
    assert_eq!(stats.closed_slow, DRIPS as u64, "{stats:?}");
    assert_eq!(stats.closed_idle, 0, "{stats:?}");
}

/// Opens `count` connections to `to` and drips a frame on each, one byte a second, until the
/// node closes them (or well past the frame timeout). Returns how long each lived from its
/// first byte.
fn drip(
    to: SocketAddr,
    count: usize,
    frame_timeout: Duration,
    mut peak: Peak,
) -> (Vec<Option<Duration>>, Peak) {
    // 0xffe0 = 65 504 bytes: within the node's `max_frame_len`, a frame it would take whole.
    let prefix = b"ffe0.";
    let mut streams: Vec<TcpStream> = (0..count)
        .map(|_| {
            let stream = TcpStream::connect(to).unwrap();
            stream.set_nonblocking(true).unwrap();
            stream
        })
        .collect();
    let mut first_byte: Vec<Option<Instant>> = vec![None; count];
    let mut lifetimes: Vec<Option<Duration>> = vec![None; count];
    let give_up = Instant::now() + frame_timeout + TIMER_SLACK * 2;
    let mut next_byte = Instant::now();
    let mut sent = 0;
    while lifetimes.iter().any(Option::is_none) && Instant::now() < give_up {
        if Instant::now() >= next_byte {
            let byte = prefix.get(sent).copied().unwrap_or(b'x');
            for (n, stream) in streams.iter_mut().enumerate() {
                if lifetimes[n].is_none() {
                    // A write to a connection closed meanwhile fails; the read below says so.
                    let _ = stream.write(&[byte]);
                    first_byte[n].get_or_insert_with(Instant::now);
                }
            }
            sent += 1;
            next_byte += Duration::from_secs(1);
        }
        for (n, stream) in streams.iter_mut().enumerate() {
            if lifetimes[n].is_none() && closed_by_node(stream) {
                lifetimes[n] = first_byte[n].map(|at| at.elapsed());
            }
        }
        peak.sample(streams.len());
        thread::sleep(Duration::from_millis(10));
    }
    streams.clear();
    (lifetimes, peak)
}

/// Connection after connection announcing a frame of 4 GiB and sending on: each closed at
/// once, long before any timer, without the node reading what follows the prefix.
fn a_huge_length_prefix() {
    /// How soon the node must close such a connection; the timers are 30 s here.
    const CLOSED_WITHIN: Duration = Duration::from_secs(1);
    let long = Duration::from_secs(30);
    let alice = options(1, "alice")
        .udp(v4())
        .tcp(v4())
        .tcp_idle_timeout(long);
    let probe = Probe::start(alice, TcpLimits::default().frame_timeout(long));
    let listener = probe.alice.tcp_addrs()[0];
    let before = probe.median_rtt();

    let peak = Peak::new();
    let stop = Arc::new(AtomicBool::new(false));
    let attempts = Arc::new(AtomicUsize::new(0));
    let abuser = {
        let (stop, attempts) = (Arc::clone(&stop), Arc::clone(&attempts));
        thread::spawn(move || {
            let mut peak = peak;
            let mut lifetimes = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                lifetimes.push(announce_4_gib(listener, CLOSED_WITHIN * 3, &mut peak));
                attempts.fetch_add(1, Ordering::Relaxed);
            }
            (lifetimes, peak)
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while attempts.load(Ordering::Relaxed) < 3 {
        assert!(Instant::now() < deadline, "the abuse did not start");
        thread::sleep(Duration::from_millis(5));
    }
    // For a second of connection after connection.
    let measuring = Instant::now();
    let loaded = probe.median_rtt_while(|| measuring.elapsed() < Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    let (lifetimes, peak) = abuser.join().unwrap();
    let after = probe.median_rtt();
    let stats = probe.tcp_stats();
    probe.stop();

    let longest = lifetimes.iter().flatten().max().copied();
    eprintln!(
        "huge prefix: {} connections, the longest lived {longest:?}; {stats:?}",
        lifetimes.len()
    );
    Medians {
        before,
        loaded,
        after,
    }
    .assert_within_twice("huge prefix");
    peak.assert_within(1, "huge prefix");
    for lifetime in &lifetimes {
        let lifetime = lifetime.expect("a connection announcing 4 GiB was not closed");
        assert!(
            lifetime <= CLOSED_WITHIN,
            "closed {lifetime:?} after announcing 4 GiB"
        );
    }
    assert_eq!(
        stats.closed_bad_framing,
        lifetimes.len() as u64,
        "{stats:?}"
    );
    assert_eq!(stats.closed_slow + stats.closed_idle, 0, "{stats:?}");
}

/// One connection to `to` announcing a 4 GiB frame and sending 16 KiB of it; how long after the
/// prefix the node closed it, `None` if not within `wait`.
fn announce_4_gib(to: SocketAddr, wait: Duration, peak: &mut Peak) -> Option<Duration> {
    let mut stream = TcpStream::connect(to).unwrap();
    stream.write_all(b"100000000.").unwrap();
    let announced = Instant::now();
    // The node may have closed the connection already: then this fails, as it should.
    let _ = stream.write_all(&[b'x'; 16 * 1024]);
    stream.set_nonblocking(true).unwrap();
    peak.sample(1);
    while announced.elapsed() < wait {
        if closed_by_node(&mut stream) {
            return Some(announced.elapsed());
        }
        thread::sleep(Duration::from_millis(2));
    }
    None
}
