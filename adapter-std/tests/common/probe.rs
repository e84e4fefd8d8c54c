//! Watching a node while something abuses it: the median of its UDP query round trips to a
//! well-behaved peer, its descriptors and its threads. Linux only (reads /proc).

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use ejtp_std::{Event, Handle, Node, NodeOptions, PublicIdentity, QueryOptions, QueryOutcome};
use ejtp_std::{TcpLimits, TcpStats};
use serde_json::json;

use super::{udp_node, v4};

/// Round trips measured for each median.
pub(crate) const SAMPLES: usize = 201;

/// A node under test, "alice", and a well-behaved peer, "bob", on UDP, answering every query
/// on a thread of its own.
pub(crate) struct Probe {
    pub(crate) alice: Node,
    bob: PublicIdentity,
    bob_handle: Handle,
    answering: thread::JoinHandle<()>,
}

impl Probe {
    /// Alice bound with `options` (hosting "alice") and `limits`, bob answering; the session
    /// is up and the code paths warm before this returns.
    pub(crate) fn start(options: NodeOptions, limits: TcpLimits) -> Self {
        let alice = Node::bind_with(options, limits).expect("alice binds");
        let bob = udp_node(2, "bob", v4());
        let bob_id = bob.public_identity("bob");
        let (bob_handle, bob_events) = bob.split();
        let answering = {
            let bob_handle = bob_handle.clone();
            thread::spawn(move || {
                for event in bob_events {
                    if let Event::Message(message) = event {
                        let _ = bob_handle.reply("bob", &message, json!("pong"));
                    }
                }
            })
        };
        let probe = Self {
            alice,
            bob: bob_id,
            bob_handle,
            answering,
        };
        for n in 0..20 {
            probe.round_trip(n);
        }
        probe
    }

    fn round_trip(&self, n: usize) -> Duration {
        let started = Instant::now();
        let outcome = self
            .alice
            .handle()
            .query("alice", &self.bob, json!(n), QueryOptions::default())
            .expect("the query is sent");
        assert!(matches!(outcome, QueryOutcome::Reply { .. }), "{outcome:?}");
        started.elapsed()
    }

    /// The median of [`SAMPLES`] query round trips from alice to bob.
    pub(crate) fn median_rtt(&self) -> Duration {
        self.median_rtt_while(|| false)
    }

    /// The median of query round trips from alice to bob taken one after the other while
    /// `going` says so, and at least [`SAMPLES`]: so that a load's whole course is measured,
    /// not only its first moments.
    pub(crate) fn median_rtt_while(&self, mut going: impl FnMut() -> bool) -> Duration {
        let mut samples = Vec::new();
        while samples.len() < SAMPLES || going() {
            samples.push(self.round_trip(samples.len()));
        }
        samples.sort();
        samples[samples.len() / 2]
    }

    /// Alice's TCP counters.
    pub(crate) fn tcp_stats(&self) -> TcpStats {
        self.alice.tcp_stats()
    }

    /// Stops both nodes and bob's answering thread.
    pub(crate) fn stop(self) {
        self.alice.shutdown().unwrap();
        self.bob_handle.shutdown().unwrap();
        self.answering.join().unwrap();
    }
}

/// The round trips measured before, during and after a load.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Medians {
    pub(crate) before: Duration,
    pub(crate) loaded: Duration,
    pub(crate) after: Duration,
}

impl Medians {
    /// Asserts that the loaded median is within twice the unloaded one: the larger of before
    /// and after, so that the shared machine's own load drifting meanwhile is not taken for
    /// the node's.
    pub(crate) fn assert_within_twice(&self, what: &str) {
        let unloaded = self.before.max(self.after);
        let ratio = self.loaded.as_secs_f64() / unloaded.as_secs_f64();
        eprintln!(
            "{what}: median query round trip {:?} before, {:?} loaded, {:?} after: {ratio:.2}x",
            self.before, self.loaded, self.after
        );
        assert!(
            self.loaded <= unloaded * 2,
            "{what}: median round trip {:?} under load, {unloaded:?} without",
            self.loaded
        );
    }
}

/// Descriptors this process has open now (the directory read's own included, as in every
/// count, so differences are exact).
pub(crate) fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Threads of this process that belong to a node ("ejtp-...").
pub(crate) fn node_threads() -> usize {
    let mut count = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        // A thread may end while we look.
        let Ok(task) = task else { continue };
        if let Ok(name) = std::fs::read_to_string(task.path().join("comm")) {
            count += usize::from(name.starts_with("ejtp-"));
        }
    }
    count
}

/// Whether the node has closed its end of `stream` (a non-blocking one): a read says the
/// stream ended or was reset. Anything the node sent is read and dropped.
pub(crate) fn closed_by_node(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(err) if err.kind() == ErrorKind::WouldBlock => return false,
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}
